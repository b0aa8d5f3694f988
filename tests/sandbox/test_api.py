"""The sandbox's Kubernetes API, through the official client."""

from __future__ import annotations

import json
import socket
import time
import urllib.request

import pytest
import urllib3
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sandbox import rules_from_role
from tests.fixtures.sandbox import sandbox_api_client

from .manifests import GROUP, PLURAL, dgd_v1alpha1, dgd_v1beta1


@pytest.fixture
def api(sandbox):
    return sandbox_api_client(sandbox)


@pytest.fixture
def dgds(api):
    return client.CustomObjectsApi(api)


@pytest.fixture
def core(api):
    return client.CoreV1Api(api)


def status_of(raised: pytest.ExceptionInfo) -> dict:
    return json.loads(raised.value.body)


# ---------------------------------------------------------------- start-up and discovery


def test_the_kubeconfig_names_the_context_and_a_bearer_token(sandbox):
    config = yaml.safe_load(sandbox.kubeconfig_path.read_text())
    assert config["current-context"] == "dynamote-sandbox"
    assert config["clusters"][0]["cluster"]["server"] == sandbox.url
    assert config["users"][0]["user"]["token"] == sandbox.token
    assert sandbox.kubeconfig_path.stat().st_mode & 0o077 == 0


def test_version_and_core_discovery(api):
    assert client.VersionApi(api).get_code().major == "1"
    assert client.CoreApi(api).get_api_versions().versions == ["v1"]
    names = {r.name for r in client.CoreV1Api(api).get_api_resources().resources}
    assert {"namespaces", "nodes", "pods", "pods/log", "secrets", "services", "events"} <= names


@pytest.mark.parametrize(
    ("profile", "versions"),
    [("dynamo-1.5", ["v1beta1", "v1alpha1"]), ("dynamo-0.6", ["v1alpha1"])],
)
def test_discovery_serves_the_profiles_dgd_versions(make_sandbox, profile, versions):
    api = sandbox_api_client(make_sandbox(profile=profile))
    groups = {g.name: g for g in client.ApisApi(api).get_api_versions().groups}
    assert [v.version for v in groups["nvidia.com"].versions] == versions
    assert groups["nvidia.com"].preferred_version.version == versions[0]
    resources = client.CustomObjectsApi(api).get_api_resources(GROUP, versions[0]).resources
    dgd = next(r for r in resources if r.name == PLURAL)
    assert (dgd.kind, dgd.namespaced, dgd.short_names) == ("DynamoGraphDeployment", True, ["dgd"])
    with pytest.raises(ApiException) as raised:
        client.CustomObjectsApi(api).list_cluster_custom_object(GROUP, "v1beta2", PLURAL)
    assert raised.value.status == 404


def test_the_installed_crd_is_readable(api):
    crd = client.ApiextensionsV1Api(api).read_custom_resource_definition(
        "dynamographdeployments.nvidia.com"
    )
    assert [v.name for v in crd.spec.versions] == ["v1alpha1", "v1beta1"]
    props = crd.spec.versions[1].var_schema.open_apiv3_schema.properties
    assert "components" in props["spec"].properties


def test_requests_without_the_token_get_401(sandbox):
    request = urllib.request.Request(f"{sandbox.url}/api/v1/namespaces")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, context=sandbox.ssl_context())
    assert raised.value.code == 401
    assert json.loads(raised.value.read())["reason"] == "Unauthorized"


# ---------------------------------------------------------------- core resources


def test_the_seeded_cluster(core):
    # dynamo-system holds the Dynamo platform's operator Deployment.
    assert {n.metadata.name for n in core.list_namespace().items} == {
        "default",
        "dynamo",
        "dynamo-system",
    }
    nodes = core.list_node().items
    gpus = sorted(int(n.status.allocatable["nvidia.com/gpu"]) for n in nodes)
    assert gpus == [4, 8, 8]
    labels = nodes[0].metadata.labels
    assert {"nvidia.com/gpu.product", "nvidia.com/gpu.memory", "nvidia.com/gpu.count"} <= set(
        labels
    )
    for namespace in ("default", "dynamo"):
        secret = core.read_namespaced_secret("hf-token-secret", namespace)
        assert set(secret.data) == {"HF_TOKEN"}


def test_namespaces_and_secrets_can_be_created_and_secrets_deleted(core):
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="team-a")))
    assert core.read_namespace("team-a").status.phase == "Active"
    body = client.V1Secret(metadata=client.V1ObjectMeta(name="token"), string_data={"K": "v"})
    created = core.create_namespaced_secret("team-a", body)
    assert created.data == {"K": "dg=="}
    with pytest.raises(ApiException) as raised:
        core.create_namespaced_secret("team-a", body)
    assert raised.value.status == 409
    assert status_of(raised)["reason"] == "AlreadyExists"
    core.delete_namespaced_secret("token", "team-a")
    with pytest.raises(ApiException) as raised:
        core.read_namespaced_secret("token", "team-a")
    assert raised.value.status == 404
    assert status_of(raised)["message"] == 'secrets "token" not found'


def test_creating_in_a_missing_namespace_is_404(dgds):
    with pytest.raises(ApiException) as raised:
        dgds.create_namespaced_custom_object(GROUP, "v1beta1", "nowhere", PLURAL, dgd_v1beta1())
    assert raised.value.status == 404
    assert status_of(raised)["message"] == 'namespaces "nowhere" not found'


# ---------------------------------------------------------------- DGD CRUD


def test_create_get_list_and_server_filled_metadata(dgds):
    created = dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1("a")
    )
    meta = created["metadata"]
    assert meta["uid"] and meta["creationTimestamp"] and meta["generation"] == 1
    assert "status" not in created
    second = dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "dynamo", PLURAL, dgd_v1beta1("b")
    )
    assert int(second["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    got = dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "a")
    assert got["spec"] == created["spec"]
    listed = dgds.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)
    assert listed["kind"] == "DynamoGraphDeploymentList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a"]
    everywhere = dgds.list_cluster_custom_object(GROUP, "v1beta1", PLURAL)
    assert [i["metadata"]["name"] for i in everywhere["items"]] == ["a", "b"]


def test_create_conflict_and_not_found(dgds):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    with pytest.raises(ApiException) as raised:
        dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    assert raised.value.status == 409
    assert status_of(raised)["message"] == (
        'dynamographdeployments.nvidia.com "qwen" already exists'
    )
    with pytest.raises(ApiException) as raised:
        dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "ghost")
    assert raised.value.status == 404
    assert status_of(raised)["reason"] == "NotFound"


def test_dry_run_validates_without_storing(dgds):
    answer = dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1(), dry_run="All"
    )
    assert answer["metadata"]["name"] == "qwen"
    assert dgds.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)["items"] == []
    bad = dgd_v1beta1()
    bad["spec"]["backendFramework"] = "llamacpp"
    with pytest.raises(ApiException) as raised:
        dgds.create_namespaced_custom_object(
            GROUP, "v1beta1", "default", PLURAL, bad, dry_run="All"
        )
    assert raised.value.status == 422


def test_invalid_objects_get_422_with_every_field_path(dgds):
    body = dgd_v1beta1("Not_A_Name")
    worker = body["spec"]["components"][1]
    worker["replicas"] = "two"
    worker["type"] = "gpu"
    worker["podTemplate"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "x1"
    worker["podTemplate"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(ApiException) as raised:
        dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)
    status = status_of(raised)
    assert (raised.value.status, status["reason"]) == (422, "Invalid")
    assert status["message"].startswith(
        'DynamoGraphDeployment.nvidia.com "Not_A_Name" is invalid: [metadata.name: '
    )
    causes = {c["field"]: c["reason"] for c in status["details"]["causes"]}
    container = "spec.components[1].podTemplate.spec.containers[0]"
    assert causes == {
        "metadata.name": "FieldValueInvalid",
        "spec.components[1].replicas": "FieldValueTypeInvalid",
        "spec.components[1].type": "FieldValueNotSupported",
        f"{container}.resources.limits.nvidia.com/gpu": "FieldValueInvalid",
    }  # the unknown imagePullPolicyy is pruned, not refused, without fieldValidation=Strict


def _with_unknown_field(name: str = "qwen") -> dict:
    body = dgd_v1beta1(name)
    body["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]["imagePullPolicyy"] = "X"
    body["spec"]["replica"] = 2
    return body


def test_unknown_fields_are_pruned_with_a_warning_by_default(sandbox, dgds):
    request = urllib.request.Request(
        f"{sandbox.url}/apis/{GROUP}/v1beta1/namespaces/default/{PLURAL}",
        data=json.dumps(_with_unknown_field()).encode(),
        headers={"Authorization": f"Bearer {sandbox.token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, context=sandbox.ssl_context()) as answer:
        assert answer.status == 201
        warning = answer.headers["Warning"]
    assert '299 - "unknown field \\"spec.replica\\""' in warning
    stored = dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    assert "replica" not in stored["spec"]
    container = stored["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    assert "imagePullPolicyy" not in container


def test_strict_field_validation_refuses_unknown_fields_with_400(dgds):
    with pytest.raises(ApiException) as raised:
        dgds.create_namespaced_custom_object(
            GROUP, "v1beta1", "default", PLURAL, _with_unknown_field(), field_validation="Strict"
        )
    status = status_of(raised)
    assert (raised.value.status, status["reason"]) == (400, "BadRequest")
    assert status["message"] == (
        'strict decoding error: unknown field "spec.components[1].podTemplate.spec.containers[0]'
        '.imagePullPolicyy", unknown field "spec.replica"'
    )
    assert dgds.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)["items"] == []


def test_replace_without_a_resource_version_is_invalid(dgds):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    body = dgd_v1beta1()
    with pytest.raises(ApiException) as raised:
        dgds.replace_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", body)
    assert raised.value.status == 422
    assert "metadata.resourceVersion" in status_of(raised)["message"]


def test_server_side_apply_is_refused_not_treated_as_a_merge_patch(dgds):
    with pytest.raises(ApiException) as raised:
        dgds.patch_namespaced_custom_object(
            GROUP, "v1beta1", "default", PLURAL, "qwen", dgd_v1beta1(),
            field_manager="dynamote", _content_type="application/apply-patch+yaml",
        )  # fmt: skip
    assert raised.value.status == 415


def test_replace_bumps_generation_and_a_stale_resource_version_conflicts(dgds):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    # The operator writes status as soon as it sees the object, so replace the latest read.
    created = dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    created["spec"]["components"][1]["replicas"] = 2
    replaced = dgds.replace_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, "qwen", created
    )
    assert replaced["metadata"]["generation"] == 2
    assert replaced["metadata"]["uid"] == created["metadata"]["uid"]
    with pytest.raises(ApiException) as raised:
        dgds.replace_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", created)
    assert raised.value.status == 409
    assert status_of(raised)["reason"] == "Conflict"
    assert "the object has been modified" in status_of(raised)["message"]
    latest = dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    latest["metadata"]["labels"]["team"] = "a"
    relabelled = dgds.replace_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, "qwen", latest
    )
    assert relabelled["metadata"]["generation"] == 2  # metadata changes do not bump it


def test_merge_patch_changes_the_spec_and_validates(dgds):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    patched = dgds.patch_namespaced_custom_object(
        GROUP,
        "v1beta1",
        "default",
        PLURAL,
        "qwen",
        {"metadata": {"labels": {"tier": "gold"}}, "spec": {"backendFramework": "sglang"}},
    )
    assert patched["spec"]["backendFramework"] == "sglang"
    assert patched["metadata"]["labels"]["tier"] == "gold"
    assert patched["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as raised:
        dgds.patch_namespaced_custom_object(
            GROUP, "v1beta1", "default", PLURAL, "qwen", {"spec": {"backendFramework": "x"}}
        )
    assert raised.value.status == 422


def test_the_status_subresource_is_separate_from_the_spec(sandbox, dgds):
    created = dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, {**dgd_v1beta1(), "status": {"state": "failed"}}
    )
    assert "status" not in created  # status is ignored on create
    sandbox.advance(1)
    status = dgds.get_namespaced_custom_object_status(GROUP, "v1beta1", "default", PLURAL, "qwen")
    assert status["status"]["state"] in ("initializing", "pending")
    with pytest.raises(ApiException) as raised:
        dgds.patch_namespaced_custom_object_status(
            GROUP, "v1beta1", "default", PLURAL, "qwen", {"status": {"state": "sideways"}}
        )
    assert raised.value.status == 422
    assert status_of(raised)["details"]["causes"][0]["field"] == "status.state"


def test_delete_returns_the_object_and_removes_it(dgds):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    deleted = dgds.delete_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    assert deleted["metadata"]["name"] == "qwen"
    with pytest.raises(ApiException) as raised:
        dgds.delete_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    assert raised.value.status == 404


def test_label_selectors_on_dgds(dgds):
    for name, team in (("a", "red"), ("b", "blue"), ("c", None)):
        body = dgd_v1beta1(name)
        if team:
            body["metadata"]["labels"]["team"] = team
        dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)

    def names(selector: str) -> list[str]:
        listed = dgds.list_cluster_custom_object(GROUP, "v1beta1", PLURAL, label_selector=selector)
        return [i["metadata"]["name"] for i in listed["items"]]

    assert names("team=red") == ["a"]
    assert names("team!=red") == ["b", "c"]
    assert names("team in (red,blue)") == ["a", "b"]
    assert names("team") == ["a", "b"]
    assert names("!team") == ["c"]
    assert names("app.kubernetes.io/managed-by=dynamote,team notin (red)") == ["b", "c"]


# ---------------------------------------------------------------- versions


def test_an_object_created_in_v1beta1_reads_back_in_v1alpha1(dgds):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1(gpus=2))
    old = dgds.get_namespaced_custom_object(GROUP, "v1alpha1", "default", PLURAL, "qwen")
    assert old["apiVersion"] == "nvidia.com/v1alpha1"
    worker = old["spec"]["services"]["VllmWorker"]
    assert worker["componentType"] == "worker"
    assert worker["resources"]["limits"]["gpu"] == "2"
    assert worker["envFromSecret"] == "hf-token-secret"
    assert worker["extraPodSpec"]["mainContainer"]["args"] == ["--model", "Qwen/Qwen3-0.6B"]


def test_an_object_created_in_v1alpha1_reads_back_in_v1beta1(dgds):
    body = dgd_v1alpha1(gpus=4)
    body["spec"]["services"]["VllmWorker"]["subComponentType"] = "decode"
    dgds.create_namespaced_custom_object(GROUP, "v1alpha1", "default", PLURAL, body)
    new = dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "legacy")
    worker = next(c for c in new["spec"]["components"] if c["name"] == "VllmWorker")
    assert worker["type"] == "decode"
    main = worker["podTemplate"]["spec"]["containers"][0]
    assert main["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert main["envFrom"] == [{"secretRef": {"name": "hf-token-secret"}}]
    assert main["command"] == ["python3", "-m", "dynamo.vllm"]
    listed = dgds.list_cluster_custom_object(GROUP, "v1beta1", PLURAL)
    assert listed["items"][0]["apiVersion"] == "nvidia.com/v1beta1"


# ---------------------------------------------------------------- permissions and faults

CLUSTER_ROLE = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: dynamote}
rules:
- apiGroups: ["nvidia.com"]
  resources: ["dynamographdeployments"]
  verbs: ["get", "list"]
- apiGroups: [""]
  resources: ["pods", "pods/log"]
  verbs: ["get", "list"]
"""


def test_permissions_from_a_cluster_role_give_real_forbidden_messages(sandbox, api, dgds):
    sandbox.set_permissions(rules_from_role(yaml.safe_load(CLUSTER_ROLE)))
    assert dgds.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)["items"] == []
    with pytest.raises(ApiException) as raised:
        dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    assert raised.value.status == 403
    assert status_of(raised)["message"] == (
        "dynamographdeployments.nvidia.com is forbidden: User "
        '"system:serviceaccount:dynamote:dynamote" cannot create resource '
        '"dynamographdeployments" in API group "nvidia.com" in the namespace "default"'
    )
    with pytest.raises(ApiException) as raised:
        client.CoreV1Api(api).list_node()
    assert status_of(raised)["message"].endswith(
        'cannot list resource "nodes" in API group "" at the cluster scope'
    )
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    verb="delete", group=GROUP, resource=PLURAL, namespace="default"
                )
            )
        )
    )
    assert review.status.allowed is False


def test_forbidding_dgd_create_in_a_namespace(sandbox, dgds):
    sandbox.forbid_dgd_create("dynamo")
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    with pytest.raises(ApiException) as raised:
        dgds.create_namespaced_custom_object(GROUP, "v1beta1", "dynamo", PLURAL, dgd_v1beta1())
    assert raised.value.status == 403
    assert 'in the namespace "dynamo"' in status_of(raised)["message"]


@pytest.mark.parametrize("code", [401, 403, 500, 503])
def test_the_next_requests_fail_with_a_chosen_code(sandbox, core, code):
    sandbox.fail_next(2, code)
    for _ in range(2):
        with pytest.raises(ApiException) as raised:
            core.list_namespaced_pod("default")
        assert raised.value.status == code
        assert status_of(raised)["code"] == code
    assert core.list_namespaced_pod("default").items == []


def test_latency_delays_answers(sandbox, core):
    sandbox.set_latency(0.2)
    started = time.monotonic()
    core.list_namespace()
    assert time.monotonic() - started >= 0.2


def test_a_stopped_listener_refuses_connections_and_keeps_state(sandbox, api, dgds):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sandbox.port), timeout=1)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        dgds.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)
    sandbox.restart()
    names = dgds.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)["items"]
    assert [i["metadata"]["name"] for i in names] == ["qwen"]


def test_the_control_endpoint_toggles_faults(sandbox, core):
    request = urllib.request.Request(
        f"{sandbox.url}/sandbox/faults",
        data=json.dumps({"failNext": {"count": 1, "code": 500}, "latency": 0}).encode(),
        headers={"Authorization": f"Bearer {sandbox.token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, context=sandbox.ssl_context()) as answer:
        assert json.loads(answer.read())["failNext"] == [500]
    with pytest.raises(ApiException) as raised:
        core.list_namespace()
    assert raised.value.status == 500


def test_requests_are_counted_by_verb_resource_and_namespace(sandbox, dgds, core):
    sandbox.reset_counters()
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    dgds.list_cluster_custom_object(GROUP, "v1beta1", PLURAL)
    core.list_namespaced_pod("dynamo")
    assert sandbox.request_count("create", PLURAL) == 1
    assert sandbox.request_count("get", PLURAL, namespace="default") == 1
    assert sandbox.request_count("list", PLURAL) == 1
    assert sandbox.request_count("list", "pods", namespace="dynamo") == 1
    assert sandbox.request_count("list", "pods", namespace="default") == 0
    last = sandbox.request_log[-1]
    assert (last["method"], last["verb"], last["resource"], last["status"]) == (
        "GET",
        "list",
        "pods",
        200,
    )


CLUSTER_FILE = """
namespaces: [prod]
secrets:
- {namespace: prod, name: hf-token-secret, data: {HF_TOKEN: hf_x}}
nodes:
- {name: a100, gpu: {product: NVIDIA-A100-SXM4-80GB, memory: 81920, count: 8}, replicas: 2}
user: system:serviceaccount:prod:dynamote
permissions:
- {apiGroups: [""], resources: [nodes], verbs: [list]}
"""


def test_a_cluster_file_sets_namespaces_secrets_nodes_and_permissions(make_sandbox, tmp_path):
    path = tmp_path / "cluster.yaml"
    path.write_text(CLUSTER_FILE)
    sandbox = make_sandbox(cluster=path)
    core = client.CoreV1Api(sandbox_api_client(sandbox))
    nodes = core.list_node().items
    assert [n.metadata.name for n in nodes] == ["a100-1", "a100-2"]
    assert nodes[0].metadata.labels["nvidia.com/gpu.product"] == "NVIDIA-A100-SXM4-80GB"
    with pytest.raises(ApiException) as raised:
        core.list_namespace()
    assert 'User "system:serviceaccount:prod:dynamote" cannot list' in status_of(raised)["message"]
    assert sandbox.get("secrets", "prod", "hf-token-secret") is not None


def test_an_outage_from_the_control_endpoint_refuses_connections_then_recovers(sandbox, core):
    request = urllib.request.Request(
        f"{sandbox.url}/sandbox/faults",
        data=json.dumps({"outage": 0.5}).encode(),
        headers={"Authorization": f"Bearer {sandbox.token}"},
        method="POST",
    )
    urllib.request.urlopen(request, context=sandbox.ssl_context()).read()
    deadline = time.monotonic() + 5
    while sandbox.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not sandbox.running
    while not sandbox.running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert core.list_namespace().items
