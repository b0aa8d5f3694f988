"""The GPU memory estimate and the fit against nodes (pure)."""

import pytest

from deployments import sizing


def node(name, *, gpus=8, product="NVIDIA-H100-80GB-HBM3", memory=81559, labels=True):
    meta = {"name": name, "labels": {}}
    if labels:
        meta["labels"] = {"nvidia.com/gpu.product": product, "nvidia.com/gpu.memory": str(memory)}
    return {"metadata": meta, "status": {"allocatable": {"nvidia.com/gpu": str(gpus)}}}


def pod(node_name, gpus, phase="Running"):
    return {
        "spec": {
            "nodeName": node_name,
            "containers": [{"resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}],
        },
        "status": {"phase": phase},
    }


H100 = dict(product="NVIDIA-H100-80GB-HBM3", memory=81559)
L40S = dict(product="NVIDIA-L40S", memory=46068, gpus=4)


def test_weights_are_parameters_times_two_bytes_in_bf16_split_over_tp():
    one = sizing.estimate(parameters_billions=8.2, context_length=32768, tensor_parallel_size=1)
    two = sizing.estimate(parameters_billions=8.2, context_length=32768, tensor_parallel_size=2)
    assert one.weights == pytest.approx(16.4e9)
    assert two.weights == pytest.approx(8.2e9)
    assert two.kv_cache == pytest.approx(one.kv_cache / 2)
    # (weights + KV + runtime) / 0.9, vLLM's default --gpu-memory-utilization
    assert one.per_gpu == pytest.approx((one.weights + one.kv_cache + 2e9) / 0.9)


def test_fp8_halves_the_weights():
    bf16 = sizing.estimate(parameters_billions=8, context_length=1, tensor_parallel_size=1)
    fp8 = sizing.estimate(
        parameters_billions=8, context_length=1, tensor_parallel_size=1, dtype="fp8"
    )
    assert fp8.weights == pytest.approx(bf16.weights / 2)


def test_kv_cache_of_an_8b_model_matches_llama_3_8b_shape():
    # 2 x 32 layers x 8 KV heads x 128 dims x 2 bytes = 128 KiB per token
    assert sizing.kv_bytes_per_token(parameters_billions=8) == 131072


def test_a_longer_context_needs_more_memory():
    short = sizing.estimate(parameters_billions=8, context_length=4096, tensor_parallel_size=1)
    long = sizing.estimate(parameters_billions=8, context_length=131072, tensor_parallel_size=1)
    assert long.per_gpu > short.per_gpu


def test_the_explanation_states_the_arithmetic():
    text = sizing.estimate(
        parameters_billions=8.2, context_length=32768, tensor_parallel_size=2
    ).explain()
    assert "8.2 B parameters × 2 bytes, BF16, ÷ TP 2" in text  # noqa: RUF001
    assert "32,768-token sequence" in text
    assert "÷ 0.9 usable" in text


@pytest.mark.parametrize(
    ("product", "memory", "label"),
    [
        ("NVIDIA-H100-80GB-HBM3", 81559, "H100 80GB"),
        ("NVIDIA-L40S", 46068, "L40S 48GB"),
        ("NVIDIA-A100-SXM4-40GB", 40960, "A100 40GB"),
        ("", None, "GPU"),
    ],
)
def test_gpu_labels_are_short(product, memory, label):
    assert sizing.gpu_label(product, memory) == label


def test_free_gpus_subtract_running_pods_only():
    nodes = sizing.gpu_nodes(
        [node("a", **H100), node("cpu", gpus=0)],
        [pod("a", 3), pod("a", 2, phase="Succeeded"), pod(None, 4)],
    )
    assert [(n.name, n.allocatable, n.free) for n in nodes] == [("a", 8, 5)]


def fit(nodes, pods=(), *, params=8.2, context=32768, tp=1, replicas=1):
    return sizing.fit(
        role="worker",
        parameters_billions=params,
        context_length=context,
        tensor_parallel_size=tp,
        replicas=replicas,
        nodes=sizing.gpu_nodes(nodes, list(pods)),
    )


def test_fits_states_the_free_gpus_the_nodes_have():
    result = fit([node("a", **H100), node("b", **H100)])
    assert result.ok
    assert result.message == "Fits: 2 nodes have 8 free H100 80GB."


def test_fits_at_tp_8_states_eight_free_not_the_tp():
    result = fit([node("a", **H100), node("b", **H100), node("c", **H100)], [pod("c", 1)], tp=8)
    assert result.message == "Fits: 2 nodes have 8 free H100 80GB."


def test_nodes_with_different_free_counts_are_said_apart():
    result = fit([node("a", **H100), node("b", **H100)], [pod("b", 5)], tp=2)
    assert result.message == "Fits: 1 node has 8 free H100 80GB; 1 node has 3 free H100 80GB."


def test_a_model_too_big_for_one_gpu_can_never_fit_at_that_tp():
    # Qwen2.5 Coder 32B in BF16: 65.6 GB of weights alone.
    result = fit([node("l", **L40S)], params=32.8, context=32768)
    assert result.status == "never"
    assert result.message.startswith(
        "Can never fit on this cluster at TP 1: needs at least TP 2 on L40S 48GB"
    )


def test_more_gpus_than_any_node_has_can_never_fit():
    result = fit([node("a", **H100), node("b", **H100)], tp=16)
    assert result.status == "never"
    assert result.message == (
        "Can never fit on this cluster: a worker needs 16 GPUs on one node, and the largest "
        "node has 8 H100 80GB."
    )


def test_more_workers_than_the_cluster_holds_can_never_fit():
    result = fit([node("a", **H100)], tp=8, replicas=2)
    assert result.status == "never"
    assert "hold at most 1 of 2 workers" in result.message


def test_gpus_taken_by_running_pods_mean_no_room_right_now():
    result = fit([node("a", **H100)], [pod("a", 5)], tp=4)
    assert result.status == "busy"
    assert result.message.startswith(
        "No room right now: a worker needs 4 GPUs free on one node, and the most free on any "
        "node is 3 (of 8 H100 80GB)"
    )


def test_some_replicas_fit_now():
    result = fit([node("a", **H100)], [pod("a", 6)], replicas=3)
    assert result.status == "partial"
    assert result.message.startswith("Room for 2 of 3 workers now: 1 node has 2 free H100 80GB")


def test_no_gpu_nodes_can_never_fit():
    result = fit([node("cpu", gpus=0)])
    assert result.status == "never"
    assert result.message == "Can never fit on this cluster: no node advertises nvidia.com/gpu."


def roles(nodes, pods=(), *, tp=2, replicas=1):
    gpu_nodes = sizing.gpu_nodes(nodes, list(pods))
    fits = [
        sizing.fit(
            role=role,
            parameters_billions=8.2,
            context_length=32768,
            tensor_parallel_size=tp,
            replicas=replicas,
            nodes=gpu_nodes,
        )
        for role in ("prefill", "decode")
    ]
    return fits, sizing.verdict(fits, gpu_nodes)


def test_roles_that_fit_alone_may_have_no_room_together_right_now():
    fits, verdict = roles([node("a", **H100)], [pod("a", 6)])
    assert all(f.ok for f in fits)
    assert verdict.status == "busy"
    assert verdict.message.startswith("No room right now: together the workers need 4 GPUs")


def test_roles_that_fit_together_fit():
    _fits, verdict = roles([node("a", **H100)])
    assert verdict.status == "fits"
    assert verdict.message == "Fits: all 4 GPUs of the workers are free now."


def test_roles_that_cannot_fit_together_even_on_an_empty_cluster_never_fit():
    fits, verdict = roles([node("a", **H100)], tp=8)
    assert all(f.ok for f in fits)
    assert verdict.status == "never"
    assert "together the workers need 16 GPUs" in verdict.message


def test_a_role_that_never_fits_makes_the_whole_never_fit():
    _fits, verdict = roles([node("a", **H100)], tp=16)
    assert verdict.status == "never"
    assert verdict.message.startswith("Can never fit on this cluster: the prefill and decode")
