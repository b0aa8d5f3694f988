"""One deploy pipeline: the form, the JSON API and render_manifest say the same about a mistake."""

import ast
import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils.html import escape

from deployments.plan import offline_target, plan
from tests.deploy.conftest import NEW_URL, form_data

HTMX = {"HX-Request": "true"}
ROOT = Path(__file__).resolve().parents[2]

# A mistake per row: the form's fields, the API's config and render_manifest's options.
MISTAKES = [
    pytest.param({"name": "a" * 70}, {"name": "a" * 70}, ["--name", "a" * 70], "name", id="long"),
    pytest.param(
        {"name": "Bad_Name"}, {"name": "Bad_Name"}, ["--name", "Bad_Name"], "name", id="name"
    ),
    pytest.param({"replicas": "11"}, {"replicas": 11}, ["--replicas", "11"], "replicas", id="11"),
    pytest.param(
        {"replicas": "two"}, {"replicas": "two"}, ["--replicas", "two"], "replicas", id="word"
    ),
    pytest.param({"engine": "tgi"}, {"engine": "tgi"}, ["--engine", "tgi"], "engine", id="engine"),
]


def _api_messages(client, config: dict, field: str) -> list[str]:
    body = {"modelId": "qwen3-8b", "engine": "vllm", **config}
    response = client.post(
        "/api/deployments?dryRun=true", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    return response.json()["fields"][field]


@pytest.mark.parametrize(("form", "api", "options", "field"), MISTAKES)
def test_the_form_the_api_and_the_command_give_one_message(
    member_client, cluster_sandbox, form, api, options, field
):
    messages = _api_messages(member_client, api, field)
    html = member_client.get(NEW_URL, form_data(**form), headers=HTMX).content.decode()
    for message in messages:
        assert escape(message) in html
    stderr = io.StringIO()
    with pytest.raises(CommandError):
        call_command("render_manifest", "--model", "qwen3-8b", *options, stderr=stderr)
    for message in messages:
        assert message in stderr.getvalue()


def test_a_namespace_outside_the_allow_list_reads_the_same_in_the_form_and_the_api(
    member_client, cluster_sandbox, settings
):
    settings.DYNAMOTE_NAMESPACES = ["default", "team-a"]
    messages = _api_messages(member_client, {"namespace": "kube-system"}, "namespace")
    assert messages == ["Choose one of default, team-a."]
    html = member_client.get(NEW_URL, form_data(namespace="kube-system"), headers=HTMX)
    assert escape(messages[0]) in html.content.decode()


def test_plan_builds_the_manifest_it_checked(qwen):
    result = plan(qwen, offline_target(), {"engine": "vllm", "replicas": 2})
    assert result.ok and result.errors == {}
    assert result.config.replicas == 2
    assert result.manifest["metadata"]["name"] == "qwen3-8b-vllm"
    refused = plan(qwen, offline_target(allowed_namespaces=("prod",)), {"namespace": "dev"})
    assert not refused.ok and refused.errors == {"namespace": ["Choose one of prod."]}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


# The dev-only commands that start a sandbox cluster, and the benchmark command.
DEV_ONLY = {
    "dynamote/management/commands/sandbox.py",
    "dynamote/management/commands/start.py",
    "deployments/management/commands/bench_dashboard.py",
}


def test_production_code_does_not_import_the_sandbox():
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("deployments", "dynamote", "catalog")
        for path in sorted((ROOT / package).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in DEV_ONLY
        and any(name == "sandbox" or name.startswith("sandbox.") for name in _imports(path))
    ]
    assert offenders == []
