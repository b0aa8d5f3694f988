"""The in-cluster manifests in deploy/: what a platform engineer applies with kubectl -k."""

from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _objects() -> dict[str, dict]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    objects = {}
    for name in kustomization["resources"]:
        for obj in yaml.safe_load_all((DEPLOY / name).read_text()):
            objects[obj["kind"]] = obj
    return objects


@pytest.fixture(scope="module")
def objects():
    return _objects()


def test_kustomization_lists_every_piece(objects):
    assert set(objects) == {
        "Namespace",
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
    }


def test_deployment_runs_as_the_service_account_without_root(objects):
    pod = objects["Deployment"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == objects["ServiceAccount"]["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_deployment_probes_health_and_reads_secrets_from_a_secret(objects):
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/health"
    assert container["livenessProbe"]["httpGet"]["path"] == "/api/health"
    assert container["resources"]["requests"] and container["resources"]["limits"]
    env = {item["name"]: item for item in container["env"]}
    for name in ("DJANGO_SECRET_KEY", "DATABASE_URL"):
        assert "secretKeyRef" in env[name]["valueFrom"]
    assert env["DYNAMOTE_SANDBOX"]["value"] == "false"


def test_binding_grants_the_role_to_the_service_account(objects):
    binding = objects["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == objects["ClusterRole"]["metadata"]["name"]
    assert binding["subjects"][0]["name"] == objects["ServiceAccount"]["metadata"]["name"]


def test_role_grants_no_writes_beyond_deployments(objects):
    writes = {"create", "update", "patch", "delete", "deletecollection", "*"}
    for rule in objects["ClusterRole"]["rules"]:
        if rule["resources"] == ["services/proxy"]:
            # "create" on the proxy is a POST to the frontend (a chat): it changes no object.
            assert rule["verbs"] == ["get", "create"], rule
        elif writes & set(rule["verbs"]):
            assert rule["resources"] == ["dynamographdeployments"], rule
        assert "*" not in rule["resources"]


def test_health_probes_allow_a_busy_node_three_seconds(objects):
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/api/health"
        # Kubernetes' default is 1 s: one slow answer on a busy node would restart the pod.
        assert container[probe]["timeoutSeconds"] >= 3, probe
