"""The real 1.5 CRD's CEL rules, enforced by the sandbox through the official client."""

import copy
import json

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.fixtures.sandbox import sandbox_api_client

from .manifests import GROUP, PLURAL, dgd_v1beta1

CRD = "crds/dynamo-1.5.0/nvidia.com_dynamographdeployments.yaml"


@pytest.fixture
def dgds(make_sandbox, shared_dynamo):
    sandbox = make_sandbox(crds=[shared_dynamo / CRD])
    return client.CustomObjectsApi(sandbox_api_client(sandbox))


def refused(dgds, body: dict) -> dict:
    with pytest.raises(ApiException) as raised:
        dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)
    assert raised.value.status == 422
    return json.loads(raised.value.body)


def test_component_names_must_be_unique_case_insensitively(dgds):
    body = dgd_v1beta1("twins")
    twin = copy.deepcopy(body["spec"]["components"][1])
    twin["name"] = body["spec"]["components"][1]["name"].upper()
    body["spec"]["components"].append(twin)
    status = refused(dgds, body)
    (cause,) = status["details"]["causes"]
    assert cause["field"] == "spec.components"
    assert cause["message"] == (
        'Invalid value: "array": component names must be unique case-insensitively'
    )


def test_restart_may_not_be_set_on_create_but_may_be_requested_later(dgds):
    body = dgd_v1beta1("restart")
    body["spec"]["restart"] = {"id": "first"}
    status = refused(dgds, body)
    assert "spec.restart must be unset on create" in status["message"]

    del body["spec"]["restart"]
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, body)
    patch = {"spec": {"restart": {"id": "first"}}}
    patched = dgds.patch_namespaced_custom_object(
        GROUP, "v1beta1", "default", PLURAL, "restart", patch
    )
    assert patched["spec"]["restart"]["id"] == "first"


def test_a_valid_example_passes_every_rule(dgds):
    dgds.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, dgd_v1beta1())
