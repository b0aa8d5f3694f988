"""Importing YAML and scaling from a dashboard row, in a real browser."""

import re

import pytest
import yaml
from playwright.sync_api import Page, expect

from catalog.selectors import catalog_get
from deployments.manifests import ModelFacts
from deployments.plan import offline_target, plan
from tests.e2e.test_operate import DECODE, qwen  # noqa: F401  (qwen: the deployment fixture)

pytestmark = pytest.mark.e2e


def new_manifest(name: str) -> str:
    facts = ModelFacts.from_catalog(catalog_get(slug="qwen3-8b"))
    result = plan(facts, offline_target(), {"name": name, "namespace": "default"})
    assert result.ok, result.errors
    return yaml.safe_dump(result.manifest, sort_keys=False)


def test_import_a_yaml_as_a_new_deployment(logged_in_page: Page, live_server, qwen):  # noqa: F811
    page = logged_in_page
    page.goto(f"{live_server.url}/deployments/")
    page.get_by_role("link", name="Import YAML").click()
    field = page.get_by_label("DynamoGraphDeployment YAML")
    field.fill("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_text("This is a ConfigMap (v1)").first).to_be_visible()
    expect(field).to_have_value(re.compile("kind: ConfigMap"))  # the text is kept
    field.fill(new_manifest("imported"))
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("list", name="Effect")).to_contain_text("importing creates it")
    page.get_by_role("button", name="Create imported").click()
    page.wait_for_url(f"{live_server.url}/deployments/default/imported/")
    expect(page.get_by_role("status").filter(has_text="created")).to_be_visible()
    assert qwen.get("dgd", "default", "imported") is not None


def test_import_a_changed_yaml_over_a_deployment(logged_in_page: Page, live_server, qwen):  # noqa: F811
    page = logged_in_page
    page.goto(f"{live_server.url}/deployments/default/qwen/")
    page.get_by_role("link", name="Edit as YAML").click()
    field = page.get_by_label("DynamoGraphDeployment YAML")
    body = yaml.safe_load(field.input_value())
    decode = next(c for c in body["spec"]["components"] if c["name"] == DECODE)
    decode["podTemplate"]["spec"]["containers"][0]["args"].append("--max-num-seqs=64")
    field.fill(yaml.safe_dump(body, sort_keys=False))
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_role("list", name="Effect")).to_contain_text(
        re.compile(r"decode workers.* arguments change: their 1 pod restarts")
    )
    expect(page.get_by_label("Diff from the live spec")).to_contain_text(
        "+        - --max-num-seqs=64"
    )
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(f"{live_server.url}/deployments/default/qwen/")
    expect(page.get_by_role("status").filter(has_text="revision 2")).to_be_visible()
    revisions = page.get_by_role("region", name="Revisions")
    expect(revisions.get_by_role("row").filter(has_text="import")).to_have_count(1)
    live = qwen.get("dgd", "default", "qwen")
    args = next(c for c in live["spec"]["components"] if c["name"] == DECODE)
    assert "--max-num-seqs=64" in args["podTemplate"]["spec"]["containers"][0]["args"]


def test_scale_from_a_dashboard_row(logged_in_page: Page, live_server, qwen):  # noqa: F811
    page = logged_in_page
    page.goto(f"{live_server.url}/deployments/")
    page.get_by_role("link", name="Scale qwen").click()
    dialog = page.get_by_role("dialog", name="Scale qwen")
    expect(dialog).to_be_visible()
    dialog.get_by_label(f"Desired {DECODE} replicas").fill("2")
    dialog.get_by_role("button", name="Review scale").click()
    expect(page.get_by_role("list", name="Effect")).to_contain_text("replicas only: no restart")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"/deployments/(\?.*)?$"))
    expect(page.get_by_role("status").filter(has_text="Scaled")).to_contain_text(f"{DECODE} to 2")
    replicas = {
        c["name"]: c["replicas"] for c in qwen.get("dgd", "default", "qwen")["spec"]["components"]
    }
    assert replicas[DECODE] == 2
    # The details page follows the new pod until it is ready.
    page.goto(f"{live_server.url}/deployments/default/qwen/")
    progress = page.get_by_role("list", name="Scale progress")
    expect(progress).to_contain_text("ready 1 of 2")
    qwen.advance(300)
    expect(progress).to_have_count(0)
