"""The Logs section's page (without JavaScript) and its live stream's refusals."""

import asyncio

from tests.factories import grant_role

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
    deployed.reset_counters()
    response = member_client.get(PANEL, {"component": "VllmWorker", "tailLines": "lots"})
    assert response.context_data["errors"] == {
        "tailLines": ["tailLines must be a whole number of at least 0, got 'lots'."]
    }
    assert "tailLines must be a whole number" in response.content.decode()
    assert log_reads(deployed) == []


def test_the_stream_refuses_a_pod_of_another_deployment_as_an_event(member_client, deployed):
    other = pods_of(deployed, "qwen")[0]
    deployed.reset_counters()
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
    deployed.reset_counters()
    assert client.get(STREAM, {"component": "VllmWorker"}).status_code == 403
    assert client.get(PANEL).status_code == 403
    assert log_reads(deployed) == []
