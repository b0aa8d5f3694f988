"""Status badge, replica counts, age and the "why not ready" sentence, one case at a time."""

from datetime import UTC, datetime, timedelta

import pytest

from deployments.status import (
    deployment_status,
    gpu_shortfall,
    humanize_age,
    replica_counts,
    why_not_ready,
    worker_replicas,
    workers_text,
)


def dgd(state=None, ready=None, reason="", message="", deleting=False, alpha=False, counts=None):
    status = {}
    if state:
        status["state"] = state
    if ready is not None:
        status["conditions"] = [
            {"type": "Ready", "status": ready, "reason": reason, "message": message}
        ]
    if counts is not None:
        status["services" if alpha else "components"] = counts
    meta = {"name": "llama", "namespace": "team"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    spec = (
        {"services": {"Frontend": {"replicas": 1}, "VllmWorker": {"replicas": 2}}}
        if alpha
        else {
            "components": [
                {"name": "Frontend", "type": "frontend", "replicas": 1},
                {"name": "VllmWorker", "type": "worker", "replicas": 2},
            ]
        }
    )
    return {"metadata": meta, "spec": spec, "status": status}


def pod(
    name="llama-vllmworker-1",
    component="VllmWorker",
    *,
    scheduled=True,
    unschedulable="",
    waiting="",
    waiting_message="",
    ready=False,
    restarts=0,
    crashed=None,
    gpus=1,
    node="gpu-1",
    terminating=False,
):
    conditions = []
    if not scheduled:
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": unschedulable,
            }
        )
    else:
        conditions.append({"type": "PodScheduled", "status": "True"})
        conditions.append({"type": "Ready", "status": "True" if ready else "False"})
    state = (
        {"waiting": {"reason": waiting, "message": waiting_message}} if waiting else {"running": {}}
    )
    container_status = {
        "name": "main",
        "image": "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0",
        "ready": ready,
        "restartCount": restarts,
        "state": state,
    }
    if crashed:
        container_status["lastState"] = {"terminated": crashed}
    meta = {
        "name": name,
        "namespace": "team",
        "labels": {
            "nvidia.com/dynamo-graph-deployment-name": "llama",
            "nvidia.com/dynamo-component": component,
        },
    }
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {
        "metadata": meta,
        "spec": {
            "nodeName": node if scheduled else None,
            "containers": [
                {"name": "main", "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}
            ],
        },
        "status": {
            "phase": "Running" if scheduled and not waiting else "Pending",
            "conditions": conditions,
            "containerStatuses": [container_status] if scheduled else [],
        },
    }


def node(name, gpus):
    return {"metadata": {"name": name}, "status": {"allocatable": {"nvidia.com/gpu": str(gpus)}}}


INSUFFICIENT = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."


class TestBadge:
    def test_ready_when_the_ready_condition_is_true(self):
        assert deployment_status(dgd("successful", "True")).label == "Ready"

    def test_no_status_yet_is_pending(self):
        badge = deployment_status(dgd())
        assert badge.label == "Pending"
        assert "operator" in badge.reason

    def test_initializing_is_pending(self):
        assert deployment_status(dgd("initializing", "False")).key == "pending"

    def test_pods_coming_up_are_deploying(self):
        badge = deployment_status(
            dgd("pending", "False", "pods_not_ready", "Components not ready"),
            pods=[pod(waiting="ContainerCreating")],
        )
        assert badge.label == "Deploying"

    def test_unschedulable_pod_is_pending_with_the_reason(self):
        badge = deployment_status(
            dgd("pending", "False", "insufficient_capacity"),
            pods=[pod(scheduled=False, unschedulable=INSUFFICIENT)],
        )
        assert (badge.label, badge.reason) == ("Pending", INSUFFICIENT)

    def test_a_capacity_reason_without_pod_details_is_pending(self):
        badge = deployment_status(dgd("pending", "False", "insufficient_capacity", "No GPUs"))
        assert (badge.label, badge.reason) == ("Pending", "No GPUs")

    def test_a_rolling_update_is_deploying_with_a_sentence(self):
        badge = deployment_status(dgd("pending", "False", "updating"))
        assert (badge.label, badge.reason) == (
            "Deploying",
            "Rolling out a new version of its pods.",
        )

    def test_failed_state_is_failed(self):
        badge = deployment_status(dgd("failed", "False", "X", 'secret "hf" not found'))
        assert (badge.label, badge.reason) == ("Failed", 'secret "hf" not found')

    @pytest.mark.parametrize("reason", ["ImagePullBackOff", "CrashLoopBackOff"])
    def test_a_broken_container_is_failed(self, reason):
        badge = deployment_status(dgd("pending", "False"), pods=[pod(waiting=reason)])
        assert badge.label == "Failed"

    def test_deletion_timestamp_is_deleting(self):
        assert deployment_status(dgd("successful", "True", deleting=True)).label == "Deleting"

    def test_gone_dgd_with_pods_left_is_deleting(self):
        assert deployment_status(None, pods=[pod(terminating=True)]).label == "Deleting"

    def test_unknown_state(self):
        assert deployment_status(dgd("exploded")).label == "Unknown"


class TestReplicas:
    def test_counts_workers_not_the_frontend(self):
        counts = {
            "Frontend": {"replicas": 1, "readyReplicas": 1},
            "VllmWorker": {"replicas": 2, "readyReplicas": 1},
        }
        assert replica_counts(dgd("pending", counts=counts)) == (1, 2)
        assert workers_text(worker_replicas(dgd("pending", counts=counts))) == "1/2"

    def test_v1alpha1_services(self):
        counts = {"Frontend": {"replicas": 1, "readyReplicas": 1}}
        assert replica_counts(dgd("pending", alpha=True, counts=counts)) == (0, 2)

    def test_spec_when_no_status(self):
        assert replica_counts(dgd()) == (0, 2)

    def test_per_role_when_disaggregated(self):
        spec = {
            "services": {
                "Frontend": {"componentType": "frontend", "replicas": 1},
                "decode": {"componentType": "worker", "subComponentType": "decode", "replicas": 2},
                "prefill": {"componentType": "worker", "subComponentType": "prefill"},
            }
        }
        counts = {"decode": {"replicas": 2, "readyReplicas": 2}, "prefill": {"readyReplicas": 1}}
        found = {"metadata": {}, "spec": spec, "status": {"services": counts}}
        assert workers_text(worker_replicas(found)) == "prefill 1/1 · decode 2/2"


class TestAge:
    NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("delta", "text"),
        [
            (timedelta(seconds=42), "42s"),
            (timedelta(minutes=12, seconds=5), "12m"),
            (timedelta(hours=2, minutes=5), "2h5m"),
            (timedelta(hours=9, minutes=5), "9h"),
            (timedelta(days=3, hours=1), "3d"),
            (timedelta(seconds=-5), "0s"),
        ],
    )
    def test_humanized(self, delta, text):
        stamp = (self.NOW - delta).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert humanize_age(stamp, now=self.NOW) == text

    def test_missing(self):
        assert humanize_age(None, now=self.NOW) == "-"


class TestWhyNotReady:
    def test_none_when_ready(self):
        assert why_not_ready(dgd("successful", "True"), pods=[pod(ready=True)]) is None

    def test_missing_secret_names_it_and_the_command(self):
        reason = why_not_ready(
            dgd("failed", "False"),
            pods=[
                pod(
                    waiting="CreateContainerConfigError",
                    waiting_message='secret "hf-token-secret" not found',
                )
            ],
        )
        assert 'The Secret "hf-token-secret" does not exist in namespace "team"' in reason.sentence
        assert reason.command == (
            "kubectl create secret generic hf-token-secret "
            "'--from-literal=HF_TOKEN=<your Hugging Face token>' -n team"
        )

    def test_missing_secret_from_the_event_when_the_pod_has_no_message(self):
        events = [
            {
                "reason": "Failed",
                "message": 'Error: secret "hf" not found',
                "involvedObject": {"name": "llama-vllmworker-1"},
            }
        ]
        reason = why_not_ready(
            dgd("failed", "False"),
            pods=[pod(waiting="CreateContainerConfigError")],
            events=events,
        )
        assert '"hf"' in reason.sentence

    def test_missing_secret_key(self):
        reason = why_not_ready(
            dgd("failed", "False"),
            pods=[
                pod(
                    waiting="CreateContainerConfigError",
                    waiting_message="couldn't find key HF_TOKEN in Secret team/hf",
                )
            ],
        )
        assert 'has no key "HF_TOKEN"' in reason.sentence

    def test_not_enough_gpus_counts_what_is_missing(self):
        pending = pod(scheduled=False, unschedulable=INSUFFICIENT, gpus=8)
        running = pod("other", gpus=6, node="gpu-1")
        reason = why_not_ready(
            dgd("pending", "False", "insufficient_capacity"),
            pods=[pending],
            nodes=[node("gpu-1", 8), node("gpu-2", 4)],
            cluster_pods=[running],
        )
        assert reason.sentence.startswith(
            "Not enough free GPUs: the VllmWorker pod needs 8 GPUs on one node, but the most "
            "free on any node is 4, so 4 GPUs are missing."
        )

    def test_not_enough_gpus_without_node_data(self):
        reason = why_not_ready(
            dgd("pending", "False"),
            pods=[
                pod(scheduled=False, unschedulable=INSUFFICIENT, gpus=2),
                pod("w2", scheduled=False, unschedulable=INSUFFICIENT, gpus=2),
            ],
        )
        assert "2 VllmWorker pods need 2 GPUs each on one node" in reason.sentence

    def test_gpus_free_again_waits_for_the_scheduler(self):
        reason = why_not_ready(
            dgd("pending", "False"),
            pods=[pod(scheduled=False, unschedulable=INSUFFICIENT, gpus=2)],
            nodes=[node("gpu-1", 8)],
            cluster_pods=[],
        )
        assert reason.sentence.startswith("Waiting for the scheduler")

    def test_image_pull_failure(self):
        reason = why_not_ready(
            dgd("pending", "False"),
            pods=[pod(waiting="ImagePullBackOff", waiting_message='Back-off pulling image "x"')],
        )
        assert "cannot be pulled (ImagePullBackOff)" in reason.sentence
        assert "vllm-runtime:1.4.0" in reason.sentence

    def test_crash_loop_with_the_last_log_lines(self):
        reason = why_not_ready(
            dgd("pending", "False"),
            pods=[pod(waiting="CrashLoopBackOff", restarts=4, crashed={"exitCode": 1})],
            logs={"llama-vllmworker-1": "loading\nCUDA out of memory\n"},
        )
        assert "keeps crashing: restarted 4 times, last exit code 1" in reason.sentence
        assert reason.log_lines == ["loading", "CUDA out of memory"]

    def test_containers_being_created(self):
        reason = why_not_ready(
            dgd("pending", "False", counts={}), pods=[pod(waiting="ContainerCreating")]
        )
        assert reason.sentence.startswith("The VllmWorker pod is pulling the image")

    def test_model_loading(self):
        reason = why_not_ready(dgd("pending", "False"), pods=[pod(), pod("w2")])
        assert reason.sentence.startswith("2 VllmWorker pods are running and loading the model")

    def test_operator_has_not_picked_it_up(self):
        assert "has not picked it up" in why_not_ready(dgd(), pods=[]).sentence

    def test_operator_creating_pods(self):
        reason = why_not_ready(dgd("initializing", "False"), pods=[])
        assert reason.sentence == "The Dynamo operator is creating its pods."

    def test_deleting(self):
        reason = why_not_ready(None, pods=[pod(terminating=True)])
        assert reason.sentence == "It is being deleted: 1 pod still shutting down."


def test_gpu_shortfall_packs_pods_like_the_scheduler():
    pending = [pod("a", gpus=4), pod("b", gpus=4), pod("c", gpus=4)]
    missing, most = gpu_shortfall(pending, nodes=[node("n1", 8), node("n2", 2)], cluster_pods=[])
    assert (missing, most) == (2, 8)
