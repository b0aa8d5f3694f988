"""Rolling updates, scaling without restarts, spec.restart, multinode: via the official client."""

from __future__ import annotations

import copy

import pytest
from kubernetes import client

from tests.fixtures.sandbox import sandbox_api_client

from .manifests import GROUP, PLURAL, dgd_v1alpha1, dgd_v1beta1

SELECTOR = "nvidia.com/dynamo-graph-deployment-name={}"


@pytest.fixture
def dgds(sandbox):
    return client.CustomObjectsApi(sandbox_api_client(sandbox))


@pytest.fixture
def core(sandbox):
    return client.CoreV1Api(sandbox_api_client(sandbox))


def pods(core, component: str | None = None, name: str = "qwen") -> list[client.V1Pod]:
    items = core.list_namespaced_pod("default", label_selector=SELECTOR.format(name)).items
    if component is None:
        return items
    return [p for p in items if p.metadata.labels["nvidia.com/dynamo-component"] == component]


def uids(items) -> set[str]:
    return {p.metadata.uid for p in items}


def ready(pod: client.V1Pod) -> bool:
    statuses = pod.status.container_statuses or []
    return bool(statuses and statuses[0].ready)


def serving(items) -> list[client.V1Pod]:
    """Ready pods that are not terminating."""
    return [p for p in items if ready(p) and not p.metadata.deletion_timestamp]


def get(dgds, name: str = "qwen", version: str = "v1beta1") -> dict:
    return dgds.get_namespaced_custom_object(GROUP, version, "default", PLURAL, name)


def ready_reason(dgd: dict) -> tuple[str, str]:
    condition = next(c for c in dgd["status"]["conditions"] if c["type"] == "Ready")
    return condition["status"], condition["reason"]


def worker_components(replicas: int = 2, env_value: str | None = None) -> list[dict]:
    components = dgd_v1beta1(replicas=replicas)["spec"]["components"]
    if env_value is not None:
        main = components[1]["podTemplate"]["spec"]["containers"][0]
        main["env"] = [{"name": "DYN_LOG", "value": env_value}]
    return components


def dgd_events(core, name: str = "qwen") -> list[str]:
    events = core.list_namespaced_event(
        "default", field_selector=f"involvedObject.name={name}"
    ).items
    ours = [e for e in events if e.involved_object.kind == "DynamoGraphDeployment"]
    return [e.reason for e in sorted(ours, key=lambda e: e.first_timestamp)]


def test_a_changed_pod_template_rolls_that_component_new_pods_first(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1(replicas=2)
    )
    sandbox.advance(45)
    frontend = uids(pods(core, "Frontend"))
    old_workers = uids(pods(core, "VllmWorker"))
    assert len(serving(pods(core, "VllmWorker"))) == 2

    patch = {"spec": {"components": worker_components(env_value="debug")}}
    dgds.patch_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", patch)
    assert get(dgds)["metadata"]["generation"] == 2
    sandbox.advance(1)

    workers = pods(core, "VllmWorker")
    # One new pod surges while both old ones keep serving.
    assert len(workers) == 3
    assert uids(serving(workers)) == old_workers
    dgd = get(dgds)
    assert dgd["status"]["observedGeneration"] == 2
    assert dgd["status"]["rollingUpdate"]["phase"] == "InProgress"
    assert dgd["status"]["rollingUpdate"]["startTime"]
    assert ready_reason(dgd) == ("False", "updating")
    # Like a Deployment's status: the old pods still serving count as ready.
    counts = dgd["status"]["components"]["VllmWorker"]
    assert (counts["updatedReplicas"], counts["readyReplicas"]) == (1, 2)

    for _ in range(60):
        sandbox.advance(2)
        # Never fewer serving workers than wanted: old pods go only once new ones are ready.
        assert len(serving(pods(core, "VllmWorker"))) >= 2

    workers = pods(core, "VllmWorker")
    assert len(workers) == 2 and not uids(workers) & old_workers
    assert all(ready(p) for p in workers)
    assert uids(pods(core, "Frontend")) == frontend
    dgd = get(dgds)
    rolling = dgd["status"]["rollingUpdate"]
    assert rolling["phase"] == "Completed"
    assert rolling["updatedComponents"] == ["VllmWorker"]
    assert rolling["endTime"] >= rolling["startTime"]
    assert ready_reason(dgd) == ("True", "all_resources_are_ready")
    assert dgd_events(core) == ["RollingUpdateStarted", "RollingUpdateCompleted"]


def test_a_replace_bumps_the_generation_like_a_patch(sandbox, dgds):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(2)
    dgd = get(dgds)
    body = copy.deepcopy(dgd)
    body["spec"]["components"] = worker_components(replicas=2)
    dgds.replace_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", body)
    sandbox.advance(1)
    dgd = get(dgds)
    assert dgd["metadata"]["generation"] == 2
    assert dgd["status"]["observedGeneration"] == 2


def test_a_replicas_only_change_restarts_no_pod(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1(replicas=2)
    )
    sandbox.advance(45)
    before = uids(pods(core))

    patch = {"spec": {"components": worker_components(replicas=3)}}
    dgds.patch_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", patch)
    sandbox.advance(45)
    after = pods(core)
    assert len(after) == 4 and before < uids(after)
    status = get(dgds)["status"]
    assert "rollingUpdate" not in status
    assert status["components"]["VllmWorker"]["readyReplicas"] == 3

    patch = {"spec": {"components": worker_components(replicas=1)}}
    dgds.patch_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", patch)
    sandbox.advance(10)
    remaining = pods(core)
    assert len(remaining) == 2 and uids(remaining) < uids(after)
    assert "rollingUpdate" not in get(dgds)["status"]


def test_spec_restart_restarts_components_one_after_another(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(45)
    frontend, worker = uids(pods(core, "Frontend")), uids(pods(core, "VllmWorker"))

    patch = {"spec": {"restart": {"id": "restart-1"}}}
    dgds.patch_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", patch)
    sandbox.advance(1)
    status = get(dgds)["status"]
    assert status["restart"] == {
        "phase": "Restarting",
        "observedID": "restart-1",
        "inProgress": ["Frontend"],
    }
    assert ready_reason(get(dgds))[1] == "updating"
    new = [p for p in pods(core, "Frontend") if p.metadata.uid not in frontend]
    assert [p.metadata.annotations["nvidia.com/restartAt"] for p in new] == ["restart-1"]
    assert uids(pods(core, "VllmWorker")) == worker  # the worker waits its turn

    for _ in range(30):
        sandbox.advance(2)
        if get(dgds)["status"]["restart"]["inProgress"] == ["VllmWorker"]:
            break
    assert get(dgds)["status"]["restart"]["inProgress"] == ["VllmWorker"]
    sandbox.advance(80)
    status = get(dgds)["status"]
    assert status["restart"] == {"phase": "Completed", "observedID": "restart-1"}
    assert not uids(pods(core)) & (frontend | worker)
    assert len(pods(core)) == 2
    assert "rollingUpdate" not in status  # a restart changes no configuration
    assert ready_reason(get(dgds)) == ("True", "all_resources_are_ready")


def test_a_parallel_restart_restarts_every_component_at_once(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(45)
    before = uids(pods(core))
    patch = {"spec": {"restart": {"id": "now", "strategy": {"type": "Parallel"}}}}
    dgds.patch_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", patch)
    sandbox.advance(1)
    assert get(dgds)["status"]["restart"]["inProgress"] == ["Frontend", "VllmWorker"]
    assert len(pods(core)) == 4
    sandbox.advance(60)
    assert get(dgds)["status"]["restart"]["phase"] == "Completed"
    assert not uids(pods(core)) & before


def test_dynamo_0_6_restarts_a_service_through_its_pod_annotations(make_sandbox):
    sandbox = make_sandbox(profile="dynamo-0.6")
    api = sandbox_api_client(sandbox)
    dgds, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    dgds.create_namespaced_custom_object(GROUP, "v1alpha1", "default", PLURAL, dgd_v1alpha1())
    sandbox.advance(45)
    frontend = uids(pods(core, "Frontend", "legacy"))
    worker = uids(pods(core, "VllmWorker", "legacy"))

    stamp = {"kubectl.kubernetes.io/restartedAt": "2026-11-27T20:00:00Z"}
    patch = {"spec": {"services": {"VllmWorker": {"extraPodMetadata": {"annotations": stamp}}}}}
    dgds.patch_namespaced_custom_object(GROUP, "v1alpha1", "default", PLURAL, "legacy", patch)
    sandbox.advance(80)
    workers = pods(core, "VllmWorker", "legacy")
    assert len(workers) == 1 and not uids(workers) & worker
    assert workers[0].metadata.annotations == stamp
    assert uids(pods(core, "Frontend", "legacy")) == frontend
    status = get(dgds, "legacy", "v1alpha1")["status"]
    assert set(status) == {"state", "conditions"}  # 0.6.1 reports no rollout or restart


def test_a_multinode_component_gets_node_count_pods_per_replica(sandbox, dgds, core):
    body = dgd_v1beta1(replicas=2)
    body["spec"]["components"][1]["multinode"] = {"nodeCount": 2}
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)
    sandbox.advance(45)
    assert len(pods(core, "VllmWorker")) == 4
    counts = get(dgds)["status"]["components"]["VllmWorker"]
    assert (counts["replicas"], counts["readyReplicas"]) == (2, 2)
    assert counts["componentKind"] == "LeaderWorkerSet"


def test_spec_restart_is_refused_on_create_like_the_real_crd(dgds):
    body = dgd_v1beta1()
    body["spec"]["restart"] = {"id": "too-early"}
    with pytest.raises(client.ApiException) as refused:
        dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)
    assert refused.value.status == 422
    assert "spec.restart must be unset on create" in refused.value.body
