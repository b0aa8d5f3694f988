"""The catalog is edited in the Django admin, and edits show on the catalog at once."""

import pytest

from catalog.models import CatalogModel

pytestmark = pytest.mark.django_db


def test_admin_lists_searches_and_filters(admin_client):
    body = admin_client.get("/admin/catalog/catalogmodel/", {"q": "coder"}).content.decode()
    assert "Qwen2.5 Coder 32B Instruct" in body and "Llama 3.3 70B Instruct" not in body
    body = admin_client.get("/admin/catalog/catalogmodel/", {"engine": "sglang"}).content.decode()
    assert "Qwen2.5 VL 7B Instruct" in body
    for column in ("column-size_label", "column-engines", "column-min_gpu_memory_gb"):
        assert column in body


def test_an_admin_edit_shows_on_the_catalog(admin_client):
    model = CatalogModel.objects.get(slug="qwen3-8b")
    url = f"/admin/catalog/catalogmodel/{model.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(description="Edited in the admin.", supported_engines=["vllm"])
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert "Edited in the admin." in admin_client.get("/models/").content.decode()


def test_admin_refuses_an_empty_engine_set(admin_client):
    model = CatalogModel.objects.get(slug="qwen3-8b")
    url = f"/admin/catalog/catalogmodel/{model.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data["supported_engines"] = []
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "supported_engines" in response.context["adminform"].form.errors
