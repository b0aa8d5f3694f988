"""Changing a running deployment in a real browser: scale, edit with a diff, roll back."""

import re

import kubernetes
import pytest
from playwright.sync_api import Page, expect

from catalog.selectors import catalog_get
from deployments import mirror
from deployments.manifests import ModelFacts
from deployments.plan import plan
from deployments.services import ClusterSession, deploy_target, deployment_create
from tests.fixtures.sandbox import sandbox_api_client

pytestmark = pytest.mark.e2e

DECODE = "VllmDecodeWorker"


@pytest.fixture
def qwen(curated_catalog, user, cluster_sandbox, settings, monkeypatch):
    """A disaggregated Qwen3 8B (frontend, prefill, decode) deployed by the user, all Ready."""
    settings.DYNAMOTE_POLL_SECONDS = 0.5
    mirror.reset()
    facts = ModelFacts.from_catalog(catalog_get(slug="qwen3-8b"))
    data = {"name": "qwen", "namespace": "default", "mode": "disaggregated", "engine": "vllm"}
    result = plan(facts, deploy_target(session=ClusterSession()), data)
    assert result.ok, result.errors
    deployment_create(user=user, config=result.config, manifest=result.manifest)
    cluster_sandbox.advance(120)
    yield cluster_sandbox
    mirror.reset()


def open_details(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/deployments/default/qwen/")
    expect(page.get_by_role("heading", name="Scale")).to_be_visible()


def decode_pods(page: Page):
    return page.get_by_role("row").filter(has=page.get_by_text(DECODE, exact=True))


def test_scale_decode_from_1_to_2_and_watch_the_pod_appear(logged_in_page: Page, live_server, qwen):
    page = logged_in_page
    open_details(page, live_server)
    expect(decode_pods(page)).to_have_count(1)
    page.get_by_label(f"Desired {DECODE} replicas").fill("2")
    page.get_by_role("button", name="Review scale").click()
    expect(page.get_by_role("list", name="Effect")).to_contain_text("replicas only: no restart")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{live_server.url}/deployments/default/qwen/")
    expect(page.get_by_role("status").filter(has_text="Scaled")).to_contain_text(
        f"{DECODE} to 2 through the DynamoGraphDeployment's replicas"
    )
    qwen.advance(5)
    expect(decode_pods(page)).to_have_count(2)
    revisions = page.get_by_role("region", name="Revisions")
    expect(revisions.get_by_role("row").filter(has_text="scale")).to_have_count(1)


def test_edit_an_argument_read_the_restart_warning_and_apply(
    logged_in_page: Page, live_server, qwen
):
    page = logged_in_page
    open_details(page, live_server)
    page.get_by_role("link", name="Edit settings").click()
    expect(page.get_by_label("Name", exact=True)).to_be_disabled()
    page.get_by_label("Enforce eager (no CUDA graphs)").check()
    page.get_by_role("button", name="Review changes").click()
    effect = page.get_by_role("list", name="Effect")
    expect(effect).to_contain_text(
        re.compile(r"decode workers.* arguments change: their 1 pod restarts")
    )
    expect(page.get_by_label("Diff from the live spec")).to_contain_text("+ ")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{live_server.url}/deployments/default/qwen/")
    expect(page.get_by_role("status").filter(has_text="revision 2")).to_be_visible()
    dgd = qwen.get("dgd", "default", "qwen")
    args = " ".join(
        " ".join(c["podTemplate"]["spec"]["containers"][0].get("args") or [])
        for c in dgd["spec"]["components"]
    )
    assert "--enforce-eager" in args


def test_roll_back_a_scale(logged_in_page: Page, live_server, qwen):
    page = logged_in_page
    open_details(page, live_server)
    page.get_by_label(f"Desired {DECODE} replicas").fill("2")
    page.get_by_role("button", name="Review scale").click()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{live_server.url}/deployments/default/qwen/")
    page.get_by_role("link", name="#1").click()
    expect(page.get_by_role("list", name="Effect")).to_contain_text("replicas only: no restart")
    page.get_by_role("button", name="Roll back to revision 1").click()
    page.wait_for_url(f"{live_server.url}/deployments/default/qwen/")
    expect(page.get_by_role("status").filter(has_text="Rolled qwen back")).to_contain_text(
        "as revision 3"
    )
    replicas = {
        c["name"]: c["replicas"] for c in qwen.get("dgd", "default", "qwen")["spec"]["components"]
    }
    assert replicas[DECODE] == 1


def test_a_change_made_while_the_edit_page_is_open_is_not_overwritten(
    logged_in_page: Page, live_server, qwen
):
    page = logged_in_page
    page.goto(f"{live_server.url}/deployments/default/qwen/edit/")
    page.get_by_label("Enforce eager (no CUDA graphs)").check()
    # Meanwhile someone scales the frontend with another client.
    custom = kubernetes.client.CustomObjectsApi(sandbox_api_client(qwen))
    dgd = custom.get_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen"
    )
    dgd["spec"]["components"][0]["replicas"] = 2
    custom.replace_namespaced_custom_object(
        "nvidia.com", "v1beta1", "default", "dynamographdeployments", "qwen", dgd
    )
    page.get_by_role("button", name="Review changes").click()
    expect(page.get_by_role("alert")).to_contain_text("changed since you read it")
    # The diff is against the newer version, and keeps their frontend replicas.
    diff = page.get_by_label("Diff from the live spec")
    expect(diff).to_contain_text("--enforce-eager")
    expect(diff).not_to_contain_text("replicas: 2")
    frontend = dgd["spec"]["components"][0]["name"]
    replicas = {
        c["name"]: c["replicas"] for c in qwen.get("dgd", "default", "qwen")["spec"]["components"]
    }
    assert replicas[frontend] == 2


def test_deploy_a_copy_under_a_free_name(logged_in_page: Page, live_server, qwen):
    page = logged_in_page
    open_details(page, live_server)
    git = page.get_by_role("region", name="Manifest for Git")
    expect(git).to_contain_text("name: qwen")
    expect(git).not_to_contain_text("resourceVersion")
    expect(git.get_by_role("link", name="Download YAML")).to_be_visible()
    page.get_by_role("link", name="Deploy a copy").click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("qwen-2")
    page.get_by_role("button", name="Deploy", exact=True).click()
    page.wait_for_url(f"{live_server.url}/deployments/default/qwen-2/")
    assert qwen.get("dgd", "default", "qwen-2") is not None
    assert qwen.get("dgd", "default", "qwen") is not None
