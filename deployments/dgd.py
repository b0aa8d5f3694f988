"""Reading a DGD of either API version: its components, model, engine and owner."""

import json

from deployments.engines import ENGINES
from deployments.manifests import (
    CUSTOM_MODEL_KEY,
    ENGINE_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    MODEL_ID_KEY,
)


def flag(args: list[str], *names: str) -> str:
    words = [part for arg in args for part in str(arg).split()]
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return ""


def dgd_components(dgd: dict) -> list[dict]:
    """The components of a DGD in either API version, flattened for display."""
    spec = dgd.get("spec") or {}
    result = []
    if isinstance(spec.get("components"), list):
        for item in spec["components"]:
            containers = ((item.get("podTemplate") or {}).get("spec") or {}).get("containers") or [
                {}
            ]
            main = next((c for c in containers if c.get("name") == "main"), containers[0])
            limits = (main.get("resources") or {}).get("limits") or {}
            secrets = [
                (source.get("secretRef") or {}).get("name")
                for source in main.get("envFrom") or []
                if (source.get("secretRef") or {}).get("name")
            ]
            result.append(
                {
                    "name": item.get("name", ""),
                    "type": item.get("type", ""),
                    "replicas": int(item.get("replicas", 1)),
                    "image": main.get("image", ""),
                    "args": [*(main.get("command") or []), *(main.get("args") or [])],
                    "env": {e.get("name"): e.get("value") for e in main.get("env") or []},
                    "gpus": _int(limits.get("nvidia.com/gpu", 0)),
                    "secret": secrets[0] if secrets else "",
                }
            )
        return result
    for name, service in (spec.get("services") or {}).items():
        service = service or {}
        main = (service.get("extraPodSpec") or {}).get("mainContainer") or {}
        limits = (service.get("resources") or {}).get("limits") or {}
        kind = service.get("componentType", "")
        result.append(
            {
                "name": name,
                "type": service.get("subComponentType") or kind,
                "replicas": int(service.get("replicas", 1)),
                "image": main.get("image", ""),
                "args": [*(main.get("command") or []), *(main.get("args") or [])],
                "env": {e.get("name"): e.get("value") for e in service.get("envs") or []},
                "gpus": _int(limits.get("gpu", 0)),
                "secret": service.get("envFromSecret", ""),
            }
        )
    return result


def _int(value: object) -> int:
    try:
        return int(float(str(value)))
    except ValueError:
        return 0


def workers(components: list[dict]) -> list[dict]:
    return [c for c in components if c["type"] not in ("frontend", "planner", "epp")]


def dgd_model(dgd: dict, components: list[dict] | None = None) -> str:
    """The model it serves: Dynamote's model id, else the worker's --model flag."""
    meta = dgd.get("metadata") or {}
    slug = (meta.get("annotations") or {}).get(MODEL_ID_KEY) or (meta.get("labels") or {}).get(
        MODEL_ID_KEY
    )
    if slug:
        return slug
    for component in workers(components or dgd_components(dgd)):
        model = flag(component["args"], "--model", "--model-path")
        if model:
            return model
    return ""


def dgd_custom_model(dgd: dict) -> dict | None:
    """The facts of a model that is not in the catalog, as Dynamote recorded them, or None."""
    raw = ((dgd.get("metadata") or {}).get("annotations") or {}).get(CUSTOM_MODEL_KEY)
    try:
        facts = json.loads(raw) if raw else None
    except ValueError:
        return None
    return facts if isinstance(facts, dict) else None


def dgd_hf_model(dgd: dict, components: list[dict] | None = None) -> str:
    """The Hugging Face id the workers load (their --model or --model-path flag)."""
    for component in workers(components or dgd_components(dgd)):
        model = flag(component["args"], "--model", "--model-path")
        if model:
            return model
    return ""


def pods_model_engine(pods: list[dict]) -> tuple[str, str]:
    """The model and engine a DGD's pods run (its worker's flags and `dynamo.<engine>` module).

    What is left to read once the DGD itself is deleted and its pods are shutting down.
    """
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            args = [*(container.get("command") or []), *(container.get("args") or [])]
            model = flag(args, "--model", "--model-path")
            engine = next(
                (
                    word.split(".", 1)[1]
                    for word in args
                    if str(word).startswith("dynamo.") and str(word).split(".", 1)[1] in ENGINES
                ),
                "",
            )
            if model or engine:
                return model, engine
    return "", ""


def served_model_name(dgd: dict, components: list[dict] | None = None) -> str:
    """The name clients put in "model": --served-model-name, else the model path."""
    for component in workers(components or dgd_components(dgd)):
        name = flag(component["args"], "--served-model-name") or flag(
            component["args"], "--model", "--model-path"
        )
        if name:
            return name
    return dgd_model(dgd, components)


def dgd_engine(dgd: dict) -> str:
    labels = (dgd.get("metadata") or {}).get("labels") or {}
    return labels.get(ENGINE_LABEL) or (dgd.get("spec") or {}).get("backendFramework", "")


def engine_label(engine: str) -> str:
    """vllm -> vLLM, as people know the engines; anything else as it is."""
    facts = ENGINES.get(engine)
    return facts.label if facts else engine


def is_external(dgd: dict) -> bool:
    """Whether someone other than Dynamote created it."""
    labels = (dgd.get("metadata") or {}).get("labels") or {}
    return labels.get(MANAGED_BY_LABEL) != MANAGED_BY
