"""The Admin role opens the Django admin for the catalog; every catalog edit is audited."""

from django.contrib.auth import get_user_model
from django.test import Client

from access.models import AuditEntry, Grant
from catalog.models import CatalogModel
from tests.factories import grant_role


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_edits_the_catalog_and_the_edit_is_audited(db):
    ana = get_user_model().objects.create_user("ana", password="unused-password-1")
    grant_role(ana, "admin")
    client = _client(ana)
    model = CatalogModel.objects.get(slug="qwen3-8b")
    page = client.get(f"/admin/catalog/catalogmodel/{model.pk}/change/")
    assert page.status_code == 200
    data = {
        field.name: field.value() if field.value() is not None else ""
        for field in page.context["adminform"].form
    }
    data["description"] = "Edited by an admin."
    data["supported_engines"] = model.supported_engines
    response = client.post(f"/admin/catalog/catalogmodel/{model.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert CatalogModel.objects.get(pk=model.pk).description == "Edited by an admin."
    entry = AuditEntry.objects.get(action="catalog-edit")
    assert (entry.actor, entry.name, entry.outcome) == ("ana", "qwen3-8b", "succeeded")
    assert "description" in entry.summary


def test_deployers_and_namespace_admins_cannot_open_the_admin(db):
    dee = get_user_model().objects.create_user("dee", password="unused-password-1")
    grant_role(dee, "deployer")
    nadia = get_user_model().objects.create_user("nadia", password="unused-password-1")
    grant_role(nadia, "admin", "dynamo")
    for user in (dee, nadia):
        response = _client(user).get("/admin/catalog/catalogmodel/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_grant_outside_the_namespaces_is_a_field_message_in_the_admin(admin_client, settings):
    settings.DYNAMOTE_NAMESPACES = ["default"]
    user = get_user_model().objects.create_user("eve", password="unused-password-1")
    response = admin_client.post(
        "/admin/access/grant/add/",
        {"user": user.pk, "role": "deployer", "namespace": "kube-system"},
    )
    assert response.status_code == 200
    assert "is not one Dynamote may use" in response.content.decode()
    assert not Grant.objects.filter(user=user, role="deployer").exists()
