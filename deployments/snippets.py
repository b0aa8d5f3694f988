"""The shell commands Dynamote shows for copying (pure).

Every value is shell-quoted with `shlex`, so a name, a namespace or a served model name pasted
into a shell stays one argument: a value like `x';touch /tmp/p;echo '` cannot run a command.
"""

import json
import shlex

# The frontend's port in the pod, and the local port the commands forward it to (not 8000,
# where Dynamote itself runs in development).
FRONTEND_PORT = 8000
LOCAL_PORT = 8080
TOKEN_PLACEHOLDER = "<your Hugging Face token>"


def _lines(*argvs: list[str]) -> str:
    """One command over several lines: the first argv, then each further group indented."""
    return " \\\n  ".join(shlex.join(argv) for argv in argvs)


def secret_create(*, name: str, namespace: str) -> str:
    """Creates the Hugging Face token Secret (the placeholder is for the person to replace)."""
    return shlex.join(
        [
            "kubectl",
            "create",
            "secret",
            "generic",
            name,
            f"--from-literal=HF_TOKEN={TOKEN_PLACEHOLDER}",
            "-n",
            namespace,
        ]
    )


def secret_add_key(*, name: str, namespace: str, key: str) -> str:
    """Adds (or replaces) one key of an existing Secret."""
    create = [
        "kubectl",
        "create",
        "secret",
        "generic",
        name,
        f"--from-literal={key}=<value>",
        "-n",
        namespace,
        "--dry-run=client",
        "-o",
        "yaml",
    ]
    return f"{shlex.join(create)} | {shlex.join(['kubectl', 'apply', '-f', '-'])}"


def pvc_create(*, name: str, namespace: str, storage: str) -> str:
    """Creates a ReadWriteMany claim for the model cache (the storage class is the default)."""
    manifest = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "resources": {"requests": {"storage": storage}},
        },
    }
    # JSON is YAML: one quoted argument, whatever the values hold.
    echo = shlex.join(["echo", json.dumps(manifest)])
    return f"{echo} | {shlex.join(['kubectl', 'apply', '-f', '-'])}"


def port_forward(*, name: str, namespace: str) -> str:
    """Forwards the deployment's frontend Service to this machine."""
    return shlex.join(
        [
            "kubectl",
            "port-forward",
            f"svc/{name}-frontend",
            f"{LOCAL_PORT}:{FRONTEND_PORT}",
            "-n",
            namespace,
        ]
    )


def list_models() -> str:
    """Lists the models the forwarded frontend serves."""
    return shlex.join(["curl", f"http://localhost:{LOCAL_PORT}/v1/models"])


def chat(*, model: str) -> str:
    """One chat completion through the forwarded frontend."""
    body = json.dumps(
        {
            "model": model,
            "messages": [{"role": "user", "content": "Hello! What can you do?"}],
            "max_tokens": 128,
        }
    )
    return _lines(
        ["curl", f"http://localhost:{LOCAL_PORT}/v1/chat/completions"],
        ["-H", "Content-Type: application/json"],
        ["-d", body],
    )


API_TOKEN_PLACEHOLDER = "<your Dynamote API token>"


def chat_api(*, url: str, body: dict) -> str:
    """A chat through Dynamote's chat API (an API token instead of the session), streamed."""
    return _lines(
        ["curl", "-N", url],
        ["-H", f"Authorization: Bearer {API_TOKEN_PLACEHOLDER}"],
        ["-H", "Content-Type: application/json"],
        ["-d", json.dumps(body)],
    )
