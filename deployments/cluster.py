"""The one module that talks to Kubernetes, through the official client.

Every call has a timeout, is logged as one line (verb, resource, namespace, status,
duration; never a secret value) and turns the client's exceptions into ClusterError
subclasses whose message a person can act on. Objects come back as plain dicts.
"""

import gc
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import urllib3
from django.conf import settings
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from deployments.names import NAME_RULE, NAMESPACE_RULE, is_name, is_namespace

logger = logging.getLogger("dynamote.cluster")

GROUP = "nvidia.com"
DGD_PLURAL = "dynamographdeployments"
DGD_CRD_NAME = f"{DGD_PLURAL}.{GROUP}"
DGD_VERSIONS = ("v1beta1", "v1alpha1")  # most preferred first
# Connect within 3 s, answer within 10 s: a slow cluster gets a message within 12 s.
TIMEOUT = (3, 10)
# All the cluster calls of one request share one deadline: the read timeout and a fifth more.
DEADLINE_FACTOR = 1.2
DISCOVERY_TTL = 60.0


class ClusterError(Exception):
    """A cluster call failed; `message` says what happened and what to do."""

    status = 502
    title = "The cluster refused the request"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Unreachable(ClusterError):
    status = 503
    title = "Cluster unreachable"

    def __init__(self, message: str, *, answered: bool = True):
        super().__init__(message)
        # False: no answer at all (timed out, refused), so asking again now would not help.
        self.answered = answered


def _no_answer(error: ClusterError | None) -> bool:
    return isinstance(error, Unreachable) and not error.answered


class Unauthorized(ClusterError):
    # Never 401: a client reads that as "log in to Dynamote again".
    status = 502
    title = "Not authenticated to the cluster"


class Forbidden(ClusterError):
    status = 403
    title = "Forbidden"

    def __init__(self, message: str, *, verb: str = "", resource: str = "", namespace: str = ""):
        super().__init__(message)
        self.verb, self.resource, self.namespace = verb, resource, namespace


class NotFound(ClusterError):
    status = 404
    title = "Not found"


class Conflict(ClusterError):
    status = 409
    title = "Conflict"


@dataclass(frozen=True)
class Cause:
    field: str
    message: str


class Invalid(ClusterError):
    status = 422
    title = "Invalid"

    def __init__(self, message: str, causes: list[Cause]):
        super().__init__(message)
        self.causes = causes


class ServerError(ClusterError):
    status = 502
    title = "Cluster error"


class DynamoNotInstalled(ClusterError):
    status = 503
    title = "Dynamo not installed"


class Expired(ClusterError):
    """A watch asked for changes older than the cluster still keeps (410 Gone): list the
    objects again, then watch from the list's resourceVersion."""

    status = 503
    title = "Watch expired"


class InvalidName(ClusterError):
    """A namespace or name Kubernetes would refuse; raised before any request is sent."""

    status = 400
    title = "Invalid name"


def _check_names(*, namespace: str | None = None, name: str | None = None) -> None:
    """Refuses names that would make the client address another URL than the object's.

    A name of "", "." or ".." turns `…/dynamographdeployments/<name>` into the collection
    itself (a DELETE there deletes every DGD in the namespace); "/", "?" or "#" reach other
    paths. Only names Kubernetes itself accepts are sent.
    """
    if namespace is not None and not is_namespace(namespace):
        raise InvalidName(f"{namespace!r} is not a namespace. {NAMESPACE_RULE}")
    if name is not None and not is_name(name):
        raise InvalidName(f"{name!r} is not a valid name. {NAME_RULE}")


@dataclass(frozen=True)
class Connection:
    """Where Dynamote's cluster is, as configured."""

    server: str
    context: str
    source: str  # the kubeconfig path, or "in-cluster"


@dataclass
class _Client:
    api: k8s.ApiClient
    connection: Connection
    key: tuple
    cache: dict[str, tuple[float, Any]] = field(default_factory=dict)


_lock = threading.Lock()
_current: _Client | None = None


def config_key() -> tuple:
    """What identifies the configured cluster; caches keyed on it forget a replaced one."""
    path = settings.DYNAMOTE_KUBECONFIG
    # A rewritten kubeconfig (the sandbox writes a new one per start) means a new client.
    mtime = Path(path).stat().st_mtime_ns if path and Path(path).exists() else 0
    return (path, mtime, settings.DYNAMOTE_KUBE_CONTEXT, settings.DYNAMOTE_IN_CLUSTER)


def _build_client(key: tuple) -> _Client:
    path, _, context, in_cluster = key
    configuration = k8s.Configuration()
    try:
        if path:
            k8s_config.load_kube_config(
                config_file=path,
                context=context or None,
                client_configuration=configuration,
                persist_config=False,
            )
            _, active = k8s_config.list_kube_config_contexts(config_file=path)
            context_name = context or active["name"]
            source = path
        elif in_cluster:
            k8s_config.load_incluster_config(client_configuration=configuration)
            context_name, source = "in-cluster", "in-cluster"
        else:
            raise Unreachable(
                "No cluster is configured: set DYNAMOTE_KUBECONFIG (or KUBECONFIG), "
                "or run Dynamote inside the cluster."
            )
    except (ConfigException, OSError, ValueError, TypeError) as exc:
        raise Unreachable(f"The kubeconfig cannot be used: {exc}") from exc
    # No retries: a refused or slow call is reported at once instead of multiplied.
    configuration.retries = False
    api = k8s.ApiClient(configuration)
    api.rest_client.pool_manager = _RepeatedHeaders(api.rest_client.pool_manager)
    connection = Connection(configuration.host, context_name, source)
    return _Client(api=api, connection=connection, key=key)


def _client() -> _Client:
    global _current
    key = config_key()
    with _lock:
        if _current is None or _current.key != key:
            _current = _build_client(key)
        return _current


def reset() -> None:
    """Forgets the client and its cached discovery (after a configuration change)."""
    global _current
    with _lock:
        _current = None


def connection() -> Connection:
    return _client().connection


def _message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    return body.get("message") or exc.reason or f"HTTP {exc.status}"


def _causes(exc: ApiException) -> list[Cause]:
    try:
        details = json.loads(exc.body or "{}").get("details") or {}
    except (TypeError, ValueError):
        return []
    return [
        Cause(field=cause.get("field", ""), message=cause.get("message", ""))
        for cause in details.get("causes") or []
    ]


def _translate(
    exc: ApiException, verb: str, resource: str, namespace: str, acting: "Identity | None" = None
) -> ClusterError:
    where = f' in namespace "{namespace}"' if namespace else ""
    message = _message(exc)
    if exc.status == 401:
        return Unauthorized(
            f"The cluster refused Dynamote's credentials ({message}). "
            "Check the token or certificate in the kubeconfig."
        )
    if exc.status == 403 and message.startswith("admission webhook"):
        # The operator's validating webhook refused the object, not RBAC the request.
        return Invalid(f"The cluster refused the {resource}: {message}", _causes(exc))
    if exc.status == 403 and acting is not None:
        return _refused_as(acting, message, verb, resource, namespace)
    if exc.status == 403:
        return Forbidden(
            f"Forbidden: Dynamote may not {verb} {resource}{where}. Grant the verb "
            f'"{verb}" on "{resource}" to Dynamote\'s account. The cluster said: {message}',
            verb=verb,
            resource=resource,
            namespace=namespace,
        )
    if exc.status == 404:
        return NotFound(f"Not found: {message}")
    if exc.status == 409:
        return Conflict(message)
    if exc.status == 422:
        return Invalid(f"The cluster refused the {resource}: {message}", _causes(exc))
    if exc.status == 400 and message.startswith("strict decoding error"):
        # fieldValidation=Strict: the API server names each unknown field in the message.
        causes = [
            Cause(field=name, message=f'unknown field "{name}"')
            for name in re.findall(r'unknown field "([^"]+)"', message)
        ]
        return Invalid(f"The cluster refused the {resource}: {message}", causes)
    if exc.status in (502, 503, 504):
        return Unreachable(
            f"The cluster's API server is unavailable (HTTP {exc.status}: {message}). "
            "Try again in a moment."
        )
    return ServerError(f"The cluster answered HTTP {exc.status}: {message}")


# --- acting as the signed-in user (DYNAMOTE_IMPERSONATE) -------------------------------------


@dataclass(frozen=True)
class Identity:
    """The Kubernetes user and groups a request's writes impersonate."""

    user: str
    groups: tuple[str, ...] = ()


_identity: ContextVar[Identity | None] = ContextVar("cluster_identity", default=None)
# Writes carry the user; reads feed the cache every viewer shares, so they go as Dynamote's
# own account (each namespace's pages are gated by a SelfSubjectAccessReview instead).
IMPERSONATED_VERBS = frozenset({"create", "update", "patch", "delete"})


@contextmanager
def acting_as(identity: Identity | None) -> Iterator[None]:
    """Makes the block's writes and access reviews impersonate `identity` (None: nobody)."""
    token = _identity.set(identity)
    try:
        yield
    finally:
        _identity.reset(token)


def acting() -> Identity | None:
    """The identity the current request's writes impersonate, if any."""
    return _identity.get()


class _Repeated(str):
    """One header sent once per value (Impersonate-Group: one per group), as client-go does."""

    values: tuple[str, ...]

    def __new__(cls, values: tuple[str, ...]):
        header = super().__new__(cls, ", ".join(values))
        header.values = values
        return header


def _impersonation_headers(identity: Identity) -> dict[str, str]:
    headers = {"Impersonate-User": identity.user}
    if len(identity.groups) == 1:
        headers["Impersonate-Group"] = identity.groups[0]
    elif identity.groups:
        headers["Impersonate-Group"] = _Repeated(identity.groups)
    return headers


class _RepeatedHeaders:
    """Wraps the client's urllib3 pool so a _Repeated header goes out once per value: the
    generated client keeps headers in a plain dict, which holds one value per name."""

    def __init__(self, pool) -> None:
        self._pool = pool

    def __getattr__(self, name: str):
        return getattr(self._pool, name)

    def request(self, method, url, *args, headers=None, **kwargs):
        if headers and any(isinstance(value, _Repeated) for value in headers.values()):
            expanded = urllib3.HTTPHeaderDict()
            for key, value in headers.items():
                for one in value.values if isinstance(value, _Repeated) else (value,):
                    expanded.add(key, one)
            headers = expanded
        return self._pool.request(method, url, *args, headers=headers, **kwargs)


def _refused_as(
    identity: Identity, message: str, verb: str, resource: str, namespace: str
) -> Forbidden:
    """A 403 met while impersonating: the user may not do it, or Dynamote may not act as them."""
    if "cannot impersonate" in message:
        return Forbidden(
            f"Forbidden: Dynamote's account may not act as {identity.user}. Grant it the "
            '"impersonate" verb on users and groups (deploy/impersonate/). '
            f"The cluster said: {message}",
            verb="impersonate",
            resource="users",
        )
    where = f' in namespace "{namespace}"' if namespace else ""
    return Forbidden(
        f"Forbidden: Kubernetes does not allow {identity.user} to {verb} {resource}{where}. "
        f"Ask a cluster admin for a RoleBinding that grants it. The cluster said: {message}",
        verb=verb,
        resource=resource,
        namespace=namespace,
    )


# --- one deadline per request ---------------------------------------------------------------


@dataclass
class Deadline:
    """The time one request's cluster calls may take together, and what they met on the way.

    The clock starts at the request's first cluster call (time spent rendering or in the
    database is not the cluster's). After a call got no answer, the request's other calls
    fail at once: a cluster that does not answer costs a request one timeout, not one per call.
    """

    seconds: float
    started: float | None = None  # time.monotonic() of the first cluster call
    down: ClusterError | None = None  # no answer: the rest of the request fails fast
    seen: ClusterError | None = None  # an unreachable cluster met here, fresh or cached

    def remaining(self) -> float:
        if self.started is None:
            return self.seconds
        return self.seconds - (time.monotonic() - self.started)


_deadline: ContextVar[Deadline | None] = ContextVar("cluster_deadline", default=None)


@contextmanager
def deadline(seconds: float | None = None) -> Iterator[Deadline]:
    """Runs the block's cluster calls under one deadline (a request, a background check)."""
    current = Deadline(seconds or TIMEOUT[1] * DEADLINE_FACTOR)
    token = _deadline.set(current)
    try:
        yield current
    finally:
        _deadline.reset(token)


def remaining(default: float) -> float:
    """Seconds left before the current deadline (at most `default`, never below zero)."""
    current = _deadline.get()
    return default if current is None else max(0.0, min(default, current.remaining()))


def seen_unreachable() -> ClusterError | None:
    """An unreachable cluster met during the current request, if any."""
    current = _deadline.get()
    return None if current is None else current.down or current.seen


def note(error: ClusterError | None) -> None:
    """Records an error met outside `_call` (e.g. a cached one) against the current deadline."""
    current = _deadline.get()
    if current is None or error is None:
        return
    if isinstance(error, Unreachable | Unauthorized) and current.seen is None:
        current.seen = error
    if _no_answer(error) and current.down is None:
        current.down = error


def await_answer(answered: threading.Event) -> ClusterError | None:
    """Waits, within the current deadline, for a cluster call made by another thread (the
    mirror's first LIST); the error when the time ran out (the request's other cluster
    calls then fail at once)."""
    if answered.is_set():
        return None
    try:
        _, read = _timeout()  # starts the deadline's clock; fails when it is spent
    except Unreachable as exc:
        return exc
    # As long as one call's answer may take (within the deadline's remaining time).
    if answered.wait(read):
        return None
    error = Unreachable(
        f"The cluster at {_server()} did not answer in time. Check that it is running and "
        "that Dynamote's kubeconfig points at it.",
        answered=False,
    )
    note(error)
    return error


def _timeout() -> tuple[float, float]:
    """This call's (connect, read) timeout; raises Unreachable once the request's deadline is
    spent or the cluster did not answer one of its calls."""
    current = _deadline.get()
    if current is None:
        return TIMEOUT
    if current.down is not None:
        raise Unreachable(current.down.message, answered=False)
    if current.started is None:
        current.started = time.monotonic()
    left = current.remaining()
    if left <= 0.05:
        current.down = Unreachable(
            f"The cluster at {_server()} did not answer in time. Check that it is running and "
            "that Dynamote's kubeconfig points at it.",
            answered=False,
        )
        raise current.down
    return (min(TIMEOUT[0], left), min(TIMEOUT[1], left))


def _server() -> str:
    return _current.connection.server if _current else "the cluster"


def _call(verb: str, resource: str, namespace: str, fn: Callable[..., Any], *args, **kwargs):
    """Runs one API call with the timeout, logging, and error translation."""
    started = time.perf_counter()
    status: int | str = "error"
    identity = _identity.get() if verb in IMPERSONATED_VERBS else None
    if identity is not None:
        kwargs["_headers"] = {**kwargs.get("_headers", {}), **_impersonation_headers(identity)}
    try:
        try:
            timeout = _timeout()
        except Unreachable:
            status = "skipped"
            raise
        result = fn(*args, _request_timeout=timeout, **kwargs)
        status = getattr(result, "status", 200)
        return result
    except ApiException as exc:
        status = exc.status
        error = _translate(exc, verb, resource, namespace, identity)
        note(error)
        raise error from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        status = "unreachable"
        timed_out = "timed out" in str(exc).lower()
        reason = "did not answer in time" if timed_out else "cannot be reached"
        error = Unreachable(
            f"The cluster at {_server()} {reason}. Check that it is running and that "
            "Dynamote's kubeconfig points at it.",
            answered=False,
        )
        note(error)
        raise error from exc
    finally:
        logger.info(
            "cluster verb=%s resource=%s namespace=%s status=%s duration_ms=%.0f%s",
            verb,
            resource,
            namespace or "-",
            status,
            (time.perf_counter() - started) * 1000,
            f" as={identity.user}" if identity else "",
        )


def parse_json(data: bytes) -> dict:
    """Parses a response body with the garbage collector paused.

    A list of thousands of pods makes millions of objects at once; collections triggered in
    the middle of parsing rescan them again and again (measured: 250 ms instead of 65 ms for
    5,000 pods). Nothing parsed here has reference cycles, so nothing is lost by waiting.
    orjson parses the 10 MB of 5,000 pods in about 55 ms where the standard library takes 73.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return orjson.loads(data)
    finally:
        if enabled:
            gc.enable()


def _json(response) -> dict:
    return parse_json(response.data)


def _raw_get(
    path: str,
    verb: str,
    resource: str,
    namespace: str = "",
    query=None,
    accept: str = "application/json",
) -> dict:
    api = _client().api
    request = api.param_serialize(
        "GET",
        path,
        query_params=query or [],
        header_params={"Accept": accept},
        auth_settings=["BearerToken"],
    )

    def send(*, _request_timeout):
        # The raw call does not raise for an error status as the generated methods do.
        response = api.call_api(*request, _request_timeout=_request_timeout)
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        return response

    return _json(_call(verb, resource, namespace, send))


def _cached(name: str, ttl: float, load: Callable[[], Any]) -> Any:
    current = _client()
    now = time.monotonic()
    hit = current.cache.get(name)
    if hit and now - hit[0] < ttl:
        return hit[1]
    value = load()
    current.cache[name] = (now, value)
    return value


# Discovery


def server_version() -> str:
    """The Kubernetes version, e.g. v1.31.2."""
    return _raw_get("/version", "get", "version").get("gitVersion", "unknown")


def dgd_versions() -> list[str]:
    """The DGD versions the cluster serves, preferred first; cached about a minute."""

    def load() -> list[str]:
        try:
            group = _raw_get(f"/apis/{GROUP}", "get", "apigroups")
        except NotFound:
            return []
        served = {version["version"] for version in group.get("versions", [])}
        return [version for version in DGD_VERSIONS if version in served]

    return _cached("dgd_versions", DISCOVERY_TTL, load)


def preferred_dgd_version() -> str:
    versions = dgd_versions()
    if not versions:
        raise DynamoNotInstalled(
            "The cluster serves no DynamoGraphDeployment API: install the Dynamo platform "
            "(its operator and CRDs) in the cluster first."
        )
    return versions[0]


def dgd_crd() -> dict:
    """The cluster's DGD CustomResourceDefinition (with its schemas); cached."""

    def load() -> dict:
        api = k8s.ApiextensionsV1Api(_client().api)
        response = _call(
            "get",
            "customresourcedefinitions",
            "",
            api.read_custom_resource_definition,
            DGD_CRD_NAME,
            _preload_content=False,
        )
        return _json(response)

    return _cached("dgd_crd", DISCOVERY_TTL, load)


# The Dynamo platform's operator: the Deployment its Helm chart installs (labels of the chart)
OPERATOR_SELECTOR = "app.kubernetes.io/name=dynamo-operator,control-plane=controller-manager"


def operator_image(*, namespace: str) -> tuple[str, str]:
    """The Dynamo operator's image in `namespace`, or "" and why it could not be read; cached.

    Reading it needs `list` on Deployments there; without it Dynamote falls back (the reason
    says so) rather than failing the page.
    """
    _check_names(namespace=namespace)

    def load() -> tuple[str, str]:
        try:
            # A plain GET: the namespace passed _check_names, so it is safe in the path.
            found = _raw_get(
                f"/apis/apps/v1/namespaces/{namespace}/deployments",
                "list",
                "deployments",
                namespace,
                query=[("labelSelector", OPERATOR_SELECTOR)],
            )
        except Forbidden:
            return "", (
                f"Dynamote may not list Deployments in {namespace}, so it cannot read the "
                "operator's release (the README's Permissions section has the Role that allows it)."
            )
        except NotFound:
            return "", f"There is no namespace {namespace} to read the operator's release in."
        for item in found.get("items", []):
            pod = ((item.get("spec") or {}).get("template") or {}).get("spec") or {}
            containers = pod.get("containers") or []
            manager = next((c for c in containers if c.get("name") == "manager"), None)
            image = (manager or (containers[0] if containers else {})).get("image", "")
            if image:
                return image, ""
        return "", f"No Dynamo operator Deployment found in {namespace}."

    return _cached(f"operator_image:{namespace}", DISCOVERY_TTL, load)


# Core resources


def namespaces() -> list[str]:
    api = k8s.CoreV1Api(_client().api)
    response = _call("list", "namespaces", "", api.list_namespace, _preload_content=False)
    return sorted(item["metadata"]["name"] for item in _json(response).get("items", []))


# Asks the API server for an object's metadata only: a Secret's values never reach Dynamote.
METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"


def secret_exists(*, namespace: str, name: str) -> bool:
    """Whether the Secret exists; only its metadata is fetched, never its values."""
    _check_names(namespace=namespace, name=name)
    api = k8s.CoreV1Api(_client().api)
    try:
        # The client builds (and quotes) the path from the name and namespace.
        response = _call(
            "get",
            "secrets",
            namespace,
            api.read_namespaced_secret,
            name,
            namespace,
            _headers={"Accept": METADATA_ONLY},
            _preload_content=False,
        )
        response.read()
    except NotFound:
        return False
    return True


def persistent_volume_claims(*, namespace: str) -> list[dict]:
    """The PersistentVolumeClaims of one namespace (for the model-cache choice)."""
    _check_names(namespace=namespace)
    api = k8s.CoreV1Api(_client().api)
    response = _call(
        "list",
        "persistentvolumeclaims",
        namespace,
        api.list_namespaced_persistent_volume_claim,
        namespace,
        _preload_content=False,
    )
    return _json(response).get("items", [])


def nodes() -> list[dict]:
    api = k8s.CoreV1Api(_client().api)
    response = _call("list", "nodes", "", api.list_node, _preload_content=False)
    return _json(response).get("items", [])


def pods(*, namespace: str | None, label_selector: str = "") -> list[dict]:
    """Pods in one namespace, or in all when namespace is None."""
    return pod_listing(namespace=namespace, label_selector=label_selector)[0]


def pod_listing(*, namespace: str | None, label_selector: str = "") -> tuple[list[dict], str]:
    """Pods in one namespace (or all), and the list's resourceVersion to watch from."""
    _check_names(namespace=namespace)
    api = k8s.CoreV1Api(_client().api)
    if namespace is None:
        response = _call(
            "list",
            "pods",
            "",
            api.list_pod_for_all_namespaces,
            label_selector=label_selector,
            _preload_content=False,
        )
    else:
        response = _call(
            "list",
            "pods",
            namespace,
            api.list_namespaced_pod,
            namespace,
            label_selector=label_selector,
            _preload_content=False,
        )
    listed = _json(response)
    return listed.get("items", []), listed.get("metadata", {}).get("resourceVersion", "")


def pod_log(*, namespace: str, name: str, tail_lines: int = 20, previous: bool = False) -> str:
    """The last lines of a pod's log; `previous` reads the container's run before this one."""
    _check_names(namespace=namespace, name=name)
    api = k8s.CoreV1Api(_client().api)
    response = _call(
        "get",
        "pods/log",
        namespace,
        api.read_namespaced_pod_log,
        name,
        namespace,
        tail_lines=tail_lines,
        previous=previous,
        _preload_content=False,
    )
    return response.data.decode("utf-8", errors="replace")


class LogStream:
    """An open pod log: its lines as the cluster sends them; `close` works from any thread."""

    def __init__(self, response: urllib3.HTTPResponse) -> None:
        self._response = response
        self._closed = False

    def lines(self) -> Iterator[str]:
        """Each line without its newline, until the log ends or the stream is closed."""
        pending = b""
        try:
            for chunk in self._response.stream(amt=None if self._response.chunked else 65536):
                pending += chunk
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line.decode("utf-8", errors="replace")
        except Exception as exc:
            if self._closed:
                # Closed from another thread mid-read: urllib3 and http.client then fail in
                # ways of their own (a socket error, or a file object already set to None).
                return
            if not isinstance(exc, (urllib3.exceptions.HTTPError, OSError)):
                raise
            raise Unreachable(
                f"The cluster at {_server()} stopped sending the log. Try again in a moment.",
                answered=False,
            ) from exc
        if pending and not self._closed:
            yield pending.decode("utf-8", errors="replace")

    def close(self) -> None:
        """Hang up: a read blocked in another thread returns, and the cluster ends the stream."""
        self._closed = True
        try:
            self._response.shutdown()
        except (RuntimeError, ValueError, OSError):
            pass  # read to the end (the connection is back in the pool), or already closed
        finally:
            self._response.release_conn()
            self._response.close()


def pod_log_stream(
    *,
    namespace: str,
    name: str,
    container: str = "",
    follow: bool = False,
    tail_lines: int | None = None,
    since_seconds: int | None = None,
    timestamps: bool = False,
    previous: bool = False,
) -> LogStream:
    """A pod container's log; with `follow` it stays open while the container runs."""
    _check_names(namespace=namespace, name=name)
    api = k8s.CoreV1Api(_client().api)
    options = {
        "container": container or None,
        "follow": follow or None,
        "tail_lines": tail_lines,
        "since_seconds": since_seconds,
        "timestamps": timestamps or None,
        "previous": previous or None,
    }

    def read(*args, _request_timeout, **kwargs):
        # A followed log may stay quiet for long: a day's read timeout; closing it ends the read.
        timeout = (_request_timeout[0], 86_400) if follow else _request_timeout
        return api.read_namespaced_pod_log(*args, _request_timeout=timeout, **kwargs)

    response = _call(
        "get",
        "pods/log",
        namespace,
        read,
        name,
        namespace,
        _preload_content=False,
        **{key: value for key, value in options.items() if value is not None},
    )
    return LogStream(response)


# DynamoGraphDeployments


def _custom() -> k8s.CustomObjectsApi:
    return k8s.CustomObjectsApi(_client().api)


def dgd_list(*, namespace: str | None, label_selector: str = "") -> list[dict]:
    """DGDs in one namespace, or in all when namespace is None, in the preferred version."""
    return dgd_listing(namespace=namespace, label_selector=label_selector)[0]


def dgd_listing(*, namespace: str | None, label_selector: str = "") -> tuple[list[dict], str]:
    """DGDs in one namespace (or all), and the list's resourceVersion to watch from."""
    _check_names(namespace=namespace)
    version = preferred_dgd_version()
    api = _custom()
    if namespace is None:
        response = _call(
            "list",
            DGD_PLURAL,
            "",
            api.list_cluster_custom_object,
            GROUP,
            version,
            DGD_PLURAL,
            label_selector=label_selector,
            _preload_content=False,
        )
    else:
        response = _call(
            "list",
            DGD_PLURAL,
            namespace,
            api.list_namespaced_custom_object,
            GROUP,
            version,
            namespace,
            DGD_PLURAL,
            label_selector=label_selector,
            _preload_content=False,
        )
    listed = _json(response)
    return listed.get("items", []), listed.get("metadata", {}).get("resourceVersion", "")


def dgd_get(*, namespace: str, name: str) -> dict:
    _check_names(namespace=namespace, name=name)
    version = preferred_dgd_version()
    response = _call(
        "get",
        DGD_PLURAL,
        namespace,
        _custom().get_namespaced_custom_object,
        GROUP,
        version,
        namespace,
        DGD_PLURAL,
        name,
        _preload_content=False,
    )
    return _json(response)


def dgd_create(*, manifest: dict, dry_run: bool = False) -> dict:
    """Creates the DGD in the manifest's own namespace and version."""
    namespace = manifest["metadata"]["namespace"]
    _check_names(namespace=namespace, name=manifest["metadata"].get("name"))
    version = manifest["apiVersion"].split("/", 1)[1]
    # Strict: a field the CRD does not know is refused (400 with its path), never dropped.
    kwargs = {"field_validation": "Strict", **({"dry_run": "All"} if dry_run else {})}
    response = _call(
        "create",
        DGD_PLURAL,
        namespace,
        _custom().create_namespaced_custom_object,
        GROUP,
        version,
        namespace,
        DGD_PLURAL,
        manifest,
        _preload_content=False,
        **kwargs,
    )
    return _json(response)


def dgd_delete(*, namespace: str, name: str) -> dict:
    _check_names(namespace=namespace, name=name)
    version = preferred_dgd_version()
    response = _call(
        "delete",
        DGD_PLURAL,
        namespace,
        _custom().delete_namespaced_custom_object,
        GROUP,
        version,
        namespace,
        DGD_PLURAL,
        name,
        propagation_policy="Foreground",
        _preload_content=False,
    )
    return _json(response)


# Dashboard


def namespace_events(*, namespace: str) -> list[dict]:
    """Every event in a namespace in one call (callers filter by involved object)."""
    _check_names(namespace=namespace)
    api = k8s.CoreV1Api(_client().api)
    response = _call(
        "list", "events", namespace, api.list_namespaced_event, namespace, _preload_content=False
    )
    return _json(response).get("items", [])


# Watches

WATCH_SECONDS = 300  # the server ends a watch after this; the caller watches again from there


def dgd_watch(
    *,
    namespace: str,
    resource_version: str,
    timeout_seconds: int = WATCH_SECONDS,
    label_selector: str = "",
) -> Iterator[tuple[str, dict]]:
    """Changes to the DGDs of a namespace (preferred version) after resource_version."""
    _check_names(namespace=namespace)
    version = preferred_dgd_version()
    api = _custom()

    def list_dgds(**kwargs):
        return api.list_namespaced_custom_object(GROUP, version, namespace, DGD_PLURAL, **kwargs)

    return _watch(
        DGD_PLURAL, namespace, list_dgds, resource_version, timeout_seconds, label_selector
    )


def pod_watch(
    *,
    namespace: str,
    resource_version: str,
    timeout_seconds: int = WATCH_SECONDS,
    label_selector: str = "",
) -> Iterator[tuple[str, dict]]:
    """Changes to the pods of a namespace after resource_version."""
    _check_names(namespace=namespace)
    api = k8s.CoreV1Api(_client().api)

    def list_pods(**kwargs):
        return api.list_namespaced_pod(namespace, **kwargs)

    return _watch("pods", namespace, list_pods, resource_version, timeout_seconds, label_selector)


def _watch(
    resource: str,
    namespace: str,
    list_call: Callable[..., Any],
    resource_version: str,
    timeout_seconds: int,
    label_selector: str,
    *,
    stall_seconds: float | None = None,
    watcher: "Watcher | None" = None,
) -> Iterator[tuple[str, dict]]:
    """(type, object) for each ADDED, MODIFIED, DELETED or BOOKMARK event, until the server
    ends the watch after timeout_seconds. Raises Expired when resource_version is too old,
    Stalled when nothing (not even a BOOKMARK) arrives for stall_seconds.

    list_call has no return annotation or documented return type, so watch.Watch hands
    the objects over as plain dicts instead of building client models for them.
    """
    started = time.perf_counter()
    status: int | str = 200
    count = 0
    watcher = watcher or Watcher()
    # The read timeout counts from the last byte received: a silent watch is a stalled one.
    read_timeout = stall_seconds if stall_seconds else timeout_seconds + TIMEOUT[1]

    def open_stream(**kwargs):  # no docstring: the events carry plain dicts
        response = list_call(**kwargs)
        if 200 <= getattr(response, "status", 200) <= 299:
            watcher.opened()
        return response

    events = watcher.watch.stream(
        open_stream,
        resource_version=resource_version,
        timeout_seconds=timeout_seconds,  # also stops the client from resuming on its own
        allow_watch_bookmarks=True,
        label_selector=label_selector,
        _request_timeout=(TIMEOUT[0], read_timeout),
    )
    where = f' in namespace "{namespace}"' if namespace else ""
    try:
        for event in events:
            count += 1
            yield event["type"], event["raw_object"]
    except ApiException as exc:
        status = exc.status
        if exc.status == 410:
            raise Expired(
                f"The watch of {resource}{where} fell behind: the cluster no longer keeps "
                f"changes since resourceVersion {resource_version}. List them again, then watch "
                "from the list's resourceVersion."
            ) from exc
        raise _translate(exc, "watch", resource, namespace) from exc
    except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        if watcher.stopped:
            status = "stopped"
            return
        if not _timed_out(exc):
            status = "unreachable"
            raise Unreachable(
                f"The watch of {resource} at {_server()} was cut off. Check that the cluster "
                "is running, then list and watch again.",
                answered=False,
            ) from exc
        status = "stalled"
        raise Stalled(
            f"The watch of {resource}{where} at {_server()} sent nothing for "
            f"{read_timeout:.0f} s, not even a bookmark; watching again.",
            answered=False,
        ) from exc
    except AttributeError:
        if not watcher.stopped:
            raise
        status = "stopped"  # stopped from another thread mid-read: http.client's file is gone
    finally:
        events.close()
        logger.info(
            "cluster verb=watch resource=%s namespace=%s status=%s events=%d duration_ms=%.0f",
            resource,
            namespace or "-",
            status,
            count,
            (time.perf_counter() - started) * 1000,
        )


def _timed_out(exc: BaseException) -> bool:
    """Whether a read failed for its timeout (urllib3 wraps it in several ways)."""
    while exc is not None:
        if isinstance(
            exc, urllib3.exceptions.ConnectTimeoutError | urllib3.exceptions.NewConnectionError
        ):
            return False
        if isinstance(exc, TimeoutError | urllib3.exceptions.ReadTimeoutError):
            return True
        if "timed out" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class Stalled(Unreachable):
    """A watch that stays open but sends nothing, not even its bookmarks."""


class Watcher:
    """One watch request that another thread may stop at once (it closes the connection);
    `on_open` is called when the cluster accepted it (before any event)."""

    def __init__(self, on_open: Callable[[], None] | None = None) -> None:
        self.watch = k8s_watch.Watch()
        self.stopped = False
        self._on_open = on_open

    def opened(self) -> None:
        if self._on_open is not None:
            self._on_open()

    def stop(self) -> None:
        self.stopped = True
        self.watch.stop()


# The resources the mirror keeps: what its LIST and WATCH call, in one namespace or in all.
MIRRORED = ("dgds", "pods", "events", "nodes", "namespaces")


def _mirror_call(resource: str, namespace: str | None) -> tuple[str, Callable[..., Any]]:
    """The Kubernetes resource name and the client's list method (also used to watch)."""
    if resource == "dgds":
        version, api = preferred_dgd_version(), _custom()
        if namespace is None:
            return DGD_PLURAL, lambda **kw: api.list_cluster_custom_object(
                GROUP, version, DGD_PLURAL, **kw
            )
        return DGD_PLURAL, lambda **kw: api.list_namespaced_custom_object(
            GROUP, version, namespace, DGD_PLURAL, **kw
        )
    core = k8s.CoreV1Api(_client().api)
    if resource in ("pods", "events"):
        if namespace is None:
            method = getattr(core, f"list_{resource[:-1]}_for_all_namespaces")
            return resource, lambda **kw: method(**kw)
        method = getattr(core, f"list_namespaced_{resource[:-1]}")
        return resource, lambda **kw: method(namespace, **kw)
    if resource in ("nodes", "namespaces"):
        method = getattr(core, f"list_{resource[:-1]}")
        return resource, lambda **kw: method(**kw)
    raise ValueError(f"Dynamote does not mirror {resource!r}")


def listing(
    resource: str, *, namespace: str | None = None, label_selector: str = ""
) -> tuple[list[dict], str]:
    """One LIST of a mirrored resource (in one namespace, or all): its items and the
    list's resourceVersion to watch from."""
    _check_names(namespace=namespace)
    name, call = _mirror_call(resource, namespace)
    response = _call(
        "list",
        name,
        namespace or "",
        call,
        label_selector=label_selector,
        _preload_content=False,
    )
    listed = _json(response)
    return listed.get("items") or [], listed.get("metadata", {}).get("resourceVersion", "")


def watch(
    resource: str,
    *,
    namespace: str | None,
    resource_version: str,
    timeout_seconds: int = WATCH_SECONDS,
    label_selector: str = "",
    stall_seconds: float | None = None,
    watcher: Watcher | None = None,
) -> Iterator[tuple[str, dict]]:
    """The changes of a mirrored resource after resource_version (see `_watch`)."""
    _check_names(namespace=namespace)
    name, call = _mirror_call(resource, namespace)

    def list_call(**kwargs):  # no docstring: the events carry plain dicts
        return call(**kwargs)

    return _watch(
        name,
        namespace or "",
        list_call,
        resource_version,
        timeout_seconds,
        label_selector,
        stall_seconds=stall_seconds,
        watcher=watcher,
    )


# Changing a DynamoGraphDeployment


def dgd_patch(*, namespace: str, name: str, version: str, ops: list[dict]) -> dict:
    """Applies a JSON patch (RFC 6902) to the DGD as served in `version`.

    An op that sets `/metadata/resourceVersion` makes it conditional: the cluster answers 409
    (Conflict) when the DGD changed since that version was read.
    """
    return _dgd_patch(namespace, name, version, ops, "application/json-patch+json")


def dgd_merge_patch(*, namespace: str, name: str, version: str, patch: dict) -> dict:
    """Applies a JSON merge patch to the DGD in the given version.

    A `metadata.resourceVersion` in the patch is a precondition: the cluster answers 409
    (Conflict) when the DGD changed since it was read, and nothing is written.
    """
    return _dgd_patch(namespace, name, version, patch, "application/merge-patch+json")


def _dgd_patch(namespace: str, name: str, version: str, body, content_type: str) -> dict:
    _check_names(namespace=namespace, name=name)
    response = _call(
        "patch",
        DGD_PLURAL,
        namespace,
        _custom().patch_namespaced_custom_object,
        GROUP,
        version,
        namespace,
        DGD_PLURAL,
        name,
        body,
        field_validation="Strict",
        _content_type=content_type,
        _preload_content=False,
    )
    return _json(response)


def dgd_replace(*, manifest: dict, dry_run: bool = False) -> dict:
    """Replaces the DGD with `manifest`, which carries the resourceVersion it was read at."""
    meta = manifest["metadata"]
    _check_names(namespace=meta["namespace"], name=meta["name"])
    version = manifest["apiVersion"].split("/", 1)[1]
    kwargs = {"field_validation": "Strict", **({"dry_run": "All"} if dry_run else {})}
    response = _call(
        "update",
        DGD_PLURAL,
        meta["namespace"],
        _custom().replace_namespaced_custom_object,
        GROUP,
        version,
        meta["namespace"],
        DGD_PLURAL,
        meta["name"],
        manifest,
        _preload_content=False,
        **kwargs,
    )
    return _json(response)


DGDSA_PLURAL = "dynamographdeploymentscalingadapters"


def dgdsa_scale(*, namespace: str, name: str, replicas: int) -> dict:
    """Sets a DynamoGraphDeploymentScalingAdapter's replicas through its scale subresource."""
    _check_names(namespace=namespace, name=name)
    response = _call(
        "patch",
        f"{DGDSA_PLURAL}/scale",
        namespace,
        _custom().patch_namespaced_custom_object_scale,
        GROUP,
        "v1beta1",
        namespace,
        DGDSA_PLURAL,
        name,
        {"spec": {"replicas": replicas}},
        _content_type="application/merge-patch+json",
        _preload_content=False,
    )
    return _json(response)


# Access reviews (DYNAMOTE_IMPERSONATE)


def can_i(
    *, verb: str, resource: str, namespace: str, group: str = GROUP, subresource: str = ""
) -> bool:
    """Whether the acting user may do `verb` on `resource` in `namespace` (a
    SelfSubjectAccessReview made as that user; as Dynamote's own account outside a request)."""
    _check_names(namespace=namespace or None)
    attributes = {"verb": verb, "group": group, "resource": resource, "namespace": namespace}
    if subresource:
        attributes["subresource"] = subresource
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    api = k8s.AuthorizationV1Api(_client().api)
    response = _call(
        "create",
        "selfsubjectaccessreviews",
        namespace,
        api.create_self_subject_access_review,
        body,
        _preload_content=False,
    )
    return bool((_json(response).get("status") or {}).get("allowed"))


# The deployment's frontend and workers, through the API server's service and pod proxies


class FrontendUnavailable(ClusterError):
    """The API server could not reach the frontend (no Ready pod, nothing listening)."""

    status = 503
    title = "The frontend is not serving"


@dataclass
class ProxyAnswer:
    """What the frontend (or a pod) answered: status, content type and the unread body.

    Read it with `chunks()` (as the frontend sends them) or `read()`; `close()` hangs up, so
    the frontend stops generating too. Always closed by whoever holds it.
    """

    status: int
    content_type: str
    response: Any

    def chunks(self) -> Iterator[bytes]:
        yield from self.response.stream(decode_content=True)

    def read(self) -> bytes:
        try:
            return self.response.read()
        finally:
            self.response.release_conn()

    def close(self) -> None:
        # shutdown() breaks a read blocked in another thread; close() frees the socket.
        # Read to the end, the connection is already back in the pool: nothing to break.
        with suppress(AttributeError, RuntimeError):
            self.response.shutdown()
        self.response.close()
        self.response.release_conn()


def frontend_service_path(*, namespace: str, name: str, path: str) -> str:
    """The service proxy path of a deployment's frontend (port 8000) for `path` (/v1/models)."""
    _check_names(namespace=namespace, name=name)
    service = f"{name}-frontend:{FRONTEND_PORT}"
    return f"/api/v1/namespaces/{namespace}/services/{service}/proxy{path}"


FRONTEND_PORT = 8000
SYSTEM_PORT = 9090  # workers' metrics


def frontend_request(
    *,
    namespace: str,
    name: str,
    path: str,
    method: str = "GET",
    body: dict | None = None,
    read_timeout: float = TIMEOUT[1],
) -> ProxyAnswer:
    """Sends a request to the deployment's frontend and returns its answer unread.

    Through the API server's service proxy (RBAC `services/proxy`: get for GET, create for
    POST), or straight to DYNAMOTE_FRONTEND_URL when set. Any status the frontend itself
    answers comes back as is; the API server's own refusals become ClusterError.
    """
    template = settings.DYNAMOTE_FRONTEND_URL
    if template:
        _check_names(namespace=namespace, name=name)
        url = template.format(name=name, namespace=namespace).rstrip("/") + path
        return _direct(url, method, body, read_timeout)
    proxy_path = frontend_service_path(namespace=namespace, name=name, path=path)
    return _proxied(proxy_path, "services/proxy", namespace, method, body, read_timeout)


def pod_proxy_get(*, namespace: str, pod: str, port: int, path: str) -> ProxyAnswer:
    """GET `path` on one pod's port through the API server's pod proxy (RBAC `pods/proxy`)."""
    _check_names(namespace=namespace, name=pod)
    proxy_path = f"/api/v1/namespaces/{namespace}/pods/{pod}:{int(port)}/proxy{path}"
    return _proxied(proxy_path, "pods/proxy", namespace, "GET", None, TIMEOUT[1])


def _proxied(
    path: str, resource: str, namespace: str, method: str, body: dict | None, read: float
) -> ProxyAnswer:
    api = _client().api
    headers = {"Accept": "application/json, text/event-stream, text/plain"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = api.param_serialize(
        method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
    )
    verb = "get" if method == "GET" else "create"
    started = time.perf_counter()
    status: int | str = "error"
    try:
        response = api.call_api(*request, _request_timeout=(TIMEOUT[0], read)).response
        status = response.status
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        status = "unreachable"
        raise _no_frontend_answer(exc, read) from exc
    finally:
        logger.info(
            "cluster verb=%s resource=%s namespace=%s status=%s duration_ms=%.0f",
            verb,
            resource,
            namespace or "-",
            status,
            (time.perf_counter() - started) * 1000,
        )
    answer = ProxyAnswer(response.status, response.headers.get("Content-Type", ""), response)
    if response.status >= 400:
        raw = answer.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and parsed.get("kind") == "Status":
            # The API server's own answer: RBAC, no endpoints, no such Service.
            message = parsed.get("message") or f"HTTP {response.status}"
            if response.status == 503:
                raise FrontendUnavailable(
                    f"The cluster cannot reach the frontend: {message}. It answers once a "
                    "frontend pod is Ready; see the pods on the details page."
                )
            exc = ApiException(status=response.status, reason=message)
            exc.body = raw.decode("utf-8", errors="replace")
            raise _translate(exc, verb, resource, namespace)
        answer = ProxyAnswer(response.status, answer.content_type, _Buffered(raw))
    return answer


def _direct(url: str, method: str, body: dict | None, read: float) -> ProxyAnswer:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    started = time.perf_counter()
    status: int | str = "error"
    try:
        response = _http.request(
            method,
            url,
            body=data,
            headers=headers,
            preload_content=False,
            timeout=urllib3.Timeout(connect=TIMEOUT[0], read=read),
            retries=False,
        )
        status = response.status
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        status = "unreachable"
        raise _no_frontend_answer(exc, read, url=url) from exc
    finally:
        logger.info(
            "frontend method=%s url=%s status=%s duration_ms=%.0f",
            method,
            url,
            status,
            (time.perf_counter() - started) * 1000,
        )
    return ProxyAnswer(response.status, response.headers.get("Content-Type", ""), response)


_http = urllib3.PoolManager()


def _no_frontend_answer(exc: Exception, read: float, *, url: str = "") -> ClusterError:
    where = url or _server()
    if "timed out" in str(exc).lower():
        return Unreachable(
            f"The frontend did not answer within {read:g} s (through {where}). The model may "
            "be busy or still loading; try again, or raise DYNAMOTE_CHAT_TIMEOUT.",
            answered=False,
        )
    return Unreachable(
        f"{where} cannot be reached. Check that the cluster is running and that Dynamote "
        "can connect to it.",
        answered=False,
    )


class _Buffered:
    """A body already read, with the streamed response's reading methods."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, decode_content: bool = True) -> Iterator[bytes]:
        yield self.data

    def read(self) -> bytes:
        return self.data

    def release_conn(self) -> None:
        pass

    def shutdown(self) -> None:
        pass

    def close(self) -> None:
        pass
