"""Fixtures for the playground: a deployment on the sandbox and raw calls through its proxies."""

import json

import pytest

from deployments import cluster, mirror
from tests.dashboard.conftest import dgd_manifest
from tests.fixtures.sandbox import sandbox_api_client

FRONTEND = "/api/v1/namespaces/default/services/llama-frontend:8000/proxy"
MODEL = "Qwen/Qwen3-0.6B"


class Raw:
    """Requests through the official client's ApiClient, with the sandbox's kubeconfig."""

    def __init__(self, sandbox) -> None:
        self.api = sandbox_api_client(sandbox)

    def __call__(self, method: str, path: str, body=None) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        request = self.api.param_serialize(
            method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        response = self.api.call_api(*request).response
        return response.status, response.read().decode()

    def json(self, method: str, path: str, body=None) -> tuple[int, dict]:
        status, text = self(method, path, body)
        return status, json.loads(text)


@pytest.fixture
def raw(sandbox):
    sandbox.api.traffic.scale = 0.2  # answers five times faster than a real Qwen3 0.6B
    return Raw(sandbox)


def create_llama(sandbox, **kwargs) -> None:
    """A Ready aggregated vLLM deployment "llama" serving Qwen/Qwen3-0.6B."""
    api = sandbox_api_client(sandbox)
    from kubernetes import client

    client.CustomObjectsApi(api).create_namespaced_custom_object(
        "nvidia.com",
        "v1beta1",
        "default",
        "dynamographdeployments",
        dgd_manifest("llama", **kwargs),
    )


def chat_body(content: str = "Hello there", **extra) -> dict:
    return {"model": MODEL, "messages": [{"role": "user", "content": content}], **extra}


def llama_manifest() -> dict:
    """ "llama" as Dynamote creates it from the catalog's Qwen3 0.6B (context 32,768 tokens)."""
    manifest = dgd_manifest("llama")
    manifest["metadata"]["annotations"]["dynamote.io/model-id"] = "qwen3-0-6b"
    return manifest


@pytest.fixture
def ready_llama(cluster_sandbox):
    """Dynamote connected to a sandbox with "llama" Ready, answering quickly."""
    cluster_sandbox.api.traffic.scale = 0.2
    cluster.dgd_create(manifest=llama_manifest())
    cluster_sandbox.advance(60)
    mirror.reset()
    return cluster_sandbox


def proxy_requests(sandbox) -> list[dict]:
    """The requests that reached a frontend or pod through the API server's proxies."""
    return [e for e in sandbox.request_log if e["resource"].endswith("/proxy")]
