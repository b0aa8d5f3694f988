"""The RBAC rules in deploy/ are exactly enough: the full flow works with them, and each one
is needed by a feature that fails with Dynamote's "forbidden" message without it."""

import html
from pathlib import Path

import pytest

from sandbox import rules_from_role
from tests.deploy.conftest import form_data

ROLE = Path(__file__).resolve().parents[2] / "deploy" / "clusterrole.yaml"
RULES = rules_from_role(ROLE)
HTMX = {"HX-Request": "true"}
NAME = "least-privilege"

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _deploy_page(client) -> str:
    return _text(client.get("/deployments/new/", {"model": "qwen3-8b"}))


def _create(client) -> None:
    response = client.post("/deployments/new/", form_data(name=NAME, idempotency_key=NAME))
    assert response.status_code == 302, _text(response)[:3000]


def _table(client) -> str:
    return _text(client.get("/deployments/", headers=HTMX))


def _detail(client) -> str:
    return _text(client.get(f"/deployments/default/{NAME}/"))


@pytest.fixture
def least_privileged(make_sandbox, use_cluster):
    """A sandbox that grants Dynamote exactly the rules of deploy/clusterrole.yaml."""

    def start(rules: list[dict]):
        sandbox = make_sandbox()
        sandbox.set_permissions(rules)
        use_cluster(sandbox)
        return sandbox

    return start


def test_the_role_has_the_rules_this_test_knows():
    described = {(tuple(rule["apiGroups"]), tuple(rule["resources"])) for rule in RULES}
    assert described == {
        (("nvidia.com",), ("dynamographdeployments",)),
        (("apiextensions.k8s.io",), ("customresourcedefinitions",)),
        (("",), ("namespaces",)),
        (("",), ("nodes",)),
        (("",), ("persistentvolumeclaims",)),
        (("",), ("pods",)),
        (("",), ("pods/log",)),
        (("",), ("services/proxy",)),
        (("",), ("pods/proxy",)),
        (("",), ("events",)),
        (("",), ("secrets",)),
    }


def test_the_full_flow_works_with_exactly_the_deployed_rules(member_client, least_privileged):
    sandbox = least_privileged(RULES)
    pages = [_text(member_client.get("/models/"))]

    form = _deploy_page(member_client)
    assert "Fits:" in form
    assert "Secret hf-token-secret exists in default" in form
    assert '<option value="dynamo"' in form  # the namespaces were listed
    assert "the version the cluster prefers" in form
    assert '<option value="model-cache"' in form  # the claims were listed
    assert '<option value="NVIDIA-L40S"' in form  # and the nodes' GPU types
    pages.append(form)

    _create(member_client)
    assert sandbox.get("dgd", "default", NAME) is not None
    pages.append(_table(member_client))
    sandbox.advance(120)
    detail = _detail(member_client)
    assert "Ready" in detail and "Events" in detail
    pages.append(detail)

    tab = _text(member_client.get(f"/deployments/default/{NAME}/try/", headers=HTMX))
    assert "Qwen/Qwen3-8B" in tab  # /v1/models through the service proxy
    chat = member_client.post(
        f"/api/deployments/{NAME}/chat?namespace=default",
        {"messages": [{"role": "user", "content": "Hello"}], "max_tokens": 4},
        content_type="application/json",
    )
    assert chat.status_code == 200, chat.content
    pages.append(tab)

    response = member_client.post(f"/deployments/default/{NAME}/delete/", {"confirm": NAME})
    assert response.status_code in (200, 302)
    sandbox.advance(60)
    assert sandbox.get("dgd", "default", NAME) is None
    for page in pages:
        assert "Forbidden" not in page and "forbidden" not in page


def _without(resource: str) -> list[dict]:
    return [rule for rule in RULES if resource not in rule["resources"]]


def _forbidden(verb: str, resource: str) -> str:
    return f"Forbidden: Dynamote may not {verb} {resource}"


def test_without_the_dgd_rule_the_dashboard_says_what_is_forbidden(member_client, least_privileged):
    least_privileged(_without("dynamographdeployments"))
    assert _forbidden("list", "dynamographdeployments") in _table(member_client)


def test_without_the_crd_rule_the_deploy_form_says_what_is_forbidden(
    member_client, least_privileged
):
    least_privileged(_without("customresourcedefinitions"))
    assert _forbidden("get", "customresourcedefinitions") in _deploy_page(member_client)


def test_without_the_namespaces_rule_the_namespace_choice_says_what_is_forbidden(
    member_client, least_privileged
):
    least_privileged(_without("namespaces"))
    assert _forbidden("list", "namespaces") in _deploy_page(member_client)


def test_without_the_nodes_rule_the_gpu_fit_says_what_is_forbidden(member_client, least_privileged):
    least_privileged(_without("nodes"))
    page = _deploy_page(member_client)
    assert "The fit could not be checked" in page
    assert _forbidden("list", "nodes") in page


def test_without_the_claims_rule_the_model_cache_is_typed_and_says_why(
    member_client, least_privileged
):
    sandbox = least_privileged(_without("persistentvolumeclaims"))
    page = _deploy_page(member_client)
    assert _forbidden("list", "persistentvolumeclaims") in page
    assert 'name="model_cache"' in page and '<select name="model_cache"' not in page
    # A typed claim is not claimed missing: the cluster could not say, so the deploy goes on.
    response = member_client.post(
        "/deployments/new/", form_data(name=NAME, idempotency_key=NAME, model_cache="model-cache")
    )
    assert response.status_code == 302, _text(response)[:3000]
    created = sandbox.get("dgd", "default", NAME)
    pod = created["spec"]["components"][1]["podTemplate"]["spec"]
    assert pod["volumes"][0]["persistentVolumeClaim"] == {"claimName": "model-cache"}


def test_without_the_pods_rule_the_dashboard_says_what_is_forbidden(
    member_client, least_privileged
):
    least_privileged(_without("pods"))
    assert _forbidden("list", "pods") in _table(member_client)


def test_without_the_events_rule_the_details_say_what_is_forbidden(member_client, least_privileged):
    least_privileged(_without("events"))
    _create(member_client)
    assert _forbidden("list", "events") in _detail(member_client)


def test_without_the_secrets_rule_the_secret_check_says_what_is_forbidden(
    member_client, least_privileged
):
    least_privileged(_without("secrets"))
    assert _forbidden("get", "secrets") in _deploy_page(member_client)


def test_without_the_pod_log_rule_a_crash_loop_says_what_is_forbidden(
    member_client, least_privileged
):
    sandbox = least_privileged(_without("pods/log"))
    response = member_client.post(
        "/deployments/new/",
        form_data(name=NAME, idempotency_key=NAME, engine_args="--bogus-flag"),
    )
    assert response.status_code == 302, _text(response)[:3000]
    sandbox.advance(120)
    assert _forbidden("get", "pods/log") in _detail(member_client)


def test_without_the_service_proxy_rule_the_try_tab_says_what_is_forbidden(
    member_client, least_privileged
):
    sandbox = least_privileged(_without("services/proxy"))
    _create(member_client)
    sandbox.advance(120)
    tab = _text(member_client.get(f"/deployments/default/{NAME}/try/", headers=HTMX))
    assert _forbidden("get", "services/proxy") in tab
    chat = member_client.post(
        f"/api/deployments/{NAME}/chat?namespace=default",
        {"messages": [{"role": "user", "content": "Hello"}]},
        content_type="application/json",
    )
    assert chat.status_code == 403
    assert chat.json()["error"].startswith(_forbidden("create", "services/proxy"))


def test_without_the_pod_proxy_rule_a_workers_metrics_are_forbidden(
    member_client, least_privileged
):
    from deployments import cluster
    from deployments.cluster import Forbidden

    sandbox = least_privileged(_without("pods/proxy"))
    _create(member_client)
    sandbox.advance(120)
    worker = next(
        p["metadata"]["name"]
        for p in sandbox.list("pods", "default")
        if "worker" in p["metadata"]["name"]
    )
    with pytest.raises(Forbidden) as refused:
        cluster.pod_proxy_get(namespace="default", pod=worker, port=9090, path="/metrics")
    assert refused.value.message.startswith(_forbidden("get", "pods/proxy"))
    sandbox.set_permissions(RULES)
    answer = cluster.pod_proxy_get(namespace="default", pod=worker, port=9090, path="/metrics")
    assert b"dynamo_component_requests_total" in answer.read()


def _worker(sandbox) -> str:
    return next(
        e.obj["metadata"]["name"]
        for e in sandbox.api.store.entries("pods")
        if e.obj["metadata"]["labels"].get("nvidia.com/dynamo-component") == "VllmWorker"
    )


def test_logs_and_the_cluster_page_work_with_exactly_the_deployed_rules(
    member_client, least_privileged
):
    sandbox = least_privileged(RULES)
    _create(member_client)
    sandbox.advance(120)
    worker = _worker(sandbox)
    logs = member_client.get(f"/api/deployments/{NAME}/logs?namespace=default&pod={worker}")
    assert logs.status_code == 200, logs.content[:500]
    assert "Loading safetensors checkpoint shards" in logs.content.decode()
    followed = member_client.get(
        f"/api/deployments/{NAME}/logs?namespace=default&component=VllmWorker&tailLines=1"
    )
    assert followed.status_code == 200
    capacity = member_client.get("/api/cluster/capacity").json()
    held = [h for n in capacity["nodes"] for h in n["holders"] if h["deployment"] == NAME]
    assert sum(h["gpus"] for h in held) >= 1


def test_without_the_pod_log_rule_the_logs_say_what_is_forbidden(member_client, least_privileged):
    sandbox = least_privileged(_without("pods/log"))
    _create(member_client)
    sandbox.advance(120)
    worker = _worker(sandbox)
    response = member_client.get(f"/api/deployments/{NAME}/logs?namespace=default&pod={worker}")
    assert response.status_code == 403
    assert _forbidden("get", "pods/log") in response.json()["error"]
