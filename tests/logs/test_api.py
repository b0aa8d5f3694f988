"""GET /api/deployments/<name>/logs: a deployment's pod logs as text, and what it refuses."""

import asyncio
import time

import pytest

from tests.factories import grant_role
from tests.fixtures.cluster import count_from_now

from .conftest import log_reads, pods_of, scale

URL = "/api/deployments/llama/logs"


def get(client, **params):
    return client.get(URL, {"namespace": "default", **params})


def test_a_workers_log_as_text(member_client, deployed):
    worker = pods_of(deployed, "llama")[0]
    response = get(member_client, pod=worker)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert "Starting to load model Qwen/Qwen3-0.6B" in text
    assert "worker ready" in text
    tail = get(member_client, pod=worker, tailLines="2").content.decode().splitlines()
    assert tail == text.splitlines()[-2:]


def test_timestamps_and_since_seconds_reach_the_cluster(member_client, deployed):
    worker = pods_of(deployed, "llama")[0]
    recent = get(member_client, pod=worker, sinceSeconds="25", timestamps="true")
    lines = recent.content.decode().splitlines()
    assert 2 <= len(lines) <= 3
    assert all(line.split(" ", 1)[0].endswith("Z") for line in lines)
    assert all("Avg generation throughput" in line for line in lines)


def test_all_pods_of_a_component_are_interleaved_with_their_names(member_client, deployed):
    workers = pods_of(deployed, "llama")
    response = get(member_client, component="VllmWorker", tailLines="3", timestamps="true")
    assert response.status_code == 200
    lines = [line.split(" ", 2) for line in response.content.decode().splitlines()]
    assert len(lines) == 6
    assert {pod for pod, _stamp, _text in lines} == set(workers)
    # In time order across the pods, like stern.
    stamps = [stamp for _pod, stamp, _text in lines]
    assert stamps == sorted(stamps)


def test_a_pod_that_is_not_the_deployments_is_refused_before_the_cluster(member_client, deployed):
    other = pods_of(deployed, "qwen")[0]
    count_from_now(deployed)
    response = get(member_client, pod=other)
    assert response.status_code == 400
    assert response.json() == {
        "error": f"Pod {other} is not one of deployment llama's pods.",
        "fields": {"pod": [f"Pod {other} is not one of deployment llama's pods."]},
    }
    assert log_reads(deployed) == []


def test_an_unknown_container_is_refused_before_the_cluster(member_client, deployed):
    worker = pods_of(deployed, "llama")[0]
    count_from_now(deployed)
    response = get(member_client, pod=worker, container="sidecar")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "container": [f"Pod {worker} has no container sidecar; its containers: main."]
    }
    assert log_reads(deployed) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tailLines": "ten"}, "tailLines"),
        ({"tailLines": "-1"}, "tailLines"),
        ({"tailLines": "1000001"}, "tailLines"),
        ({"sinceSeconds": "0"}, "sinceSeconds"),
        ({"sinceSeconds": "1.5"}, "sinceSeconds"),
        ({"previous": "maybe"}, "previous"),
        ({"follow": "sometimes"}, "follow"),
    ],
)
def test_bad_numbers_and_flags_reach_nothing(member_client, deployed, params, field):
    worker = pods_of(deployed, "llama")[0]
    count_from_now(deployed)
    response = get(member_client, pod=worker, **params)
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert deployed.request_log == []


def test_neither_pod_nor_component_is_a_field_message(member_client, deployed):
    response = get(member_client)
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "pod": ["Choose a pod, or a component to read all its pods."]
    }


def test_previous_without_a_crash_says_so(member_client, deployed):
    worker = pods_of(deployed, "llama")[0]
    response = get(member_client, pod=worker, previous="true")
    assert response.status_code == 400
    assert response.json()["error"] == (
        f'previous terminated container "main" in pod "{worker}" not found'
    )


def test_a_viewer_elsewhere_is_refused(client, deployed, django_user_model, settings):
    settings.DYNAMOTE_DEFAULT_ROLE = ""
    outsider = django_user_model.objects.create_user("eve", password="x" * 12)
    grant_role(outsider, "viewer", namespace="dynamo")
    client.force_login(outsider)
    response = get(client, pod=pods_of(deployed, "llama")[0])
    assert response.status_code == 403
    assert "Viewer role in namespace default" in response.json()["error"]


def test_without_credentials_the_api_answers_401(client, deployed):
    assert get(client, pod="x").status_code == 401


def test_previous_without_a_crash_says_so_when_following_too(member_client, deployed):
    worker = pods_of(deployed, "llama")[0]
    response = get(member_client, pod=worker, previous="true", follow="true")
    assert response.status_code == 400
    assert "not found" in response.json()["error"]


def test_following_a_component_streams_the_pods_that_join(member_client, deployed):
    workers = pods_of(deployed, "llama")
    response = get(member_client, component="VllmWorker", follow="true", tailLines="0")
    assert response.status_code == 200

    async def read() -> list[str]:
        chunks = aiter(response.streaming_content)
        text = ""

        async def wait_for(wanted: str) -> None:
            nonlocal text
            while wanted not in text:
                text += (await asyncio.wait_for(anext(chunks), 10)).decode()

        try:
            await asyncio.to_thread(_until, lambda: deployed.api.log_streams == 2)
            await asyncio.to_thread(scale, 3)
            await asyncio.to_thread(deployed.advance, 2)
            await wait_for(" joined\n")
            await asyncio.to_thread(deployed.advance, 20)
            await wait_for("worker ready")
            assert await asyncio.to_thread(_until, lambda: deployed.api.log_streams == 3)
        finally:
            await chunks.aclose()
        return text.splitlines()

    lines = asyncio.run(read())
    (new,) = set(pods_of(deployed, "llama")) - set(workers)
    assert lines[0] == f"+ pod {new} joined"
    assert all(line.startswith(f"{new} ") for line in lines[1:])
    assert any("Starting to load model" in line for line in lines)  # from its first line
    assert _until(lambda: deployed.api.log_streams == 0), deployed.api.log_streams


def _until(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not check():
        time.sleep(0.05)
    return check()
