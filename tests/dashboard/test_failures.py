"""The details page explains the sandbox's image pull failures and crash loops."""

import html as html_lib
import re

import pytest

from deployments import cluster, mirror
from tests.deploy.conftest import NEW_URL, form_data

from .conftest import dgd_manifest
from .test_dashboard import badge, table

MISSING = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:9.9.9"
UNRECOGNIZED = "__main__.py: error: unrecognized arguments: --bogus-flag"


@pytest.fixture(autouse=True)
def no_ttl(monkeypatch):
    """Every read asks the sandbox, so each step of a test sees the cluster as it is."""
    monkeypatch.setattr(mirror, "LIST_TTL", 0)


def detail(client, name: str) -> str:
    response = client.get(f"/deployments/default/{name}/")
    assert response.status_code == 200
    return response.content.decode()


def why_not_ready(client, name: str) -> str:
    """The "Why not ready" section as text: the sentence, then any log lines."""
    section = re.search(r"<section[^>]*data-why-not-ready.*?</section>", detail(client, name), re.S)
    assert section, "the page has no Why not ready section"
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", section.group(0)))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def create_with_worker_args(name: str, *args: str) -> None:
    manifest = dgd_manifest(name)
    worker = manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    worker["args"] = [*worker["args"], *args]
    cluster.dgd_create(manifest=manifest)


def test_an_image_that_cannot_be_pulled_is_named(member_client, cluster_sandbox, create_dgd):
    create_dgd("ghost", image=MISSING)
    cluster_sandbox.advance(1)  # the operator creates the pods, which start pulling
    cluster_sandbox.advance(2)  # the first pull fails: ErrImagePull
    why = why_not_ready(member_client, "ghost")
    assert f'The image "{MISSING}" cannot be pulled (ErrImagePull): rpc error: ' in why
    assert badge(table(member_client), "ghost") == "failed"

    cluster_sandbox.advance(4)  # between retries: ImagePullBackOff, with the pull's error
    why = why_not_ready(member_client, "ghost")
    assert (
        f'The image "{MISSING}" cannot be pulled (ImagePullBackOff): rpc error: code = NotFound '
        f'desc = failed to pull and unpack image "{MISSING}": not found. '
        "Check the image name and tag"
    ) in why
    page = detail(member_client, "ghost")
    assert "ImagePullBackOff" in page  # the pods table
    assert "Back-off pulling image" in html_lib.unescape(page)  # the events
    row = table(member_client).split('data-deployment="default/ghost"')[1].split("</tr>")[0]
    assert "cannot be pulled" in html_lib.unescape(row)

    cluster_sandbox.advance(120)  # it never recovers by itself
    assert badge(table(member_client), "ghost") == "failed"
    assert f'The image "{MISSING}" cannot be pulled' in why_not_ready(member_client, "ghost")


def test_a_crash_loop_shows_the_last_log_lines(member_client, cluster_sandbox):
    create_with_worker_args("bogus", "--bogus-flag")
    cluster_sandbox.advance(16)  # exited twice; backing off 10 s before the next restart
    why = why_not_ready(member_client, "bogus")
    assert re.search(
        r"Pod bogus-vllmworker-\S+ \(VllmWorker\) keeps crashing: restarted 1 time, "
        r"last exit code 2; its last log lines are below\.",
        why,
    ), why
    assert why.splitlines()[-1] == UNRECOGNIZED
    assert "usage: __main__.py [-h] [--model MODEL]" in why
    assert badge(table(member_client), "bogus") == "failed"
    assert "CrashLoopBackOff" in detail(member_client, "bogus")

    cluster_sandbox.advance(80)  # more restarts, each after a longer back-off
    why = why_not_ready(member_client, "bogus")
    restarts = int(re.search(r"restarted (\d+) times", why).group(1))
    assert restarts >= 3
    assert why.splitlines()[-1] == UNRECOGNIZED


def test_an_unknown_engine_argument_from_the_deploy_form_crash_loops(
    member_client, cluster_sandbox
):
    response = member_client.post(
        NEW_URL,
        form_data(
            idempotency_key="bogus", name="bogus", engine_args="--max-num-seqs 64 --bogus-flag"
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    cluster_sandbox.advance(60)
    why = why_not_ready(member_client, "bogus")
    assert "keeps crashing" in why and "last exit code 2" in why
    assert why.splitlines()[-1] == UNRECOGNIZED


def test_an_unknown_image_from_the_deploy_form_fails_to_pull(member_client, cluster_sandbox):
    response = member_client.post(
        NEW_URL, form_data(idempotency_key="ghost", name="ghost", image=MISSING)
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    cluster_sandbox.advance(30)
    why = why_not_ready(member_client, "ghost")
    assert f'The image "{MISSING}" cannot be pulled' in why
    assert "not found" in why


def test_known_engine_arguments_from_the_deploy_form_reach_ready(member_client, cluster_sandbox):
    response = member_client.post(
        NEW_URL,
        form_data(
            idempotency_key="good",
            name="good",
            engine_args="--max-num-seqs 64 --gpu-memory-utilization=0.85 --enable-chunked-prefill",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    cluster_sandbox.advance(90)
    assert badge(table(member_client), "good") == "ready"
    assert "Ready: every component is serving" in detail(member_client, "good")


def test_a_restarted_worker_still_shows_why_it_crashed(member_client, cluster_sandbox):
    create_with_worker_args("again", "--bogus-flag")

    def worker_running_after_a_restart() -> bool:
        for pod in cluster_sandbox.list("pods", "default"):
            if pod["metadata"]["name"].startswith("again-vllmworker"):
                status = pod["status"]["containerStatuses"][0]
                return status["restartCount"] >= 1 and "running" in status["state"]
        return False

    for _ in range(120):
        if worker_running_after_a_restart():
            break
        cluster_sandbox.advance(0.5)
    else:
        pytest.fail("the worker never ran again after crashing")
    # The current run has not failed yet: the lines that explain the crash are the last run's.
    assert why_not_ready(member_client, "again").splitlines()[-1] == UNRECOGNIZED
