"""`$(NAME)` in engine arguments, the served model name or env values is refused everywhere a
config is read (deploy form, JSON API, render_manifest): the kubelet would replace it with
another variable's value, such as HF_TOKEN, and show it in the process arguments and logs."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from catalog.selectors import catalog_get
from deployments.manifests import ConfigError, ModelFacts, parse_config
from tests.deploy.conftest import NEW_URL, form_data

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
REFERENCES = ["--x=$(HF_TOKEN)", "$(HF_TOKEN)", "--x=$$(HF_TOKEN)", "a$(B)c"]
WHY = "Kubernetes replaces $(NAME) with the value of the variable NAME"


@pytest.fixture
def qwen(db) -> ModelFacts:
    return ModelFacts.from_catalog(catalog_get(slug="qwen3-8b"))


def api_errors(client, body: dict) -> dict[str, list[str]]:
    response = client.post(
        "/api/deployments?dryRun=true",
        json.dumps({"modelId": "qwen3-8b", **body}),
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    answer = response.json()
    return answer.get("fields") or answer["errors"]


def render_errors(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("render_manifest", "--model", "qwen3-8b", *args, stdout=out, stderr=err)
    assert raised.value.returncode == 2
    assert out.getvalue() == ""
    return err.getvalue()


@pytest.mark.parametrize("token", REFERENCES)
def test_the_form_refuses_a_reference_in_engine_args(member_client, token):
    response = member_client.get(NEW_URL, form_data(engine_args=f"'{token}'"), headers=HTMX)
    errors = response.context["form"].errors
    assert any(WHY in message for message in errors["engine_args"]), errors


def test_the_form_refuses_a_reference_in_the_served_model_name(member_client):
    response = member_client.get(NEW_URL, form_data(served_model_name="m$(HF_TOKEN)"), headers=HTMX)
    errors = response.context["form"].errors
    assert any(WHY in message for message in errors["served_model_name"]), errors


@pytest.mark.parametrize("token", REFERENCES)
def test_the_api_refuses_a_reference_in_engine_args_and_env(member_client, token):
    errors = api_errors(
        member_client,
        {"engineArgs": [token], "env": {"GREETING": token}, "servedModelName": token},
    )
    assert any(WHY in message for message in errors["engineArgs"])
    assert any("GREETING" in message and WHY in message for message in errors["env"])
    assert any(WHY in message for message in errors["servedModelName"])


def test_render_manifest_refuses_a_reference_in_engine_args_and_env():
    err = render_errors("--engine-arg=--x=$(HF_TOKEN)", "--env", "GREETING=$(HF_TOKEN)")
    lines = err.splitlines()
    assert any(line.startswith("engineArgs: ") and WHY in line for line in lines), err
    assert any(line.startswith("env: ") and WHY in line for line in lines), err


def test_a_dollar_without_parenthesis_is_kept(qwen):
    config = parse_config(
        {"engineArgs": ["--price=$5", "--x=${HOME}"], "env": {"A": "$B", "C": "cost: $"}},
        model=qwen,
    )
    assert config.engine_args == ["--price=$5", "--x=${HOME}"]
    assert config.env == {"A": "$B", "C": "cost: $"}


def test_env_is_capped_in_count_and_size(member_client, qwen):
    with pytest.raises(ConfigError) as raised:
        parse_config({"env": {f"V{i}": "x" for i in range(51)}}, model=qwen)
    assert raised.value.errors["env"] == ["Give at most 50 variables."]
    errors = api_errors(member_client, {"env": {"BIG": "x" * 4097}})
    assert errors["env"] == ["The value of BIG is longer than 4096 bytes."]
    err = render_errors("--env", f"BIG={'é' * 2049}")
    assert "env: The value of BIG is longer than 4096 bytes." in err
