"""The Logs section's page (without JavaScript) and its live stream's refusals."""

import asyncio
import json

import pytest

from deployments import cluster
from tests.dashboard.conftest import dgd_manifest
from tests.factories import grant_role
from tests.fixtures.cluster import count_from_now

from .conftest import log_reads, pods_of

PANEL = "/deployments/default/llama/logs/"
STREAM = "/deployments/default/llama/logs/stream"


async def _collect(chunks) -> bytes:
    return b"".join([chunk async for chunk in chunks])


def test_the_details_page_links_its_logs(member_client, deployed):
    html = member_client.get("/deployments/default/llama/").content.decode()
    assert 'href="#logs"' in html
    assert f'hx-get="{PANEL}"' in html


def test_the_panel_offers_components_pods_and_containers(member_client, deployed):
    response = member_client.get(PANEL, headers={"HX-Request": "true"})
    choices = response.context_data["choices"]
    assert choices.components == ["Frontend", "VllmWorker"]
    workers = [p for p in choices.pods if p.component == "VllmWorker"]
    assert [p.name for p in workers] == pods_of(deployed, "llama")
    assert all(p.containers == ("main",) for p in workers)


def test_without_javascript_the_form_reads_all_pods_of_a_component(member_client, deployed):
    response = member_client.get(PANEL, {"component": "VllmWorker", "tailLines": "2"})
    lines = response.context_data["lines"]
    assert len(lines) == 4
    assert {line.pod for line in lines} == set(pods_of(deployed, "llama"))
    assert response.context_data["several"] is True


def test_a_bad_number_is_a_field_message_and_reads_no_log(member_client, deployed):
    count_from_now(deployed)
    response = member_client.get(PANEL, {"component": "VllmWorker", "tailLines": "lots"})
    assert response.context_data["errors"] == {
        "tailLines": ["tailLines must be a whole number of at least 0, got 'lots'."]
    }
    assert "tailLines must be a whole number" in response.content.decode()
    assert log_reads(deployed) == []


def test_the_stream_refuses_a_pod_of_another_deployment_as_an_event(member_client, deployed):
    other = pods_of(deployed, "qwen")[0]
    count_from_now(deployed)
    response = member_client.get(STREAM, {"pod": other})
    assert response["Content-Type"] == "text/event-stream"
    body = asyncio.run(_collect(response.streaming_content)).decode()
    assert "event: problem" in body
    assert f"Pod {other} is not one of deployment llama" in body
    assert log_reads(deployed) == []


def test_the_stream_needs_the_viewer_role_in_the_namespace(
    client, deployed, django_user_model, settings
):
    settings.DYNAMOTE_DEFAULT_ROLE = ""
    outsider = django_user_model.objects.create_user("eve", password="x" * 12)
    grant_role(outsider, "viewer", namespace="dynamo")
    client.force_login(outsider)
    count_from_now(deployed)
    assert client.get(STREAM, {"component": "VllmWorker"}).status_code == 403
    assert client.get(PANEL).status_code == 403
    assert log_reads(deployed) == []


def _events(response) -> list[tuple[str, dict]]:
    """The stream's events as (name, data), the unnamed ones as "line"."""
    body = asyncio.run(_collect(response.streaming_content)).decode()
    found = []
    for block in body.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and line[0] != ":"
        )
        if "data" in fields:
            found.append((fields.get("event", "line"), json.loads(fields["data"])))
    return found


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"tailLines": "ten"}, "tailLines", "tailLines must be a whole number of at least 0"),
        ({"tailLines": "-5"}, "tailLines", "tailLines must be a whole number of at least 0"),
        (
            {"sinceSeconds": "0"},
            "sinceSeconds",
            "sinceSeconds must be a whole number of at least 1",
        ),
        ({"sinceSeconds": "soon"}, "sinceSeconds", "sinceSeconds must be a whole number"),
        ({"container": "sidecar"}, "container", "has no container sidecar; its containers: main."),
        ({"timestamps": "perhaps"}, "timestamps", "timestamps must be true or false"),
    ],
)
def test_the_stream_refuses_bad_input_next_to_its_field_before_the_cluster(
    member_client, deployed, params, field, message
):
    worker = pods_of(deployed, "llama")[0]
    count_from_now(deployed)
    response = member_client.get(STREAM, {"pod": worker, **params})
    assert response.status_code == 200
    ((kind, data),) = _events(response)
    assert kind == "problem"
    assert message in data["message"]
    assert list(data["fields"]) == [field]
    assert message in data["fields"][field][0]
    assert log_reads(deployed) == []


def test_the_stream_says_a_pod_never_crashed_when_asked_for_its_previous_run(
    member_client, deployed
):
    worker = pods_of(deployed, "llama")[0]
    response = member_client.get(STREAM, {"pod": worker, "previous": "true"})
    ((kind, data),) = _events(response)
    assert (kind, data["message"]) == (
        "problem",
        f'No log: previous terminated container "main" in pod "{worker}" not found',
    )


def test_the_stream_sends_a_previous_run_in_full_then_ends(member_client, cluster_sandbox):
    manifest = dgd_manifest("llama")
    worker_spec = manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    worker_spec["args"] += ["--bogus-flag"]
    cluster.dgd_create(manifest=manifest)
    cluster_sandbox.advance(30)  # it crashed and restarted
    (worker,) = pods_of(cluster_sandbox, "llama")
    events = _events(member_client.get(STREAM, {"pod": worker, "previous": "true"}))
    assert events[0][0] == "start"
    assert events[-1] == ("end", {"message": "The previous run's log, in full."})
    texts = [data["text"] for kind, data in events if kind == "line"]
    assert texts[-1] == "__main__.py: error: unrecognized arguments: --bogus-flag"
