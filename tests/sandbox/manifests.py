"""Small DynamoGraphDeployment bodies for the sandbox tests."""

from __future__ import annotations

GROUP, PLURAL = "nvidia.com", "dynamographdeployments"
IMAGE = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"


def dgd_v1beta1(
    name: str = "qwen",
    *,
    model: str = "Qwen/Qwen3-0.6B",
    gpus: int = 1,
    replicas: int = 1,
    secret: str = "hf-token-secret",
) -> dict:
    """An aggregated vLLM deployment: a frontend and one worker component."""
    return {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "dynamote"}},
        "spec": {
            "backendFramework": "vllm",
            "components": [
                {
                    "name": "Frontend",
                    "type": "frontend",
                    "replicas": 1,
                    "podTemplate": {"spec": {"containers": [{"name": "main", "image": IMAGE}]}},
                },
                {
                    "name": "VllmWorker",
                    "type": "worker",
                    "replicas": replicas,
                    "podTemplate": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "main",
                                    "image": IMAGE,
                                    "command": ["python3", "-m", "dynamo.vllm"],
                                    "args": ["--model", model],
                                    "envFrom": [{"secretRef": {"name": secret}}],
                                    "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
                                }
                            ]
                        }
                    },
                },
            ],
        },
    }


def dgd_v1alpha1(name: str = "legacy", *, gpus: int = 1, replicas: int = 1) -> dict:
    """The same deployment in the v1alpha1 shape (services map)."""
    return {
        "apiVersion": "nvidia.com/v1alpha1",
        "kind": "DynamoGraphDeployment",
        "metadata": {"name": name},
        "spec": {
            "backendFramework": "vllm",
            "services": {
                "Frontend": {
                    "componentType": "frontend",
                    "dynamoNamespace": name,
                    "replicas": 1,
                    "extraPodSpec": {"mainContainer": {"image": IMAGE}},
                },
                "VllmWorker": {
                    "componentType": "worker",
                    "dynamoNamespace": name,
                    "replicas": replicas,
                    "envFromSecret": "hf-token-secret",
                    "resources": {"limits": {"gpu": str(gpus)}},
                    "extraPodSpec": {
                        "mainContainer": {
                            "image": IMAGE,
                            "command": ["python3", "-m", "dynamo.vllm"],
                            "args": ["--model", "Qwen/Qwen3-0.6B"],
                        }
                    },
                },
            },
        },
    }
