"""Every command Dynamote shows for copying runs as written when pasted into bash: a hostile
served model name, Secret name or key stays one argument and runs nothing else."""

import json
import subprocess
import tempfile
from pathlib import Path

import pytest

from deployments import cluster, snippets
from deployments.status import why_not_ready
from tests.dashboard.conftest import dgd_manifest

HOSTILE = [
    "x';touch${IFS}PWNED;echo${IFS}'",
    'x";touch PWNED;echo "',
    "x$(touch PWNED)",
    "x`touch PWNED`",
    "x\ntouch PWNED\n",
    "x' ; touch PWNED #",
    "x\\'; touch PWNED; '",
]

# curl and kubectl record their arguments (NUL-separated, one record per call) and do nothing.
STUBS = r"""
record() { printf '%s\0' "$@" >> "$RECORD"; printf '\036' >> "$RECORD"; }
curl() { record curl "$@"; }
kubectl() { cat > /dev/null; record kubectl "$@"; }
"""


def paste(snippet: str, tmp_path: Path) -> list[list[str]]:
    """Runs the snippet in bash as if pasted; returns the argv of each stubbed call."""
    checked = subprocess.run(["bash", "-n"], input=snippet, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))
    record = tmp_path / "calls"
    record.touch()
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", STUBS + snippet + "\n"],
        cwd=tmp_path,
        env={"RECORD": str(record), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=10,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    # Nothing but the stubs ran: no file appeared besides the record.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["calls"]
    calls = record.read_text().split("\036")[:-1]
    return sorted(call.split("\0")[:-1] for call in calls)


@pytest.mark.parametrize("model", HOSTILE)
def test_the_chat_command_sends_the_model_name_as_written(model, tmp_path):
    [call] = paste(snippets.chat(model=model), tmp_path)
    assert call[:2] == ["curl", "http://localhost:8080/v1/chat/completions"]
    assert call[2:4] == ["-H", "Content-Type: application/json"]
    assert call[4] == "-d"
    assert json.loads(call[5])["model"] == model


@pytest.mark.parametrize("value", HOSTILE)
def test_the_secret_commands_keep_each_value_one_argument(value, tmp_path):
    [call] = paste(snippets.secret_create(name=value, namespace=value), tmp_path)
    assert call == [
        "kubectl",
        "create",
        "secret",
        "generic",
        value,
        "--from-literal=HF_TOKEN=<your Hugging Face token>",
        "-n",
        value,
    ]
    calls = paste(snippets.secret_add_key(name=value, namespace=value, key=value), tmp_path)
    assert calls == [
        ["kubectl", "apply", "-f", "-"],
        [
            "kubectl",
            "create",
            "secret",
            "generic",
            value,
            f"--from-literal={value}=<value>",
            "-n",
            value,
            "--dry-run=client",
            "-o",
            "yaml",
        ],
    ]


@pytest.mark.parametrize("value", HOSTILE)
def test_the_port_forward_keeps_each_value_one_argument(value, tmp_path):
    [call] = paste(snippets.port_forward(name=value, namespace=value), tmp_path)
    assert call == ["kubectl", "port-forward", f"svc/{value}-frontend", "8080:8000", "-n", value]


def test_the_details_page_shows_commands_that_paste_safely(
    member_client, cluster_sandbox, tmp_path
):
    model = HOSTILE[0]
    manifest = dgd_manifest("llama")
    worker = manifest["spec"]["components"][1]["podTemplate"]["spec"]["containers"][0]
    worker["args"] += ["--served-model-name", model]
    cluster.dgd_create(manifest=manifest)
    cluster_sandbox.advance(60)
    reach = member_client.get("/deployments/default/llama/").context["reach"]
    calls = paste("\n".join([reach["port_forward"], reach["models"], reach["chat"]]), tmp_path)
    assert calls[0] == ["curl", "http://localhost:8080/v1/chat/completions", *calls[0][2:]]
    assert json.loads(calls[0][-1])["model"] == model
    assert calls[1] == ["curl", "http://localhost:8080/v1/models"]
    assert calls[2] == [
        "kubectl",
        "port-forward",
        "svc/llama-frontend",
        "8080:8000",
        "-n",
        "default",
    ]


def test_the_why_not_ready_command_keeps_a_hostile_secret_name_one_argument(tmp_path):
    secret = "x;touch${IFS}PWNED;"
    dgd = dgd_manifest("llama")
    pod = {
        "metadata": {"name": "llama-worker-0", "namespace": "default"},
        "status": {
            "phase": "Pending",
            "containerStatuses": [
                {
                    "name": "main",
                    "ready": False,
                    "state": {
                        "waiting": {
                            "reason": "CreateContainerConfigError",
                            "message": f'secret "{secret}" not found',
                        }
                    },
                }
            ],
        },
    }
    reason = why_not_ready(dgd, pods=[pod], events=[])
    [call] = paste(reason.command, tmp_path)
    assert call[4] == secret
