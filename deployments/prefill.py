"""The deploy form filled from a live DGD Dynamote created, to edit it (pure)."""

from __future__ import annotations

from typing import Any

from deployments import revisions
from deployments.dgd import dgd_components, flag, workers
from deployments.forms import initial_from_config

NAME_LOCKED = (
    "The name and namespace of a deployment cannot change: use Copy to deploy it under "
    "another name."
)


def _worker_images(manifest: dict) -> set[str]:
    return {c["image"] for c in workers(dgd_components(manifest)) if c["image"]}


def initial_from_dgd(dgd: dict, *, config: dict, manifest: dict) -> dict[str, Any]:
    """Form values: the stored config, with what the live DGD says instead where it differs.

    `config` and `manifest` are what Dynamote deployed; the replicas, image, token secret and
    router mode are read from the live DGD, so a change made with kubectl is kept.
    """
    initial = initial_from_config(config)
    components = dgd_components(dgd)
    by_type = {c["type"]: c for c in components}
    if "prefill" in by_type or "decode" in by_type:
        for role in ("prefill", "decode"):
            if role in by_type:
                initial[f"{role}_replicas"] = by_type[role]["replicas"]
    elif workers(components):
        initial["replicas"] = workers(components)[0]["replicas"]
    live_images = _worker_images(dgd)
    if live_images and live_images != _worker_images(manifest):
        initial["image"] = sorted(live_images)[0]
    secret = next((c["secret"] for c in workers(components) if c["secret"]), "")
    if secret:
        initial["hf_token_secret"] = secret
    frontend = by_type.get("frontend")
    if frontend:
        router = (frontend.get("env") or {}).get("DYN_ROUTER_MODE") or flag(
            frontend.get("args") or [], "--router-mode"
        )
        if router:
            initial["router_mode"] = router
    initial["name"] = (dgd.get("metadata") or {}).get("name", initial.get("name"))
    initial["namespace"] = (dgd.get("metadata") or {}).get("namespace", initial.get("namespace"))
    return initial


def keep_live_replicas(spec: dict, dgd: dict) -> dict:
    """The spec with the live replicas of the components the form has no field for.

    The form sets worker replicas only; a frontend scaled with kubectl keeps its replicas.
    """
    live = revisions.components(dgd.get("spec") or {})
    new = {
        name: revisions.replicas_of(live[name])
        for name, item in revisions.components(spec).items()
        if name in live and revisions.component_type(item) not in ("worker", "prefill", "decode")
    }
    return revisions.with_replicas(spec, new)
