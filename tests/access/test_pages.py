"""The Access, API tokens and Audit pages, and the deployment's activity."""

import csv
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from access.models import ApiToken, AuditEntry, Grant
from access.tokens import create_token
from tests.factories import grant_role


@pytest.fixture
def admin(db):
    user = get_user_model().objects.create_user("ana", password="unused-password-1")
    grant_role(user, "admin")
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_grants_and_revokes_on_the_access_page(admin, member):
    response = admin.post(
        "/access/", {"subject": "grace", "role": "admin", "namespace": "dynamo"}, follow=True
    )
    assert "Granted grace: Admin in namespace dynamo." in response.content.decode()
    grant = Grant.objects.get(user=member, namespace="dynamo")
    response = admin.post(f"/access/{grant.pk}/revoke/", follow=True)
    assert "Revoked grace: Admin in namespace dynamo." in response.content.decode()
    assert not Grant.objects.filter(pk=grant.pk).exists()
    assert list(AuditEntry.objects.filter(action__in=["grant", "revoke"]).values_list("actor")) == [
        ("ana",),
        ("ana",),
    ]


def test_bad_grants_get_field_messages_and_change_nothing(admin, settings):
    settings.DYNAMOTE_NAMESPACES = ["default"]
    before = Grant.objects.count()
    response = admin.post(
        "/access/", {"subject": "nobody", "role": "boss", "namespace": "kube-system"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "There is no user &#x27;nobody&#x27;." in html
    assert "Select a valid choice." in html
    assert "Namespace &#x27;kube-system&#x27; is not one Dynamote may use" in html
    assert Grant.objects.count() == before


def test_only_admins_open_access_and_audit(member_client):
    for url in ["/access/", "/audit/", "/api/audit"]:
        response = member_client.get(url)
        assert response.status_code == 403, url
    assert (
        "You need the Admin role in every namespace"
        in member_client.get("/access/").content.decode()
    )
    assert member_client.get("/api/audit").json()["error"].startswith("You need the Admin role")


def test_an_admin_in_one_namespace_cannot_manage_roles(db):
    user = get_user_model().objects.create_user("nadia", password="unused-password-1")
    grant_role(user, "admin", "dynamo")
    client = Client()
    client.force_login(user)
    assert client.post("/access/", {"subject": "nadia", "role": "admin"}).status_code == 403
    assert not Grant.objects.filter(user=user, namespace="").exclude(role="viewer").exists()


def test_a_token_is_shown_once_and_works(member_client, member, cluster_sandbox):
    response = member_client.post(
        "/account/tokens/", {"name": "ci", "expires_days": "30", "read_only": "on"}
    )
    assert response.status_code == 201 and response["Cache-Control"] == "no-store"
    token = response.context["created"]
    assert token in response.content.decode()
    page = member_client.get("/account/tokens/").content.decode()
    assert token not in page and "ci" in page and "Read-only" in page
    assert (
        Client().get("/api/deployments", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )


def test_a_token_form_with_bad_values_says_why(member_client, member):
    create_token(member, name="ci")
    response = member_client.post("/account/tokens/", {"name": "ci", "expires_days": "0"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "You already have an active token with this name." in html
    assert "Ensure this value is greater than or equal to 1." in html


def test_only_the_owner_or_an_admin_revokes_a_token(member_client, member, admin):
    other = get_user_model().objects.create_user("eve", password="unused-password-1")
    record, _ = create_token(other, name="eve-ci")
    assert member_client.post(f"/account/tokens/{record.pk}/revoke/").status_code == 403
    assert ApiToken.objects.get(pk=record.pk).revoked is None
    assert admin.post(f"/account/tokens/{record.pk}/revoke/").status_code == 302
    assert ApiToken.objects.get(pk=record.pk).revoked is not None


def test_the_audit_page_filters_and_exports(admin):
    AuditEntry.objects.create(action="deploy", actor="grace", namespace="default", name="a")
    AuditEntry.objects.create(action="delete", actor="ada", namespace="dynamo", name="b")
    html = admin.get("/audit/?actor=grace").content.decode()
    assert "default/a" in html and "dynamo/b" not in html
    exported = admin.get("/audit/?namespace=dynamo&format=csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert [(r["actor"], r["name"]) for r in rows] == [("ada", "b")]
    data = json.loads(admin.get("/audit/?action=deploy&format=json").content)
    assert [e["name"] for e in data["entries"]] == ["a"]
    api = admin.get("/api/audit?outcome=pending&actor=ada").json()
    assert [e["action"] for e in api["entries"]] == ["delete"]


def test_a_bad_audit_filter_is_a_field_message(admin):
    response = admin.get("/audit/?since=yesterday")
    assert response.status_code == 400 and "Enter a valid date/time." in response.content.decode()
    api = admin.get("/api/audit?since=yesterday")
    assert api.status_code == 400 and "since" in api.json()["fields"]


def test_csv_cells_never_run_as_formulas(admin):
    AuditEntry.objects.create(action="deploy", actor="=HYPERLINK(1)", summary="")
    text = admin.get("/audit/?format=csv").content.decode()
    assert "'=HYPERLINK(1)" in text


def test_the_details_page_shows_the_deployments_activity(member_client, cluster_sandbox):
    body = json.dumps({"modelId": "qwen3-8b", "name": "qwen-a"})
    member_client.post("/api/deployments", body, content_type="application/json")
    html = member_client.get("/deployments/default/qwen-a/").content.decode()
    assert "Activity" in html and "deploy" in html and "Succeeded" in html


def test_pages_link_admin_pages_only_for_admins(member_client, admin):
    assert 'href="/access/"' not in member_client.get("/").content.decode()
    assert 'href="/account/tokens/"' in member_client.get("/").content.decode()
    assert 'href="/access/"' in admin.get("/").content.decode()
