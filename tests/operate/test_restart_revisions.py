"""A restart is stored as a revision, listed with the others; rolling back to one is refused."""

import json

from django.urls import reverse

from deployments.models import Revision

DETAIL = "/deployments/default/qwen/"
RESTART = "/deployments/default/qwen/restart/"


def restart(member_client, component: str = "") -> None:
    response = member_client.post(RESTART, {"component": component})
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_restart_is_a_revision_with_who_when_and_outcome(member, member_client, disagg):
    restart(member_client)
    latest = Revision.objects.first()
    assert (latest.number, latest.action, latest.user, latest.outcome) == (
        2,
        "restart",
        member,
        "succeeded",
    )
    assert latest.source == "dynamote"
    assert latest.generation == disagg.get("dgd", "default", "qwen")["metadata"]["generation"]
    page = member_client.get(DETAIL)
    # Dynamote's own restart is not mistaken for a change made outside Dynamote.
    assert page.context["changed_outside"] is None
    assert [r.action for r in page.context["history"]] == ["restart", "create"]
    assert Revision.objects.count() == 2


def test_a_component_restart_is_a_revision_too(member_client, disagg):
    dgd = disagg.get("dgd", "default", "qwen")
    decode = next(c["name"] for c in dgd["spec"]["components"] if "Decode" in c["name"])
    restart(member_client, decode)
    latest = Revision.objects.first()
    assert latest.action == "restart"
    assert any(decode in sentence for sentence in latest.summary)


def test_rolling_back_to_a_restart_revision_is_not_offered(member_client, disagg):
    restart(member_client)
    page = member_client.get(reverse("deployments:revision", args=["default", "qwen", 2]))
    assert page.status_code == 200
    assert b"data-no-rollback" in page.content
    assert page.context["no_rollback"].startswith("A restart changes no configuration")
    refused = member_client.post(reverse("deployments:rollback", args=["default", "qwen", 2]))
    assert refused.status_code == 400
    assert "nothing to roll back to" in refused.context["refused"].message
    api = member_client.post(
        "/api/deployments/qwen/rollback?namespace=default",
        json.dumps({"revision": 2}),
        content_type="application/json",
    )
    assert api.status_code == 400
    assert api.json()["fields"]["revision"][0].startswith("A restart changes no configuration")
    listed = member_client.get("/api/deployments/qwen/revisions?namespace=default").json()
    assert [(r["action"], r["canRollBack"]) for r in listed["revisions"]] == [
        ("restart", False),
        ("create", True),
    ]
    # Revision 1 is still one to roll back to.
    assert Revision.objects.count() == 2
