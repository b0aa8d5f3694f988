"""The catalog page, its search and filters, the JSON API and the shell around them."""

import re

import pytest
from django.urls import reverse

from tests.factories import catalog_model

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _card_names(response) -> list[str]:
    return re.findall(r'data-model-card="([^"]+)"', response.content.decode())


def test_home_page_is_the_catalog(member_client):
    response = member_client.get("/")
    assert response.status_code == 200
    assert len(_card_names(response)) == 8
    assert "8 models" in response.content.decode()


def test_search_matches_name_repo_description_and_task(member_client):
    assert _card_names(member_client.get("/models/", {"q": "coder"})) == [
        "qwen2-5-coder-32b-instruct"
    ]
    assert _card_names(member_client.get("/models/", {"q": "meta-llama"})) == [
        "llama-3-1-8b-instruct",
        "llama-3-3-70b-instruct",
    ]
    assert "qwen2-5-vl-7b-instruct" in _card_names(
        member_client.get("/models/", {"q": "vision-language"})
    )
    assert "gpt-oss-20b" in _card_names(member_client.get("/models/", {"q": "reasoning"}))


def test_engine_filters_combine_with_search(member_client):
    both = catalog_model(name="Searchable Two", supported_engines=["vllm", "sglang"])
    catalog_model(name="Searchable One", supported_engines=["vllm"])
    response = member_client.get("/models/", {"q": "searchable", "engine": ["vllm", "sglang"]})
    assert _card_names(response) == [both.slug]
    assert "1 model matches" in response.content.decode()


def test_an_unknown_engine_filter_is_ignored(member_client):
    assert len(_card_names(member_client.get("/models/", {"engine": "tgi"}))) == 8


def test_empty_results_offer_to_clear_filters(member_client):
    body = member_client.get("/models/", {"q": "no-such-model"}).content.decode()
    assert "No models match these filters." in body
    assert 'href="/models/"' in body and "Clear filters" in body


def test_htmx_search_returns_only_the_results_partial(member_client):
    response = member_client.get("/models/", {"q": "qwen3"}, headers=HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="results"')
    assert "<html" not in body
    assert _card_names(response) == ["qwen3-0-6b", "qwen3-8b"]
    assert "HX-Request" in response["Vary"]


def test_the_search_form_works_without_javascript(member_client):
    body = member_client.get("/models/", {"q": "qwen3"}).content.decode()
    assert '<form method="get" action="/models/"' in body
    assert 'value="qwen3"' in body
    assert 'hx-push-url="true"' in body


def test_deploy_button_links_to_the_deploy_page(member_client):
    body = member_client.get("/models/").content.decode()
    assert 'href="/deployments/new/?model=qwen3-8b"' in body
    assert member_client.get("/deployments/new/?model=qwen3-8b").status_code == 200


def test_unpublished_models_are_not_shown(member_client):
    hidden = catalog_model(published=False)
    assert hidden.slug not in _card_names(member_client.get("/models/"))


def test_gated_models_are_marked(member_client):
    body = member_client.get("/models/", {"q": "Llama 3.3"}).content.decode()
    assert ">Gated</span>" in body


def test_api_lists_models_with_the_seed_field_names(member_client):
    models = member_client.get("/api/models").json()["models"]
    assert len(models) == 8
    qwen = next(model for model in models if model["id"] == "qwen3-8b")
    assert {
        "id",
        "name",
        "description",
        "size",
        "task",
        "contextLength",
        "supportedEngines",
        "minGpuMemory",
        "parameters",
        "license",
    } <= set(qwen)
    assert qwen["contextLength"] == 32768
    assert qwen["supportedEngines"] == ["vllm", "sglang", "trtllm"]


def test_api_detail_and_json_404(member_client):
    gpt_oss = member_client.get("/api/models/gpt-oss-20b").json()
    # 21 B parameters in MXFP4 (0.62 bytes each) plus 20 % headroom.
    assert (gpt_oss["minGpuMemory"], gpt_oss["weightFormat"]) == (16, "mxfp4")
    response = member_client.get("/api/models/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "No catalog model with id 'nope'.", "fields": {}}


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/models/",
        "/deployments/",
        "/deployments/new/",
        "/deployments/default/some-model/",
        "/deployments/default/some-model/delete/",
        "/api/models",
        "/api/models/qwen3-8b",
        "/api/deployments",
        "/api/deployments/some-model",
        "/api/deployments/some-model/pods",
        "/api/cluster/status",
    ],
)
def test_every_page_requires_login(client, url):
    response = client.get(url)
    if url.startswith("/api/"):
        assert response.status_code == 401
        assert "log in" in response.json()["error"]
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_health_needs_no_login(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_login_page_logs_in_and_logout_logs_out(client, member):
    assert "Log in" in client.get("/login/").content.decode()
    response = client.post("/login/", {"username": "grace", "password": "grace-password-1"})
    assert response.status_code == 302 and response["Location"] == "/models/"
    body = client.get("/models/").content.decode()
    assert "grace" in body and "Log out" in body
    client.post("/logout/")
    assert client.get("/models/").status_code == 302


def test_wrong_password_says_so(client, member):
    body = client.post("/login/", {"username": "grace", "password": "nope"}).content.decode()
    assert "Please enter a correct username and password" in body


def test_sidebar_highlights_the_current_section(member_client):
    body = member_client.get("/models/").content.decode()
    current = re.search(r'<a href="([^"]+)" aria-current="page"', body)
    assert current and current.group(1) == "/models/"


def test_htmx_requests_carry_the_csrf_token(member_client):
    body = member_client.get("/models/").content.decode()
    assert re.search(r"hx-headers='\{\"X-CSRFToken\": \"[A-Za-z0-9]{32,}\"\}'", body)
    assert "/static/django_htmx/htmx-2.min.js" in body


def test_no_page_references_an_external_url(member_client, admin_client, cluster_sandbox):
    member_client.post(
        "/api/deployments",
        {"modelId": "qwen3-8b", "name": "offline"},
        content_type="application/json",
    )
    cluster_sandbox.advance(30)
    pages = [
        "/models/",
        "/models/?q=zzz",
        "/deployments/?wait=1",
        "/deployments/new/?model=qwen3-8b",
        "/deployments/default/offline/",
        "/deployments/default/offline/delete/",
    ]
    bodies = [member_client.get(url).content.decode() for url in pages]
    assert "offline" in bodies[2] and "How to reach it" in bodies[4]
    bodies.append(member_client.get("/models/", headers=HTMX).content.decode())
    bodies.append(member_client.get("/deployments/", headers=HTMX).content.decode())
    bodies.append(admin_client.get("/admin/catalog/catalogmodel/").content.decode())
    member_client.logout()
    bodies.append(member_client.get("/login/").content.decode())
    for body in bodies:
        external = re.findall(r'(?:src|href|action)="((?:https?:)?//[^"]+)"', body)
        assert external == []
