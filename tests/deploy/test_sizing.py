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


def test_fits_says_how_many_nodes_have_room():
    result = fit([node("a", **H100), node("b", **H100)])
    assert result.ok
    assert result.message == "Fits: 2 nodes have 1 free H100 80GB."


def test_a_model_too_big_for_one_gpu_needs_a_larger_tp():
    # Qwen2.5 Coder 32B in BF16: 65.6 GB of weights alone.
    result = fit([node("l", **L40S)], params=32.8, context=32768)
    assert result.status == "no"
    assert result.message.startswith("Needs at least TP 2 on L40S 48GB")


def test_no_node_with_enough_free_gpus_names_the_largest():
    result = fit([node("a", **H100)], [pod("a", 5)], tp=4)
    assert result.message == "No node has 4 free GPUs (largest: 3 free)."


def test_some_replicas_fit_now():
    result = fit([node("a", **H100)], [pod("a", 6)], replicas=3)
    assert result.status == "partial"
    assert result.message.startswith("Room for 2 of 3 workers now")


def test_no_gpu_nodes():
    assert fit([node("cpu", gpus=0)]).message == "No node in the cluster advertises nvidia.com/gpu."


def test_roles_that_fit_alone_may_not_fit_together():
    nodes = sizing.gpu_nodes([node("a", **H100)], [pod("a", 6)])
    fits = [
        sizing.fit(
            role=role,
            parameters_billions=8.2,
            context_length=32768,
            tensor_parallel_size=2,
            replicas=1,
            nodes=nodes,
        )
        for role in ("prefill", "decode")
    ]
    assert all(f.ok for f in fits)
    assert "cannot hold all of them" in sizing.combined(fits, nodes)
