"""The name the deploy form proposes is free in the chosen namespace (shared cache)."""

from deployments import cluster
from tests.dashboard.conftest import dgd_manifest
from tests.deploy.conftest import NEW_URL, form_data


def proposed(client, **params) -> str:
    response = client.get(NEW_URL, {"model": "qwen3-8b", **params})
    return response.context_data["form"]["name"].value()


def test_a_taken_generated_name_is_not_proposed(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("qwen3-8b-vllm"))
    assert proposed(member_client) == "qwen3-8b-vllm-2"


def test_the_proposal_follows_the_namespace_and_engine(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("qwen3-8b-sglang", namespace="dynamo"))
    names = member_client.get(
        NEW_URL, form_data(namespace="dynamo", engine="sglang", name="qwen3-8b-vllm")
    ).context_data["form"]
    assert names.default_names()["sglang"] == "qwen3-8b-sglang-2"
    assert names.config.name == "qwen3-8b-sglang-2"


def test_a_typed_name_is_kept(member_client, cluster_sandbox):
    cluster.dgd_create(manifest=dgd_manifest("mine"))
    form = member_client.get(NEW_URL, form_data(name="mine")).context_data["form"]
    assert form.config.name == "mine"
