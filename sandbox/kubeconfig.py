"""The kubeconfig the sandbox writes for its clients."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml

CONTEXT = "dynamote-sandbox"


def write_kubeconfig(
    path: str | Path,
    server: str,
    token: str,
    namespace: str = "default",
    ca_data: bytes | None = None,
) -> Path:
    """Write a kubeconfig (mode 0600) with one context, dynamote-sandbox, using a bearer token."""
    path = Path(path)
    cluster: dict = {"server": server}
    if ca_data is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_data).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": CONTEXT, "user": {"token": token}}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }
    text = yaml.safe_dump(config, sort_keys=False)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        # A restart on the same port: clients keep their configuration (and their watches
        # resume), as with a restarted API server.
        return path
    # The token is a credential: create the file private rather than chmod it afterwards.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path
