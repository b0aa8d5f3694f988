"""The deploy form's token Secret check answers only about a valid Secret name in a namespace
Dynamote may use; anything else is "invalid" and no request reaches the cluster."""

import pytest

from tests.deploy.conftest import NEW_URL, form_data
from tests.fixtures.cluster import count_from_now

HTMX = {"HX-Request": "true"}
HOSTILE = [
    ("default", "x/../hf-token-secret"),
    ("default", "hf-token-secret?limit=1"),
    ("default", "hf-token-secret#"),
    ("default", "hf-token-secret/"),
    ("default", ".."),
    ("default", "."),
    ("default", "HF-TOKEN-SECRET"),
    ("default", "a" * 254),
    ("kube-system/secrets/hf-token-secret#", "x"),
    ("default/secrets/hf-token-secret?", "x"),
    ("..", "hf-token-secret"),
    ("DEFAULT", "hf-token-secret"),
]

pytestmark = pytest.mark.django_db


def check(client, namespace: str, name: str):
    response = client.get(
        NEW_URL, form_data(namespace=namespace, hf_token_secret=name), headers=HTMX
    )
    return response.context["secret"]


def secret_requests(sandbox) -> list[dict]:
    return [r for r in sandbox.request_log if r["resource"] == "secrets"]


@pytest.mark.parametrize(("namespace", "name"), HOSTILE)
def test_a_hostile_secret_or_namespace_is_invalid_without_a_request(
    member_client, cluster_sandbox, namespace, name
):
    count_from_now(cluster_sandbox)
    secret = check(member_client, namespace, name)
    assert secret.status == "invalid"
    assert "not checked" in secret.message
    assert secret.command == ""
    assert secret_requests(cluster_sandbox) == []


def test_a_namespace_outside_the_allow_list_is_not_asked(member_client, cluster_sandbox, settings):
    settings.DYNAMOTE_NAMESPACES = ["default"]
    count_from_now(cluster_sandbox)
    assert check(member_client, "dynamo", "hf-token-secret").status == "invalid"
    assert secret_requests(cluster_sandbox) == []
    assert check(member_client, "default", "hf-token-secret").status == "found"


def test_a_valid_secret_is_asked_for_its_metadata_at_its_own_path(member_client, cluster_sandbox):
    count_from_now(cluster_sandbox)
    assert check(member_client, "dynamo", "hf-token-secret").status == "found"
    assert check(member_client, "dynamo", "other-secret").status == "missing"
    asked = [(r["path"], r["status"]) for r in secret_requests(cluster_sandbox)]
    assert asked == [
        ("/api/v1/namespaces/dynamo/secrets/hf-token-secret", 200),
        ("/api/v1/namespaces/dynamo/secrets/other-secret", 404),
    ]
