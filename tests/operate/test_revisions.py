"""The diff of two specs and its plain summary: who restarts, who only scales."""

import copy

from deployments.revisions import spec_diff, summarize, with_replicas


def beta_spec() -> dict:
    def component(name, kind, replicas, args):
        return {
            "name": name,
            "type": kind,
            "replicas": replicas,
            "podTemplate": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
                            "args": args,
                        }
                    ]
                }
            },
        }

    return {
        "backendFramework": "vllm",
        "components": [
            component("Frontend", "frontend", 1, []),
            component("VllmPrefillWorker", "prefill", 1, ["--model", "Qwen/Qwen3-8B"]),
            component("VllmDecodeWorker", "decode", 2, ["--model", "Qwen/Qwen3-8B"]),
        ],
    }


def test_replicas_only_restart_nothing():
    old = beta_spec()
    new = with_replicas(old, {"VllmDecodeWorker": 3})
    summary = summarize(old, new)
    assert summary.restarts == []
    assert summary.sentences[0] == "replicas only: no restart"
    assert "decode workers (VllmDecodeWorker): 2 → 3 replicas (1 added, no restart)" in (
        summary.sentences
    )


def test_an_argument_restarts_only_that_component():
    old = beta_spec()
    new = copy.deepcopy(old)
    new["components"][2]["podTemplate"]["spec"]["containers"][0]["args"].append("--enforce-eager")
    summary = summarize(old, new)
    assert summary.restarts == ["VllmDecodeWorker"]
    assert summary.sentences == [
        "decode workers' (VllmDecodeWorker) arguments change: their 2 pods restart"
    ]


def test_a_new_image_everywhere_restarts_every_pod():
    old = beta_spec()
    new = copy.deepcopy(old)
    for item in new["components"]:
        item["podTemplate"]["spec"]["containers"][0]["image"] = "registry/vllm-runtime:1.5.0"
    summary = summarize(old, new)
    assert summary.sentences[0] == "image changes: every pod restarts"
    assert summary.restarts == ["Frontend", "VllmPrefillWorker", "VllmDecodeWorker"]


def test_v1alpha1_services_are_compared_by_name():
    old = {
        "services": {
            "Frontend": {"componentType": "frontend", "replicas": 1},
            "decode": {
                "componentType": "worker",
                "subComponentType": "decode",
                "replicas": 1,
                "extraPodSpec": {"mainContainer": {"args": ["--model", "a"]}},
            },
        }
    }
    new = copy.deepcopy(old)
    new["services"]["decode"]["extraPodSpec"]["mainContainer"]["args"] = ["--model", "b"]
    assert summarize(old, new).sentences == [
        "decode workers' arguments change: their 1 pod restarts"
    ]


def test_the_diff_is_unified_yaml():
    old = beta_spec()
    diff = spec_diff(old, with_replicas(old, {"Frontend": 2}), old_label="live", new_label="new")
    assert diff.startswith("--- live\n+++ new\n")
    assert "-  replicas: 1\n+  replicas: 2\n" in diff
    assert spec_diff(old, old) == ""
