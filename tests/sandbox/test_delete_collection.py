"""A DELETE on a collection URL is the `deletecollection` verb, as on a real API server:
refused without that RBAC rule, and with it every matching object goes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sandbox import rules_from_role
from tests.fixtures.sandbox import sandbox_api_client

from .manifests import GROUP, PLURAL, dgd_v1beta1

ROLE = Path(__file__).resolve().parents[2] / "deploy" / "clusterrole.yaml"
COLLECTION = f"/apis/{GROUP}/v1beta1/namespaces/default/{PLURAL}"


@pytest.fixture
def dgds(sandbox):
    api = client.CustomObjectsApi(sandbox_api_client(sandbox))
    for name in ("alpha", "beta"):
        api.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1(name))
    return api


def _names(dgds) -> list[str]:
    listed = dgds.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)
    return sorted(item["metadata"]["name"] for item in listed["items"])


def _kubectl(sandbox, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(sandbox.kubeconfig_path), *args],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_a_collection_delete_with_the_rule_deletes_every_dgd(sandbox, dgds):
    answer = dgds.delete_collection_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)
    assert sorted(item["metadata"]["name"] for item in answer["items"]) == ["alpha", "beta"]
    assert _names(dgds) == []
    assert sandbox.request_count("deletecollection", PLURAL, namespace="default") == 1


def test_a_collection_delete_honours_the_label_selector(sandbox, dgds):
    dgds.patch_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, "beta", {"metadata": {"labels": {"keep": "yes"}}}
    )
    dgds.delete_collection_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, label_selector="keep!=yes"
    )
    assert _names(dgds) == ["beta"]


def test_kubectl_collection_delete_is_forbidden_without_deletecollection(sandbox, dgds):
    sandbox.set_permissions(rules_from_role(ROLE))
    result = _kubectl(sandbox, "delete", "--raw", COLLECTION)
    assert result.returncode != 0
    assert 'cannot deletecollection resource "dynamographdeployments"' in result.stderr
    assert _names(dgds) == ["alpha", "beta"]


def test_kubectl_collection_delete_with_the_rule_empties_the_namespace(sandbox, dgds):
    result = _kubectl(sandbox, "delete", "--raw", COLLECTION)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["kind"] == "DynamoGraphDeploymentList"
    assert _names(dgds) == []


def test_the_official_client_gets_403_without_the_rule(sandbox, dgds):
    sandbox.set_permissions(rules_from_role(ROLE))
    with pytest.raises(ApiException) as raised:
        dgds.delete_collection_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL)
    assert raised.value.status == 403
    sandbox.set_permissions([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])
    assert _names(dgds) == ["alpha", "beta"]
