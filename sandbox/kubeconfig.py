"""The kubeconfig the sandbox writes for its clients."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

CONTEXT = "dynamote-sandbox"


def write_kubeconfig(path: str | Path, server: str, token: str, namespace: str = "default") -> Path:
    """Write a kubeconfig (mode 0600) with one context, dynamote-sandbox, using a bearer token."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server}}],
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
    # The token is a credential: create the file private rather than chmod it afterwards.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    return path
