"""`manage.py sandbox --fault ...` toggles faults on a running sandbox."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from sandbox.control import parse_fault


@pytest.mark.parametrize(
    ("text", "spec"),
    [
        ("latency=1.5", {"latency": 1.5}),
        ("fail-next=3:500", {"failNext": {"count": 3, "code": 500}}),
        ("fail-next=2", {"failNext": {"count": 2, "code": 503}}),
        ("forbid-create=default", {"forbidDgdCreate": ["default"]}),
        ("allow-create=default", {"allowDgdCreate": ["default"]}),
        ("outage=10", {"outage": 10.0}),
        ("reset", {"reset": True}),
    ],
)
def test_faults_parse_from_the_command_line(text, spec):
    assert parse_fault(text) == spec


def test_an_unknown_fault_is_refused():
    with pytest.raises(ValueError, match="unknown fault"):
        parse_fault("explode=1")


def test_the_command_sends_faults_to_the_running_sandbox(sandbox, capsys):
    call_command(
        "sandbox",
        "--kubeconfig",
        str(sandbox.kubeconfig_path),
        "--fault",
        "forbid-create=dynamo",
        "--fault",
        "fail-next=1:401",
    )
    assert sandbox.api.faults.forbidden_create == {"dynamo"}
    assert list(sandbox.api.faults.failures) == [401]
    assert "Sandbox faults" in capsys.readouterr().out


def test_the_command_says_when_no_sandbox_answers(sandbox):
    sandbox.stop()
    with pytest.raises(CommandError, match="no sandbox answering"):
        call_command("sandbox", "--kubeconfig", str(sandbox.kubeconfig_path), "--fault", "reset")
