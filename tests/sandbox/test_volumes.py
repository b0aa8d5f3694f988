"""Claims, ConfigMaps, volumes and node selectors in the sandbox, through the official client
and kubectl: the core API, the scheduler's and the kubelet's checks, the compact CRD's fields."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sandbox import compact_crd
from sandbox.schema import load_crd, validate, version_schema
from tests.fixtures.sandbox import sandbox_api_client

from .manifests import GROUP, PLURAL, dgd_v1alpha1, dgd_v1beta1

SELECTOR = "nvidia.com/dynamo-graph-deployment-name={}"
H100 = "NVIDIA-H100-80GB-HBM3"


@pytest.fixture
def core(sandbox):
    return client.CoreV1Api(sandbox_api_client(sandbox))


@pytest.fixture
def dgds(sandbox):
    return client.CustomObjectsApi(sandbox_api_client(sandbox))


def claim(name: str, modes: list[str], storage: str = "10Gi") -> dict:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": modes, "resources": {"requests": {"storage": storage}}},
    }


def worker_pod(core, name: str) -> client.V1Pod:
    pods = core.list_namespaced_pod("default", label_selector=SELECTOR.format(name)).items
    (worker,) = [p for p in pods if "worker" in p.metadata.name]
    return worker


def events(core, pod: client.V1Pod, reason: str) -> list[str]:
    listed = core.list_namespaced_event(
        "default", field_selector=f"involvedObject.name={pod.metadata.name}"
    )
    return [e.message for e in listed.items if e.reason == reason]


def with_volume(body: dict, volume: dict, mount: str = "/opt/models") -> dict:
    body = copy.deepcopy(body)
    pod = body["spec"]["components"][1]["podTemplate"]["spec"]
    pod["volumes"] = [volume]
    pod["containers"][0]["volumeMounts"] = [{"name": volume["name"], "mountPath": mount}]
    return body


# --- the core API ---------------------------------------------------------------------------


def test_the_seeded_cluster_has_a_shared_model_cache_and_two_gpu_types(core):
    (cache,) = core.list_namespaced_persistent_volume_claim("default").items
    assert cache.metadata.name == "model-cache"
    assert cache.status.phase == "Bound"
    assert cache.status.access_modes == ["ReadWriteMany"]
    products = {n.metadata.labels["nvidia.com/gpu.product"] for n in core.list_node().items}
    assert products == {H100, "NVIDIA-L40S"}
    for node in core.list_node().items:
        assert {"nvidia.com/gpu.memory", "nvidia.com/gpu.count"} <= set(node.metadata.labels)


def test_claims_are_created_read_listed_and_deleted(core):
    created = core.create_namespaced_persistent_volume_claim(
        "default", claim("weights", ["ReadWriteOnce"], "200Gi")
    )
    assert created.status.phase == "Bound"
    assert created.status.capacity == {"storage": "200Gi"}
    read = core.read_namespaced_persistent_volume_claim("weights", "default")
    assert read.spec.access_modes == ["ReadWriteOnce"]
    with pytest.raises(ApiException) as taken:
        core.create_namespaced_persistent_volume_claim(
            "default", claim("weights", ["ReadWriteMany"])
        )
    assert taken.value.status == 409
    core.delete_namespaced_persistent_volume_claim("weights", "default")
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_persistent_volume_claim("weights", "default")
    assert gone.value.status == 404
    assert json.loads(gone.value.body)["message"] == 'persistentvolumeclaims "weights" not found'


def test_a_claim_without_access_modes_or_size_is_refused_like_the_api_server(core):
    bad = claim("bad", [])
    del bad["spec"]["resources"]
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_persistent_volume_claim("default", bad)
    assert refused.value.status == 422
    assert "spec.accessModes: Required value" in refused.value.body
    assert "spec.resources[storage]: Required value" in refused.value.body


def test_config_maps_are_created_read_and_deleted(core):
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "engine"}}
    core.create_namespaced_config_map("default", {**body, "data": {"engine.yaml": "a: 1\n"}})
    assert core.read_namespaced_config_map("engine", "default").data == {"engine.yaml": "a: 1\n"}
    assert [c.metadata.name for c in core.list_namespaced_config_map("default").items] == ["engine"]
    core.delete_namespaced_config_map("engine", "default")
    assert core.list_namespaced_config_map("default").items == []


def test_claims_and_config_maps_are_rbac_checked(sandbox, core):
    sandbox.set_permissions([{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}])
    with pytest.raises(ApiException) as refused:
        core.list_namespaced_persistent_volume_claim("default")
    assert refused.value.status == 403
    assert (
        'cannot list resource "persistentvolumeclaims"' in json.loads(refused.value.body)["message"]
    )
    assert core.list_namespaced_config_map("default").items == []


@pytest.fixture
def kubectl(sandbox):
    if shutil.which("kubectl") is None:
        pytest.fail("kubectl is not installed: these tests drive the real kubectl")

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["kubectl", "--kubeconfig", str(sandbox.kubeconfig_path), "-n", "default", *args],
            capture_output=True,
            text=True,
            input=stdin,
            timeout=60,
        )

    return run


def test_kubectl_creates_and_lists_claims_and_config_maps(kubectl):
    created = kubectl("apply", "-f", "-", stdin=yaml.safe_dump(claim("scratch", ["ReadWriteOnce"])))
    assert created.returncode == 0, created.stderr
    listed = kubectl("get", "pvc")
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.strip().split("\n")
    assert header.split()[:6] == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES"]
    by_name = {row.split()[0]: row.split() for row in rows}
    assert by_name["model-cache"][1] == "Bound" and by_name["model-cache"][3:5] == ["500Gi", "RWX"]
    assert by_name["scratch"][3:5] == ["10Gi", "RWO"]
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "engine"},
        "data": {"engine.yaml": "a: 1\n"},
    }
    made = kubectl("apply", "-f", "-", stdin=yaml.safe_dump(config_map))
    assert made.returncode == 0, made.stderr
    maps = kubectl("get", "configmap")
    assert maps.stdout.split("\n")[1].split()[:2] == ["engine", "1"]


# --- the scheduler and the kubelet ----------------------------------------------------------


def test_a_missing_claim_keeps_the_pod_pending_with_the_schedulers_message(sandbox, dgds, core):
    volume = {"name": "model-cache", "persistentVolumeClaim": {"claimName": "weights"}}
    dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, with_volume(dgd_v1beta1(), volume)
    )
    sandbox.advance(60)
    pod = worker_pod(core, "qwen")
    assert pod.status.phase == "Pending" and pod.spec.node_name is None
    assert events(core, pod, "FailedScheduling") == [
        '0/3 nodes are available: persistentvolumeclaim "weights" not found.'
    ]
    # Once the claim exists the pod is scheduled and starts.
    sandbox.create_pvc("default", "weights")
    sandbox.advance(300)
    assert worker_pod(core, "qwen").status.container_statuses[0].ready is True


@pytest.mark.parametrize(
    ("volume", "message"),
    [
        (
            {"name": "engine", "configMap": {"name": "trtllm-config"}},
            'MountVolume.SetUp failed for volume "engine" : configmap "trtllm-config" not found',
        ),
        (
            {"name": "certs", "secret": {"secretName": "tls"}},
            'MountVolume.SetUp failed for volume "certs" : secret "tls" not found',
        ),
    ],
)
def test_a_missing_config_map_or_secret_volume_stays_container_creating(
    sandbox, dgds, core, volume, message
):
    dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, with_volume(dgd_v1beta1(), volume, "/config")
    )
    sandbox.advance(120)
    pod = worker_pod(core, "qwen")
    assert pod.spec.node_name  # scheduled; the kubelet waits for the volume
    assert pod.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
    assert events(core, pod, "FailedMount") == [message]
    status = dgds.get_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, "qwen")
    assert status["status"]["state"] == "pending"


def test_a_claim_deleted_after_scheduling_fails_the_mount(sandbox, dgds, core):
    volume = {"name": "model-cache", "persistentVolumeClaim": {"claimName": "model-cache"}}
    dgds.create_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, with_volume(dgd_v1beta1(), volume)
    )
    sandbox.advance(2)  # created and scheduled, still ContainerCreating
    assert worker_pod(core, "qwen").spec.node_name
    sandbox.delete_pvc("default", "model-cache")
    sandbox.advance(60)
    pod = worker_pod(core, "qwen")
    assert pod.status.container_statuses[0].state.waiting.reason == "ContainerCreating"
    (message,) = events(core, pod, "FailedMount")
    assert message.startswith("Unable to attach or mount volumes: unmounted volumes=[model-cache]")
    assert message.endswith('persistentvolumeclaims "model-cache" not found')


def test_the_scheduler_honours_the_node_selector(sandbox, dgds, core):
    body = dgd_v1beta1()
    body["spec"]["components"][1]["podTemplate"]["spec"]["nodeSelector"] = {
        "nvidia.com/gpu.product": "NVIDIA-L40S"
    }
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)
    sandbox.advance(60)
    assert worker_pod(core, "qwen").spec.node_name == "gpu-l40s-1"

    nowhere = dgd_v1beta1("nowhere")
    nowhere["spec"]["components"][1]["podTemplate"]["spec"]["nodeSelector"] = {
        "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"
    }
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, nowhere)
    sandbox.advance(60)
    pod = worker_pod(core, "nowhere")
    assert pod.status.phase == "Pending"
    assert events(core, pod, "FailedScheduling") == [
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    ]


def test_a_selector_and_too_few_gpus_name_both_reasons(sandbox, dgds, core):
    body = dgd_v1beta1(gpus=8)
    body["spec"]["components"][1]["podTemplate"]["spec"]["nodeSelector"] = {
        "nvidia.com/gpu.product": "NVIDIA-L40S"
    }
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)
    sandbox.advance(60)
    assert events(core, worker_pod(core, "qwen"), "FailedScheduling") == [
        "0/3 nodes are available: 1 Insufficient nvidia.com/gpu, "
        "2 node(s) didn't match Pod's node affinity/selector."
    ]


def test_v1alpha1_claims_and_selectors_reach_the_pods_and_read_back(sandbox, dgds, core):
    body = dgd_v1alpha1()
    body["spec"]["pvcs"] = [{"name": "model-cache", "create": False}]
    for service in body["spec"]["services"].values():
        service["volumeMounts"] = [{"name": "model-cache", "mountPoint": "/opt/models"}]
    worker = body["spec"]["services"]["VllmWorker"]
    worker["extraPodSpec"]["nodeSelector"] = {"nvidia.com/gpu.product": H100}
    worker["resources"]["requests"] = {"custom": {"ephemeral-storage": "2Gi"}}
    dgds.create_namespaced_custom_object(GROUP, "v1alpha1", "default", PLURAL, body)
    sandbox.advance(300)
    pod = worker_pod(core, "legacy")
    assert pod.spec.volumes[0].persistent_volume_claim.claim_name == "model-cache"
    assert pod.spec.containers[0].volume_mounts[0].mount_path == "/opt/models"
    assert pod.spec.containers[0].resources.requests == {"ephemeral-storage": "2Gi"}
    assert pod.spec.node_selector == {"nvidia.com/gpu.product": H100}
    assert pod.spec.node_name.startswith("gpu-h100")
    read = dgds.get_namespaced_custom_object(GROUP, "v1alpha1", "default", PLURAL, "legacy")
    assert read["spec"]["pvcs"] == [{"name": "model-cache", "create": False}]
    assert read["spec"]["services"]["VllmWorker"]["volumeMounts"] == [
        {"name": "model-cache", "mountPoint": "/opt/models"}
    ]
    assert read["spec"]["services"]["VllmWorker"]["extraPodSpec"]["nodeSelector"] == {
        "nvidia.com/gpu.product": H100
    }


# --- the compact CRD accepts what the real CRDs accept ------------------------------------


@pytest.mark.parametrize(
    ("release", "version"),
    [("dynamo-0.6.1", "v1alpha1"), ("dynamo-1.5.0", "v1alpha1"), ("dynamo-1.5.0", "v1beta1")],
)
def test_the_compact_crd_accepts_volumes_and_selectors_as_the_real_ones(
    shared_dynamo, release, version
):
    real = load_crd(shared_dynamo / "crds" / release / "nvidia.com_dynamographdeployments.yaml")
    if version == "v1beta1":
        body = with_volume(
            dgd_v1beta1(),
            {"name": "model-cache", "persistentVolumeClaim": {"claimName": "model-cache"}},
        )
        pod = body["spec"]["components"][1]["podTemplate"]["spec"]
        pod["nodeSelector"] = {"nvidia.com/gpu.product": H100}
        pod["containers"][0]["resources"]["requests"] = {"ephemeral-storage": "2Gi"}
    else:
        body = dgd_v1alpha1()
        body["spec"]["pvcs"] = [{"name": "model-cache", "create": False}]
        worker = body["spec"]["services"]["VllmWorker"]
        worker["volumeMounts"] = [{"name": "model-cache", "mountPoint": "/opt/models"}]
        worker["extraPodSpec"]["nodeSelector"] = {"nvidia.com/gpu.product": H100}
        worker["resources"]["requests"] = {"custom": {"ephemeral-storage": "2Gi"}}
    assert validate(version_schema(real, version), body) == []
    assert validate(version_schema(compact_crd(), version), body) == []
