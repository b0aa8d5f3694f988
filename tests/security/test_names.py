"""A namespace or name Kubernetes would refuse never reaches the cluster.

A single-object URL with a name of "." or ".." is the collection itself: a DELETE there
deletes every deployment in the namespace. Every route refuses such names with a clear
error before any cluster request, and the cluster module refuses them too.
"""

import pytest

from deployments import cluster
from tests.fixtures.cluster import count_from_now

BAD_NAMES = [
    ".",
    "..",
    "%2e",
    "%2E%2e",
    "Llama",
    "llama-",
    "a" * 254,
    "llama%3Flimit=1",
    "llama%23",
]
BAD_NAMESPACES = [".", "..", "%2e", "Default", "a" * 64, "kube-system%23"]

pytestmark = pytest.mark.django_db


def _object_requests(sandbox) -> list[dict]:
    """Requests about namespaced objects (not the header's status probe, which also reads the
    Dynamo operator's Deployment for the release)."""
    return [
        r
        for r in sandbox.request_log
        if (r["namespace"] or r["name"] or r["verb"] != "get") and r["resource"] != "deployments"
    ]


def _dgds_left(sandbox) -> list[str]:
    return sorted(item["metadata"]["name"] for item in cluster.dgd_list(namespace="default"))


@pytest.fixture
def counted(two_deployments):
    count_from_now(two_deployments)
    yield two_deployments
    assert _object_requests(two_deployments) == []
    assert _dgds_left(two_deployments) == ["llama", "qwen"]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_pages_refuse_a_bad_name_without_asking_the_cluster(member_client, counted, name):
    for method, url in [
        ("get", f"/deployments/default/{name}/"),
        ("get", f"/deployments/default/{name}/delete/"),
        ("post", f"/deployments/default/{name}/delete/"),
    ]:
        response = getattr(member_client, method)(
            url, {"confirm": name} if method == "post" else {}
        )
        assert response.status_code == 404, url
        assert "is not a deployment name" in response.content.decode(), url
        assert "It may have been deleted" not in response.content.decode(), url


@pytest.mark.parametrize("namespace", BAD_NAMESPACES)
def test_pages_refuse_a_bad_namespace_without_asking_the_cluster(member_client, counted, namespace):
    for method, url in [
        ("get", f"/deployments/{namespace}/llama/"),
        ("post", f"/deployments/{namespace}/llama/delete/"),
    ]:
        response = getattr(member_client, method)(url)
        assert response.status_code == 404, url
        assert "is not a namespace" in response.content.decode(), url


@pytest.mark.parametrize("name", [*BAD_NAMES, "llama%2F..", "..%2F..%2Fsecrets"])
def test_the_api_refuses_a_bad_name_with_a_json_field_error(member_client, counted, name):
    for method, url in [
        ("get", f"/api/deployments/{name}?namespace=default"),
        ("delete", f"/api/deployments/{name}?namespace=default"),
        ("get", f"/api/deployments/{name}/pods?namespace=default"),
    ]:
        response = getattr(member_client, method)(url)
        assert response.status_code == 400, url
        body = response.json()
        assert "is not a deployment name" in body["error"]
        assert list(body["fields"]) == ["name"]


@pytest.mark.parametrize("namespace", [*BAD_NAMESPACES, "kube-system%2Fsecrets", "default%00"])
def test_the_api_refuses_a_bad_namespace_with_a_json_field_error(member_client, counted, namespace):
    for method, url in [
        ("get", f"/api/deployments?namespace={namespace}"),
        ("get", f"/api/deployments/llama?namespace={namespace}"),
        ("delete", f"/api/deployments/llama?namespace={namespace}"),
        ("get", f"/api/deployments/llama/pods?namespace={namespace}"),
    ]:
        response = getattr(member_client, method)(url)
        assert response.status_code == 400, url
        assert list(response.json()["fields"]) == ["namespace"]


def test_a_valid_name_still_reaches_the_deployment(member_client, two_deployments):
    response = member_client.get("/api/deployments/llama?namespace=default")
    assert response.status_code == 200
    assert response.json()["name"] == "llama"


SINGLE_OBJECT_CALLS = {
    "dgd_get": lambda ns, name: cluster.dgd_get(namespace=ns, name=name),
    "dgd_delete": lambda ns, name: cluster.dgd_delete(namespace=ns, name=name),
    "pod_log": lambda ns, name: cluster.pod_log(namespace=ns, name=name),
    "pod_log_stream": lambda ns, name: cluster.pod_log_stream(namespace=ns, name=name),
    "secret_exists": lambda ns, name: cluster.secret_exists(namespace=ns, name=name),
}


@pytest.mark.parametrize("call", SINGLE_OBJECT_CALLS.values(), ids=SINGLE_OBJECT_CALLS)
@pytest.mark.parametrize("name", ["", ".", "..", "x/..", "x?limit=1", "x#", "X", "a" * 254])
def test_a_single_object_call_never_reaches_a_collection_url(two_deployments, call, name):
    count_from_now(two_deployments)
    with pytest.raises(cluster.InvalidName, match="is not a valid name"):
        call("default", name)
    with pytest.raises(cluster.InvalidName, match="is not a namespace"):
        call(name or "..", "llama")
    assert two_deployments.request_log == []
    assert _dgds_left(two_deployments) == ["llama", "qwen"]
