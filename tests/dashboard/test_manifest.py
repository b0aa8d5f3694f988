"""A deployment's manifest ready for Git: the details page's download and the JSON API."""

import subprocess

import pytest
import yaml

from deployments import mirror
from deployments.export import git_ready
from tests.sandbox.manifests import dgd_v1alpha1, dgd_v1beta1

SERVER_ADDED = {
    "uid": "0b6c1f8e-1111-2222-3333-444455556666",
    "resourceVersion": "4242",
    "generation": 3,
    "creationTimestamp": "2026-11-27T20:00:00Z",
    "deletionTimestamp": "2026-11-27T21:00:00Z",
    "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update"}],
    "finalizers": ["nvidia.com/finalizer"],
}
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


@pytest.fixture(autouse=True)
def no_ttl(monkeypatch):
    monkeypatch.setattr(mirror, "LIST_TTL", 0)


def kubectl(sandbox, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(sandbox.kubeconfig_path), "-n", "default", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


@pytest.mark.parametrize("declared", [dgd_v1beta1("qwen"), dgd_v1alpha1("legacy")])
def test_only_what_was_declared_is_left(declared):
    live = yaml.safe_load(yaml.safe_dump(declared))
    meta = live["metadata"]
    meta.update(SERVER_ADDED, namespace="default")
    meta["annotations"] = {LAST_APPLIED: '{"kind": "DynamoGraphDeployment"}', "team": "search"}
    live["status"] = {"state": "successful", "conditions": [{"type": "Ready"}]}

    clean = git_ready(live)

    assert "status" not in clean
    assert set(clean["metadata"]) == {"name", "namespace", "annotations", *declared["metadata"]}
    assert clean["metadata"]["annotations"] == {"team": "search"}
    assert clean["spec"] == declared["spec"]
    assert clean["apiVersion"] == declared["apiVersion"]
    # The live object is left as it was.
    assert live["status"] and live["metadata"]["uid"]


def test_a_finalizer_someone_else_added_stays():
    live = dgd_v1beta1("qwen")
    live["metadata"]["finalizers"] = ["nvidia.com/finalizer", "example.com/backup"]
    assert git_ready(live)["metadata"]["finalizers"] == ["example.com/backup"]


def test_the_api_answers_yaml_that_applies_again_once_deleted(member_client, cluster_sandbox):
    applied = kubectl(cluster_sandbox, "apply", "-f", "-", stdin=yaml.safe_dump(dgd_v1beta1()))
    assert applied.returncode == 0, applied.stderr
    cluster_sandbox.advance(120)

    response = member_client.get("/api/deployments/qwen/manifest?namespace=default")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    text = response.content.decode()
    exported = yaml.safe_load(text)
    assert exported["metadata"]["name"] == "qwen"
    assert exported["spec"] == dgd_v1beta1()["spec"]
    for word in ("status:", "managedFields", "uid:", "resourceVersion", "creationTimestamp"):
        assert word not in text
    assert LAST_APPLIED not in text and "nvidia.com/finalizer" not in text

    deleted = kubectl(cluster_sandbox, "delete", "dgd", "qwen", "--wait=false")
    assert deleted.returncode == 0, deleted.stderr
    cluster_sandbox.advance(300)
    assert cluster_sandbox.get("dynamographdeployments", "default", "qwen") is None
    again = kubectl(cluster_sandbox, "apply", "--dry-run=server", "-f", "-", stdin=text)
    assert again.returncode == 0, again.stderr
    assert "qwen created (server dry run)" in again.stdout


def test_the_details_page_offers_the_download(member_client, cluster_sandbox):
    applied = kubectl(cluster_sandbox, "apply", "-f", "-", stdin=yaml.safe_dump(dgd_v1beta1()))
    assert applied.returncode == 0, applied.stderr
    cluster_sandbox.advance(60)

    page = member_client.get("/deployments/default/qwen/").content.decode()
    assert "Manifest for Git" in page
    assert 'href="/deployments/default/qwen/manifest.yaml"' in page

    download = member_client.get("/deployments/default/qwen/manifest.yaml")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="qwen.yaml"'
    assert "resourceVersion" not in download.content.decode()
    assert yaml.safe_load(download.content)["spec"] == dgd_v1beta1()["spec"]


def test_an_absent_deployment_is_a_404(member_client, cluster_sandbox):
    response = member_client.get("/api/deployments/nothing/manifest?namespace=default")
    assert response.status_code == 404
    assert response.json()["error"] == 'There is no deployment "nothing" in namespace "default".'
    assert member_client.get("/deployments/default/nothing/manifest.yaml").status_code == 404


def test_a_viewer_may_read_it_and_an_outsider_may_not(
    client, cluster_sandbox, django_user_model, settings
):
    from tests.factories import grant_role

    settings.DYNAMOTE_DEFAULT_ROLE = ""

    kubectl(cluster_sandbox, "apply", "-f", "-", stdin=yaml.safe_dump(dgd_v1beta1()))
    viewer = django_user_model.objects.create_user("vera", password="vera-password-1")
    grant_role(viewer, "viewer")
    client.force_login(viewer)
    assert client.get("/api/deployments/qwen/manifest?namespace=default").status_code == 200
    outsider = django_user_model.objects.create_user("olga", password="olga-password-1")
    client.force_login(outsider)
    assert client.get("/api/deployments/qwen/manifest?namespace=default").status_code == 403
