"""The simulated operator, scheduler and kubelet, observed through the official client."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.fixtures.sandbox import sandbox_api_client

from .manifests import GROUP, PLURAL, dgd_v1alpha1, dgd_v1beta1

SELECTOR = "nvidia.com/dynamo-graph-deployment-name={}"


@pytest.fixture
def api(sandbox):
    return sandbox_api_client(sandbox)


@pytest.fixture
def dgds(api):
    return client.CustomObjectsApi(api)


@pytest.fixture
def core(api):
    return client.CoreV1Api(api)


def pods_of(core, name: str, namespace: str = "default") -> list[client.V1Pod]:
    return core.list_namespaced_pod(namespace, label_selector=SELECTOR.format(name)).items


def dgd_status(dgds, name: str, version: str = "v1beta1") -> dict:
    return dgds.get_namespaced_custom_object(GROUP, version, "default", PLURAL, name).get(
        "status", {}
    )


def ready_condition(status: dict) -> dict:
    return next(c for c in status["conditions"] if c["type"] == "Ready")


def waiting_reason(pod: client.V1Pod) -> str | None:
    statuses = pod.status.container_statuses or []
    waiting = statuses[0].state.waiting if statuses else None
    return waiting.reason if waiting else None


def test_a_deployment_goes_from_initializing_to_ready(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    status = dgd_status(dgds, "qwen")
    assert status["state"] == "initializing"
    assert pods_of(core, "qwen") == []

    sandbox.advance(1)
    pods = pods_of(core, "qwen")
    assert len(pods) == 2
    assert {p.status.phase for p in pods} == {"Pending"}
    assert {waiting_reason(p) for p in pods} == {"ContainerCreating"}
    status = dgd_status(dgds, "qwen")
    assert status["state"] == "pending"
    assert ready_condition(status)["status"] == "False"

    sandbox.advance(45)
    pods = pods_of(core, "qwen")
    assert {p.status.phase for p in pods} == {"Running"}
    assert all(p.status.container_statuses[0].ready for p in pods)
    status = dgd_status(dgds, "qwen")
    assert status["state"] == "successful"
    condition = ready_condition(status)
    assert (condition["status"], condition["reason"]) == ("True", "all_resources_are_ready")
    assert condition["lastTransitionTime"]
    assert status["observedGeneration"] == 1
    assert status["components"]["VllmWorker"] == {
        "componentKind": "Deployment",
        "replicas": 1,
        "updatedReplicas": 1,
        "readyReplicas": 1,
        "availableReplicas": 1,
    }


def test_pods_are_labelled_owned_and_scheduled_like_the_operators(sandbox, dgds, core):
    created = dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1(gpus=8)
    )
    sandbox.advance(2)
    worker = core.list_namespaced_pod(
        "default", label_selector="nvidia.com/dynamo-component-type=worker"
    ).items[0]
    labels = worker.metadata.labels
    assert labels["nvidia.com/dynamo-graph-deployment-name"] == "qwen"
    assert labels["nvidia.com/dynamo-component"] == "VllmWorker"
    assert worker.metadata.name.startswith("qwen-vllmworker-")
    owner = worker.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.uid) == (
        "DynamoGraphDeployment",
        "qwen",
        created["metadata"]["uid"],
    )
    assert worker.spec.node_name.startswith("gpu-h100-")
    assert worker.spec.containers[0].resources.limits["nvidia.com/gpu"] == "8"
    service = core.read_namespaced_service("qwen-frontend", "default")
    assert service.spec.ports[0].port == 8000


def test_insufficient_gpus_leave_a_pod_pending_with_a_scheduler_event(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1(gpus=16))
    sandbox.advance(30)
    worker = next(p for p in pods_of(core, "qwen") if "vllmworker" in p.metadata.name)
    assert worker.status.phase == "Pending"
    scheduled = next(c for c in worker.status.conditions if c.type == "PodScheduled")
    assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
    events = core.list_namespaced_event(
        "default", field_selector=f"involvedObject.name={worker.metadata.name}"
    ).items
    failed = [e for e in events if e.reason == "FailedScheduling"]
    assert failed[0].type == "Warning"
    assert failed[0].message == "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
    assert failed[0].count >= 2
    assert failed[0].involved_object.kind == "Pod"
    status = dgd_status(dgds, "qwen")
    assert status["state"] == "pending"
    assert ready_condition(status)["reason"] == "insufficient_capacity"  # Dynamo 1.5's reason
    assert "Insufficient nvidia.com/gpu" in ready_condition(status)["message"]


def test_gpus_taken_by_one_deployment_are_not_given_to_the_next(sandbox, dgds, core):
    # 2 x 8 H100 + 4 L40S = 20 GPUs: two 8-GPU workers fit, a third does not.
    for name in ("a", "b", "c"):
        dgds.create_namespaced_custom_object(
            GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1(name, gpus=8)
        )
    sandbox.advance(30)
    phases = {
        name: next(p for p in pods_of(core, name) if "vllmworker" in p.metadata.name).status.phase
        for name in ("a", "b", "c")
    }
    assert sorted(phases.values()) == ["Pending", "Running", "Running"]


def test_a_missing_secret_gives_create_container_config_error(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1(secret="no-such-secret")
    )
    sandbox.advance(15)
    worker = next(p for p in pods_of(core, "qwen") if "vllmworker" in p.metadata.name)
    assert waiting_reason(worker) == "CreateContainerConfigError"
    assert worker.status.container_statuses[0].state.waiting.message == (
        'secret "no-such-secret" not found'
    )
    events = core.list_namespaced_event(
        "default", field_selector=f"involvedObject.name={worker.metadata.name}"
    ).items
    assert any('secret "no-such-secret" not found' in e.message for e in events)
    assert dgd_status(dgds, "qwen")["state"] == "failed"

    sandbox.create_secret("default", "no-such-secret", {"HF_TOKEN": "x"})
    sandbox.advance(45)
    assert dgd_status(dgds, "qwen")["state"] == "successful"


def test_worker_logs_show_engine_start_up_lines(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(2)
    worker = next(p for p in pods_of(core, "qwen") if "vllmworker" in p.metadata.name)
    with pytest.raises(ApiException) as raised:
        core.read_namespaced_pod_log(worker.metadata.name, "default")
    assert raised.value.status == 400
    assert "is waiting to start: ContainerCreating" in raised.value.body
    sandbox.advance(60)
    log = core.read_namespaced_pod_log(worker.metadata.name, "default")
    assert "Starting to load model Qwen/Qwen3-0.6B" in log
    lines = log.splitlines()
    ready = next(i for i, line in enumerate(lines) if line.endswith("worker ready"))
    # Once ready, the engine logs its throughput every 10 seconds.
    assert all("Avg generation throughput" in line for line in lines[ready + 1 :])
    assert len(lines) - ready - 1 == 4  # ready at about 14 s, now 62 s
    tail = core.read_namespaced_pod_log(worker.metadata.name, "default", tail_lines=2)
    assert len(tail.splitlines()) == 2


def test_bigger_models_take_longer_to_become_ready(sandbox, dgds):
    dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1("small", model="Qwen/Qwen3-0.6B")
    )
    dgds.create_namespaced_custom_object(
        GROUP,
        "v1beta1",
        "default",
        PLURAL,
        dgd_v1beta1("large", model="meta-llama/Llama-3.3-70B-Instruct", gpus=4),
    )
    sandbox.advance(40)
    assert dgd_status(dgds, "small")["state"] == "successful"
    assert dgd_status(dgds, "large")["state"] == "pending"
    sandbox.advance(150)
    assert dgd_status(dgds, "large")["state"] == "successful"


def test_scaling_adds_and_removes_pods(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(40)
    patch = {"spec": {"components": dgd_v1beta1(replicas=3)["spec"]["components"]}}
    dgds.patch_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", patch)
    sandbox.advance(1)
    assert len(pods_of(core, "qwen")) == 4
    status = dgd_status(dgds, "qwen")
    assert status["observedGeneration"] == 2
    assert status["components"]["VllmWorker"]["replicas"] == 3
    assert status["state"] == "pending"
    sandbox.advance(40)
    assert dgd_status(dgds, "qwen")["components"]["VllmWorker"]["readyReplicas"] == 3

    patch = {"spec": {"components": dgd_v1beta1(replicas=1)["spec"]["components"]}}
    dgds.patch_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen", patch)
    terminating = [p for p in pods_of(core, "qwen") if p.metadata.deletion_timestamp]
    assert len(terminating) == 2
    sandbox.advance(10)
    assert len(pods_of(core, "qwen")) == 2
    assert dgd_status(dgds, "qwen")["state"] == "successful"


def test_deleting_a_deployment_terminates_its_pods_and_service(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(40)
    dgds.delete_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    pods = pods_of(core, "qwen")
    assert len(pods) == 2
    assert all(p.metadata.deletion_timestamp for p in pods)
    assert core.list_namespaced_service("default").items == []
    sandbox.advance(10)
    assert pods_of(core, "qwen") == []


def test_a_deleted_pod_is_replaced(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(40)
    worker = next(p for p in pods_of(core, "qwen") if "vllmworker" in p.metadata.name)
    deleted = core.delete_namespaced_pod(worker.metadata.name, "default")
    assert deleted.metadata.name == worker.metadata.name
    sandbox.advance(10)
    names = {p.metadata.name for p in pods_of(core, "qwen")}
    assert worker.metadata.name not in names
    assert len(names) == 2


def test_dynamo_0_6_status_has_only_state_and_conditions(make_sandbox):
    """0.6.1's status schema has no counts: the API server drops what the operator adds."""
    sandbox = make_sandbox(profile="dynamo-0.6")
    api = sandbox_api_client(sandbox)
    dgds = client.CustomObjectsApi(api)
    dgds.create_namespaced_custom_object(GROUP, "v1alpha1", "default", PLURAL, dgd_v1alpha1(gpus=2))
    sandbox.advance(45)
    status = dgd_status(dgds, "legacy", "v1alpha1")
    assert set(status) == {"state", "conditions"}
    assert status["state"] == "successful"


def test_v1alpha1_deployments_run_and_report_services(make_sandbox):
    # Dynamo 1.5 still serves v1alpha1, whose status there has per-service counts.
    sandbox = make_sandbox(profile="dynamo-1.5")
    api = sandbox_api_client(sandbox)
    dgds, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
    dgds.create_namespaced_custom_object(GROUP, "v1alpha1", "default", PLURAL, dgd_v1alpha1(gpus=2))
    sandbox.advance(45)
    worker = next(p for p in pods_of(core, "legacy") if "vllmworker" in p.metadata.name)
    assert worker.spec.containers[0].resources.limits["nvidia.com/gpu"] == "2"
    status = dgd_status(dgds, "legacy", "v1alpha1")
    assert status["state"] == "successful"
    assert status["services"]["VllmWorker"]["readyReplicas"] == 1
    assert status["services"]["VllmWorker"]["componentName"] == "legacy-vllmworker"


def test_speed_shortens_the_lifecycle(make_sandbox):
    sandbox = make_sandbox(speed=10)
    dgds = client.CustomObjectsApi(sandbox_api_client(sandbox))
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(4)
    assert dgd_status(dgds, "qwen")["state"] == "successful"


def test_a_deleted_deployment_stays_deleting_until_its_pods_are_gone(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(60)
    live = dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    assert live["metadata"]["finalizers"] == ["nvidia.com/finalizer"]

    dgds.delete_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    deleting = dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    assert deleting["metadata"]["deletionTimestamp"]
    sandbox.advance(5)
    assert all(p.metadata.deletion_timestamp for p in pods_of(core, "qwen"))
    sandbox.advance(120)
    assert pods_of(core, "qwen") == []
    assert dgds.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)["items"] == []


def test_a_server_side_dry_run_delete_in_the_body_deletes_nothing(sandbox, dgds):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(60)
    dgds.delete_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, "qwen", body=client.V1DeleteOptions(dry_run=["All"])
    )
    kept = dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    assert "deletionTimestamp" not in kept["metadata"]


def test_pods_carry_dynamo_1_5_labels(sandbox, dgds, core):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
    sandbox.advance(30)
    for pod in pods_of(core, "qwen"):
        assert pod.metadata.labels["nvidia.com/dynamo-namespace"] == "default-qwen"
