"""The API server's service and pod proxies, in front of the simulated frontends and workers.

`/api/v1/namespaces/<ns>/services/<[scheme:]name[:port]>/proxy/<path>` reaches a Ready pod
behind the Service, `/api/v1/namespaces/<ns>/pods/<[scheme:]name[:port]>/proxy/<path>` one pod,
as the API server does: RBAC on `services/proxy` and `pods/proxy` (verb from the HTTP method),
its 503s for a Service without endpoints or a port it does not have, and the backend's own
answer otherwise. Frontend pods serve the OpenAI API on 8000, workers their metrics on 9090.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass

from .operator import COMPONENT_LABEL, DGD, DGD_LABEL, FRONTEND_PORT, components_of
from .traffic import BadRequest, Served, Traffic, error_body, exposition, parse_chat, served

SYSTEM_PORT = 9090  # Dynamo's system port: workers' /metrics and /health
PROXY_PATH = re.compile(
    r"^/api/v1/namespaces/(?P<namespace>[^/]+)/(?P<kind>services|pods)/(?P<target>[^/]+)/proxy"
    r"(?P<rest>/.*)?$"
)
VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
_SCHEMES = ("", "http", "https")


class ProxyError(Exception):
    """An answer of the API server itself (a Status), not of the backend."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Target:
    """A parsed proxy request."""

    namespace: str
    kind: str  # services | pods
    segment: str  # as in the URL: [scheme:]name[:port]; RBAC and messages use it as the name
    scheme: str
    name: str
    port: str
    path: str  # the rest of the path, e.g. /v1/models

    @property
    def verb_resource(self) -> str:
        return f"{self.kind}/proxy"


def parse(path: str) -> Target | None:
    """The proxy target of a path, or None for any other path; ProxyError for a bad one."""
    found = PROXY_PATH.match(path)
    if not found:
        return None
    segment = found["target"]
    parts = segment.split(":")
    # As the API server's SplitSchemeNamePort: name, name:port or scheme:name:port.
    if len(parts) == 1:
        scheme, name, port = "", parts[0], ""
    elif len(parts) == 2:
        scheme, name, port = "", parts[0], parts[1]
    elif len(parts) == 3:
        scheme, name, port = parts
    else:
        scheme, name, port = "?", "", ""
    if not name or scheme not in _SCHEMES:
        kind = "service" if found["kind"] == "services" else "pod"
        raise ProxyError(400, f'invalid {kind} request "{segment}"')
    return Target(
        found["namespace"], found["kind"], segment, scheme, name, port, found["rest"] or "/"
    )


def _ready(pod: dict) -> bool:
    if pod["metadata"].get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _matches(pod: dict, selector: dict) -> bool:
    labels = pod["metadata"].get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@dataclass
class Backend:
    """Where a request lands: a pod, its port, and the deployment it belongs to."""

    pod: dict
    port: int


class Proxy:
    """Resolves proxy targets in the store and answers for the simulated backends."""

    def __init__(self, store, traffic: Traffic) -> None:
        self.store = store
        self.traffic = traffic
        self._turns: dict[tuple[str, str], itertools.count] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ resolving

    def resolve(self, target: Target) -> Backend:
        """The pod and port a request reaches (called under the API's lock)."""
        if target.kind == "services":
            return self._service_backend(target)
        return self._pod_backend(target)

    def _service_backend(self, target: Target) -> Backend:
        service = self.store.get("services", target.namespace, target.name)
        if service is None:
            raise ProxyError(404, f'services "{target.name}" not found')
        ports = (service.get("spec") or {}).get("ports") or []
        port = next(
            (
                p
                for p in ports
                if (target.port and target.port in (p.get("name"), str(p.get("port"))))
                or (not target.port and len(ports) == 1)
            ),
            None,
        )
        if port is None:
            raise ProxyError(
                503, f'no service port "{target.port}" found for service "{target.name}"'
            )
        selector = (service.get("spec") or {}).get("selector") or {}
        pods = sorted(
            (
                p
                for p in self.store.objects("pods", target.namespace)
                if _matches(p, selector) and _ready(p)
            ),
            key=lambda p: p["metadata"]["name"],
        )
        if not pods:
            raise ProxyError(503, f'no endpoints available for service "{target.name}"')
        return Backend(pods[0], int(port.get("targetPort") or port["port"]))

    def _pod_backend(self, target: Target) -> Backend:
        pod = self.store.get("pods", target.namespace, target.name)
        if pod is None:
            raise ProxyError(404, f'pods "{target.name}" not found')
        port = int(target.port) if target.port.isdigit() else 80
        return Backend(pod, port)

    # ------------------------------------------------------------------ answering

    def answer(self, target: Target, backend: Backend, method: str, body: bytes):
        """(status, content type, body or chunks) of the backend; ProxyError when unreachable."""
        pod = backend.pod
        ip = (pod.get("status") or {}).get("podIP", "")
        labels = pod["metadata"].get("labels") or {}
        is_frontend = labels.get("nvidia.com/dynamo-component-type") == "frontend"
        listens = FRONTEND_PORT if is_frontend else SYSTEM_PORT
        if not ip or backend.port != listens or target.scheme == "https":
            reason = (
                "tls: first record does not look like a TLS handshake"
                if ip and backend.port == listens
                else f"dial tcp {ip}:{backend.port}: connect: connection refused"
            )
            raise ProxyError(503, f"error trying to reach service: {reason}")
        self._forget_gone()
        if is_frontend:
            return self._frontend(pod, target.path, method, body)
        return self._worker(pod, target.path, method)

    def _deployment(self, pod: dict) -> tuple[dict | None, list]:
        labels = pod["metadata"].get("labels") or {}
        dgd = self.store.get(DGD, pod["metadata"]["namespace"], labels.get(DGD_LABEL, ""))
        return dgd, components_of(dgd) if dgd else []

    def _served(self, pod: dict) -> tuple[Served | None, list[dict]]:
        """The model the deployment's workers serve, and their Ready pods (decode first)."""
        dgd, components = self._deployment(pod)
        namespace = pod["metadata"]["namespace"]
        serving = [c for c in components if c.type in ("worker", "decode")]
        for component in serving:
            work = component.work
            if work.engine not in ("vllm", "sglang", "trtllm", "mocker"):
                continue
            model = served(
                [*component.container.get("command", []), *(component.container.get("args") or [])],
                work,
            )
            pods = sorted(
                (
                    p
                    for p in self.store.objects("pods", namespace)
                    if _ready(p)
                    and (p["metadata"].get("labels") or {}).get(DGD_LABEL)
                    == dgd["metadata"]["name"]
                    and (p["metadata"].get("labels") or {}).get(COMPONENT_LABEL) == component.name
                ),
                key=lambda p: p["metadata"]["name"],
            )
            return model, pods
        return None, []

    def _frontend(self, pod: dict, path: str, method: str, body: bytes):
        namespace, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        front = self.traffic.frontend(namespace, name)
        model, workers = self._served(pod)
        if path == "/metrics" and method == "GET":
            return 200, "text/plain; version=0.0.4; charset=utf-8", exposition(front.registry)
        if path == "/health" and method == "GET":
            endpoints = [f"dyn://{namespace}.{w['metadata']['name']}.generate" for w in workers]
            healthy = bool(workers)
            status = {"status": "healthy" if healthy else "unhealthy", "endpoints": endpoints}
            return (200 if healthy else 503), "application/json", json.dumps(status).encode()
        if path == "/v1/models" and method == "GET":
            data = []
            if model is not None and workers:
                data.append(
                    {"id": model.model, "object": "model", "created": 0, "owned_by": "nvidia"}
                )
            return 200, "application/json", json.dumps({"object": "list", "data": data}).encode()
        if path == "/v1/chat/completions":
            if method != "POST":
                return 405, "application/json", error_body(405, "Method Not Allowed")
            if model is None:
                return 404, "application/json", error_body(404, "Model not found")
            try:
                chat = parse_chat(body, model)
            except BadRequest as err:
                return 400, "application/json", error_body(400, str(err))
            if chat.model != model.model or not workers:
                return 404, "application/json", error_body(404, f"Model not found: {chat.model}")
            worker_pod = workers[self._turn(namespace, name) % len(workers)]
            worker = self._worker_metrics(worker_pod, model)
            chunks = self.traffic.complete(chat, model, front, worker)
            kind = "text/event-stream" if chat.stream else "application/json"
            return 200, kind, chunks
        return 404, "application/json", error_body(404, f"Not Found: {path}")

    def _worker(self, pod: dict, path: str, method: str):
        if method != "GET" or path not in ("/metrics", "/health", "/live"):
            return 404, "text/plain", b"Not Found"
        if path != "/metrics":
            return 200, "application/json", json.dumps({"status": "ready"}).encode()
        model, _workers = self._served(pod)
        metrics = self._worker_metrics(pod, model)
        return 200, "text/plain; version=0.0.4; charset=utf-8", exposition(metrics.registry)

    def _worker_metrics(self, pod: dict, model: Served | None):
        labels = pod["metadata"].get("labels") or {}
        namespace = pod["metadata"]["namespace"]
        metric_labels = {
            "dynamo_namespace": labels.get(
                "nvidia.com/dynamo-namespace", f"{namespace}-{labels.get(DGD_LABEL, '')}"
            ),
            "dynamo_component": labels.get(COMPONENT_LABEL, ""),
            "dynamo_endpoint": "generate",
        }
        blocks = model.total_blocks() if model is not None else 0
        return self.traffic.worker(namespace, pod["metadata"]["name"], metric_labels, blocks)

    def _turn(self, namespace: str, frontend: str) -> int:
        """Round-robin over the workers, per frontend."""
        with self._lock:
            counter = self._turns.setdefault((namespace, frontend), itertools.count())
            return next(counter)

    def _forget_gone(self) -> None:
        live = {
            (p["metadata"]["namespace"], p["metadata"]["name"]) for p in self.store.objects("pods")
        }
        self.traffic.forget(live)
