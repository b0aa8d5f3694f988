"""YAML shown to people (diffs, manifests for Git) writes a repeated value out each time."""

from deployments.export import git_yaml
from deployments.revisions import spec_diff


def shared_secret_spec() -> dict:
    secret = [{"secretRef": {"name": "hf-token-secret"}}]  # one list used by two containers
    return {
        "components": [
            {"name": "Frontend", "envFrom": secret},
            {"name": "VllmWorker", "envFrom": secret, "args": ["--model", "Qwen/Qwen3-8B"]},
        ]
    }


def test_a_diff_never_shows_yaml_anchors_for_a_value_used_twice():
    old = {
        "components": [
            {"name": "Frontend", "envFrom": [{"secretRef": {"name": "hf-token-secret"}}]},
            {
                "name": "VllmWorker",
                "envFrom": [{"secretRef": {"name": "hf-token-secret"}}],
                "args": ["--model", "Qwen/Qwen3-8B"],
            },
        ]
    }
    assert spec_diff(old, shared_secret_spec()) == ""


def test_a_manifest_for_git_writes_a_shared_value_twice():
    text = git_yaml(
        {
            "apiVersion": "nvidia.com/v1beta1",
            "kind": "DynamoGraphDeployment",
            "metadata": {"name": "qwen"},
            "spec": shared_secret_spec(),
        }
    )
    assert "&id" not in text and "*id" not in text
    assert text.count("hf-token-secret") == 2
