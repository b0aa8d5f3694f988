"""With a seed and a manual clock, the sandbox makes the same objects every run (screenshots)."""

import kubernetes

from sandbox import ManualClock
from tests.fixtures.sandbox import sandbox_api_client
from tests.sandbox.manifests import GROUP, PLURAL, dgd_v1beta1

START = 1_777_887_000.0  # a fixed moment


def _deploy_and_describe(make_sandbox, **kwargs) -> list[tuple[str, str, str]]:
    sandbox = make_sandbox(clock=ManualClock(start=START), **kwargs)
    api = kubernetes.client.CustomObjectsApi(sandbox_api_client(sandbox))
    api.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(30)
    return sorted(
        (o["metadata"]["name"], o["metadata"]["uid"], o["metadata"]["creationTimestamp"])
        for o in sandbox.list("dgd", "default") + sandbox.list("pods", "default")
    )


def test_the_same_seed_gives_the_same_uids_pod_names_and_times(make_sandbox):
    first = _deploy_and_describe(make_sandbox, seed=7)
    assert len(first) >= 3  # the DGD, its frontend and its worker
    assert _deploy_and_describe(make_sandbox, seed=7) == first


def test_without_a_seed_uids_differ(make_sandbox):
    assert _deploy_and_describe(make_sandbox) != _deploy_and_describe(make_sandbox)
