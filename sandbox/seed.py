"""The seeded cluster: namespaces, secrets, GPU nodes and permissions, default or from YAML.

The YAML may also list `images:` the simulated registry holds besides the Dynamo runtime
images (see sandbox/engines.py image_available), e.g.

    images:
      - registry.example.com/team/vllm-runtime:1.5.0-patched   # this tag
      - registry.example.com/team/sglang-runtime               # any tag
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import yaml

from .clock import rfc3339
from .rbac import ALLOW_ALL, DEFAULT_USER

H100 = {"product": "NVIDIA-H100-80GB-HBM3", "memory": 81559, "count": 8}
L40S = {"product": "NVIDIA-L40S", "memory": 46068, "count": 4}

DEFAULT_CLUSTER: dict = {
    "namespaces": ["default", "dynamo"],
    "secrets": [
        {"namespace": ns, "name": "hf-token-secret", "data": {"HF_TOKEN": "hf_sandbox_token"}}
        for ns in ("default", "dynamo")
    ],
    # A shared model cache, as upstream's recipes create before deploying.
    "pvcs": [
        {
            "namespace": "default",
            "name": "model-cache",
            "accessModes": ["ReadWriteMany"],
            "storage": "500Gi",
        }
    ],
    "nodes": [
        {"name": "gpu-h100-1", "gpu": H100, "cpu": "192", "memory": "2Ti"},
        {"name": "gpu-h100-2", "gpu": H100, "cpu": "192", "memory": "2Ti"},
        {"name": "gpu-l40s-1", "gpu": L40S, "cpu": "64", "memory": "512Gi"},
    ],
    "user": DEFAULT_USER,
    "permissions": ALLOW_ALL,
    "images": [],
    # The Dynamo platform's operator Deployment; its image tag follows the profile unless
    # given here (`operator: {namespace: …, image: …}`; `operator: {}` installs none).
    "operator": {"namespace": "dynamo-system"},
}

OPERATOR_IMAGE = "nvcr.io/nvidia/ai-dynamo/kubernetes-operator"
# The release each profile's operator runs: 1.5.0 has no published images yet, so the 1.x
# profile runs the newest published one.
OPERATOR_TAGS = {"dynamo-1.5": "1.4.0", "dynamo-0.6": "0.6.1"}


def load_cluster(source: str | Path | dict | None) -> dict:
    """The cluster description: defaults, overridden by a YAML file or dict where it says so."""
    if source is None:
        return dict(DEFAULT_CLUSTER)
    if isinstance(source, dict):
        data = source
    else:
        with open(source, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    merged = dict(DEFAULT_CLUSTER)
    merged.update({k: v for k, v in data.items() if v is not None})
    images = merged.get("images") or []
    if not isinstance(images, list) or not all(isinstance(i, str) and i for i in images):
        raise ValueError("images: give a list of image references, e.g. [my-registry/img:1.0]")
    return merged


def _uid(seed: str) -> str:
    d = hashlib.sha1(seed.encode()).hexdigest()
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def namespace_object(name: str, now: float) -> dict:
    """An active Namespace."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "uid": _uid(f"namespace/{name}"),
            "creationTimestamp": rfc3339(now),
            "labels": {"kubernetes.io/metadata.name": name},
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def secret_object(namespace: str, name: str, data: dict[str, str], now: float) -> dict:
    """An Opaque Secret from plain-text values (stored base64-encoded, as Kubernetes does)."""
    encoded = {k: base64.b64encode(str(v).encode()).decode() for k, v in data.items()}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": _uid(f"secret/{namespace}/{name}/{now}"),
            "creationTimestamp": rfc3339(now),
        },
        "type": "Opaque",
        "data": encoded,
    }


def pvc_object(
    namespace: str,
    name: str,
    now: float,
    access_modes: list[str] | None = None,
    storage: str = "100Gi",
    storage_class: str = "standard",
) -> dict:
    """A PersistentVolumeClaim Bound to a volume of its size, as a provisioner leaves it."""
    modes = list(access_modes or ["ReadWriteMany"])
    uid = _uid(f"pvc/{namespace}/{name}/{now}")
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid,
            "creationTimestamp": rfc3339(now),
        },
        "spec": {
            "accessModes": modes,
            "resources": {"requests": {"storage": storage}},
            "storageClassName": storage_class,
            "volumeMode": "Filesystem",
            "volumeName": f"pvc-{uid}",
        },
        "status": {"phase": "Bound", "accessModes": modes, "capacity": {"storage": storage}},
    }


def configmap_object(namespace: str, name: str, data: dict[str, str], now: float) -> dict:
    """A ConfigMap with these values."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": _uid(f"configmap/{namespace}/{name}/{now}"),
            "creationTimestamp": rfc3339(now),
        },
        "data": {k: str(v) for k, v in data.items()},
    }


def operator_deployment(namespace: str, image: str, now: float) -> dict:
    """The Dynamo operator's Deployment as the platform's Helm chart installs it."""
    name = "dynamo-platform-dynamo-operator-controller-manager"
    tag = image.rpartition(":")[2]
    selector = {
        "control-plane": "controller-manager",
        "app.kubernetes.io/name": "dynamo-operator",
        "app.kubernetes.io/instance": "dynamo-platform",
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": _uid(f"deployment/{namespace}/{name}"),
            "creationTimestamp": rfc3339(now),
            "generation": 1,
            "labels": {
                **selector,
                "app.kubernetes.io/component": "manager",
                "app.kubernetes.io/part-of": "dynamo-operator",
                "app.kubernetes.io/managed-by": "Helm",
                "app.kubernetes.io/version": tag,
            },
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": selector},
                "spec": {
                    "serviceAccountName": name,
                    "containers": [
                        {
                            "name": "manager",
                            "image": image,
                            "command": ["/manager"],
                            "args": ["--leader-elect", f"--operator-version={tag}"],
                        }
                    ],
                },
            },
        },
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "readyReplicas": 1,
            "availableReplicas": 1,
            "updatedReplicas": 1,
        },
    }


def node_object(
    name: str,
    now: float,
    gpu: dict | None = None,
    cpu: str = "96",
    memory: str = "1Ti",
    labels: dict[str, str] | None = None,
) -> dict:
    """A Ready node advertising GPUs, with NVIDIA GPU feature-discovery labels."""
    gpu = gpu or {}
    count = int(gpu.get("count", 0))
    node_labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "node.kubernetes.io/instance-type": "sandbox",
    }
    if count:
        node_labels.update(
            {
                "nvidia.com/gpu.present": "true",
                "nvidia.com/gpu.product": str(gpu.get("product", "NVIDIA-H100-80GB-HBM3")),
                "nvidia.com/gpu.memory": str(gpu.get("memory", 81559)),
                "nvidia.com/gpu.count": str(count),
            }
        )
    node_labels.update(labels or {})
    resources = {
        "cpu": str(cpu),
        "memory": str(memory),
        "pods": "110",
        "ephemeral-storage": "3Ti",
        "nvidia.com/gpu": str(count),
    }
    stamp = rfc3339(now)
    digest = hashlib.sha1(name.encode()).digest()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": _uid(f"node/{name}"),
            "creationTimestamp": stamp,
            "labels": node_labels,
        },
        "spec": {"podCIDR": f"10.244.{digest[0]}.0/24"},
        "status": {
            "capacity": dict(resources),
            "allocatable": dict(resources),
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": stamp,
                    "lastTransitionTime": stamp,
                },
            ],
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.{digest[1]}.{digest[2]}"},
                {"type": "Hostname", "address": name},
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": _uid(f"boot/{name}"),
                "containerRuntimeVersion": "containerd://1.7.27",
                "kernelVersion": "6.8.0-sandbox",
                "kubeProxyVersion": "v1.33.0",
                "kubeletVersion": "v1.33.0",
                "machineID": digest.hex()[:32],
                "operatingSystem": "linux",
                "osImage": "Ubuntu 24.04.2 LTS",
                "systemUUID": _uid(f"system/{name}"),
            },
        },
    }
