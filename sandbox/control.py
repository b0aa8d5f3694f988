"""Toggling a running sandbox's faults from the command line, through its control endpoint."""

from __future__ import annotations

import base64
import json
import ssl
import urllib.request
from pathlib import Path

import yaml

FAULT_HELP = (
    "latency=SECONDS | fail-next=N[:CODE] | forbid-create=NAMESPACE | allow-create=NAMESPACE | "
    "outage=SECONDS | fail-lists=N[:CODE] | stall-watches=on|off (the open ones) | compact | reset"
)


def parse_fault(text: str) -> dict:
    """One command-line fault (e.g. 'fail-next=3:503') as the control endpoint's JSON."""
    key, _, value = text.partition("=")
    key = key.strip().lower()
    try:
        if key == "reset":
            return {"reset": True}
        if key == "latency":
            return {"latency": float(value)}
        if key == "fail-next":
            count, _, code = value.partition(":")
            return {"failNext": {"count": int(count or 1), "code": int(code or 503)}}
        if key == "forbid-create" and value:
            return {"forbidDgdCreate": [value]}
        if key == "allow-create" and value:
            return {"allowDgdCreate": [value]}
        if key == "fail-lists":
            count, _, code = value.partition(":")
            return {"failLists": {"count": int(count or 1), "code": int(code or 500)}}
        if key == "stall-watches":
            return {"stallWatches": value.strip().lower() in ("", "on", "true", "1")}
        if key == "compact":
            return {"compact": True}
        if key == "outage":
            return {"outage": float(value)}
    except ValueError as err:
        raise ValueError(f"bad fault {text!r}: {err}") from err
    raise ValueError(f"unknown fault {text!r}; use {FAULT_HELP}")


def send_faults(kubeconfig: str | Path, spec: dict, timeout: float = 5.0) -> dict:
    """POST a fault description to the sandbox a kubeconfig points at; returns its faults."""
    config = yaml.safe_load(Path(kubeconfig).read_text())
    cluster = config["clusters"][0]["cluster"]
    server = cluster["server"]
    context = None
    if cluster.get("certificate-authority-data"):
        authority = base64.b64decode(cluster["certificate-authority-data"]).decode()
        context = ssl.create_default_context(cadata=authority)
    token = config["users"][0]["user"]["token"]
    request = urllib.request.Request(
        f"{server}/sandbox/faults",
        data=json.dumps(spec).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout, context=context) as answer:
        return json.loads(answer.read())
