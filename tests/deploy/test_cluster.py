"""The cluster module against the sandbox: real HTTP, the official client, real faults."""

import time

import pytest

from deployments import cluster
from tests.sandbox.manifests import dgd_v1beta1


def manifest(name="qwen", namespace="default"):
    body = dgd_v1beta1(name)
    body["metadata"]["namespace"] = namespace
    return body


def test_discovery_prefers_v1beta1_on_dynamo_1_5(cluster_sandbox):
    assert cluster.dgd_versions() == ["v1beta1", "v1alpha1"]
    assert cluster.preferred_dgd_version() == "v1beta1"


def test_discovery_on_dynamo_0_6_serves_v1alpha1_only(make_sandbox, use_cluster):
    use_cluster(make_sandbox(profile="dynamo-0.6"))
    assert cluster.dgd_versions() == ["v1alpha1"]
    assert cluster.preferred_dgd_version() == "v1alpha1"


def test_discovery_is_cached_for_about_a_minute(cluster_sandbox):
    cluster.dgd_versions()
    cluster.dgd_versions()
    asked = [r for r in cluster_sandbox.request_log if r["path"] == "/apis/nvidia.com"]
    assert len(asked) == 1


def test_the_crd_comes_with_its_schemas(cluster_sandbox):
    crd = cluster.dgd_crd()
    assert crd["metadata"]["name"] == "dynamographdeployments.nvidia.com"
    served = [v["name"] for v in crd["spec"]["versions"] if v.get("served")]
    assert set(served) == {"v1beta1", "v1alpha1"}
    assert all("openAPIV3Schema" in v["schema"] for v in crd["spec"]["versions"])


def test_a_cluster_without_dynamo_says_to_install_it(make_sandbox, use_cluster):
    sandbox = make_sandbox()
    sandbox.store.delete("customresourcedefinitions", "", "dynamographdeployments.nvidia.com")
    sandbox.api.crds.clear()
    use_cluster(sandbox)
    with pytest.raises(cluster.DynamoNotInstalled, match="install the Dynamo platform"):
        cluster.preferred_dgd_version()


def test_a_stopped_cluster_is_unreachable(cluster_sandbox):
    cluster_sandbox.stop()
    with pytest.raises(cluster.Unreachable, match="cannot be reached"):
        cluster.namespaces()


@pytest.mark.parametrize(
    ("code", "error", "words"),
    [
        (401, cluster.Unauthorized, "refused Dynamote's credentials"),
        (403, cluster.Forbidden, "may not list namespaces"),
        (500, cluster.ServerError, "HTTP 500"),
        (503, cluster.Unreachable, "unavailable (HTTP 503"),
    ],
)
def test_failing_requests_become_dynamote_errors(cluster_sandbox, code, error, words):
    cluster.namespaces()  # connect first, so the failure hits the call under test
    cluster_sandbox.fail_next(1, code)
    with pytest.raises(error) as caught:
        cluster.namespaces()
    assert words in caught.value.message
    assert cluster.namespaces()  # one failure, then the cluster answers again


def test_forbidden_names_the_verb_resource_and_namespace(cluster_sandbox):
    cluster_sandbox.forbid_dgd_create("dynamo")
    with pytest.raises(cluster.Forbidden) as caught:
        cluster.dgd_create(manifest=manifest(namespace="dynamo"))
    error = caught.value
    assert (error.verb, error.resource, error.namespace) == (
        "create",
        "dynamographdeployments",
        "dynamo",
    )
    assert 'may not create dynamographdeployments in namespace "dynamo"' in error.message


def test_a_second_create_conflicts(cluster_sandbox):
    cluster.dgd_create(manifest=manifest())
    with pytest.raises(cluster.Conflict, match="already exists"):
        cluster.dgd_create(manifest=manifest())


def test_dry_run_stores_nothing(cluster_sandbox):
    cluster.dgd_create(manifest=manifest(), dry_run=True)
    with pytest.raises(cluster.NotFound):
        cluster.dgd_get(namespace="default", name="qwen")


def test_an_invalid_object_carries_field_causes(cluster_sandbox):
    body = manifest()
    body["spec"]["components"][1]["replicas"] = -1
    with pytest.raises(cluster.Invalid) as caught:
        cluster.dgd_create(manifest=body)
    assert any("replicas" in cause.field for cause in caught.value.causes)


def test_secret_exists_without_reading_it(cluster_sandbox):
    assert cluster.secret_exists(namespace="default", name="hf-token-secret")
    assert not cluster.secret_exists(namespace="default", name="missing")
    # What secret_exists asks for: the Secret's metadata, as the API server sends it.
    answer = cluster._raw_get(
        "/api/v1/namespaces/default/secrets/hf-token-secret",
        "get",
        "secrets",
        "default",
        accept=cluster.METADATA_ONLY,
    )
    assert answer["kind"] == "PartialObjectMetadata"
    assert answer["metadata"]["name"] == "hf-token-secret"
    assert "data" not in answer and "stringData" not in answer


def test_a_slow_cluster_is_reported_within_12_seconds(cluster_sandbox):
    cluster.namespaces()
    cluster_sandbox.set_latency(10.5)
    started = time.monotonic()
    with pytest.raises(cluster.Unreachable, match="did not answer in time"):
        cluster.namespaces()
    assert time.monotonic() - started < 12


def test_an_unknown_field_is_refused_with_its_path_not_dropped(cluster_sandbox):
    """Creates ask for fieldValidation=Strict: the API server would otherwise prune silently."""
    from tests.dashboard.conftest import dgd_manifest

    manifest = dgd_manifest("strict")
    manifest["spec"]["replica"] = 2
    with pytest.raises(cluster.Invalid) as raised:
        cluster.dgd_create(manifest=manifest, dry_run=True)
    assert [c.field for c in raised.value.causes] == ["spec.replica"]
