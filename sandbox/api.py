"""The Kubernetes API the sandbox serves: routing, authentication, RBAC, CRUD and discovery.

Transport-free: handle() takes a method, path, headers and body and returns a Response, so
the HTTP layer (server.py) stays a thin adapter.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import random
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import yaml

from . import adapters, cel, protobuf, proxy, schema
from .clock import Clock, rfc3339
from .conversion import convert_dgd
from .logs import LogError, LogOptions, Run, follow
from .operator import Simulation
from .rbac import (
    RBAC_GROUP,
    Subject,
    allowed,
    authenticated,
    binding_errors,
    bound_rules,
    forbidden_message,
    impersonated,
    impersonation_checks,
)
from .seed import namespace_object
from .selectors import SelectorError, label_matcher, parse_field_selector, parse_label_selector
from .store import INDEXED_LABEL, Entry, Store, dumps
from .traffic import Traffic
from .watch import BOOKMARK_INTERVAL, Watch, WatchError, WatchOptions

KUBE_VERSION = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.0-dynamote-sandbox",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.24.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

_REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
_FAULT_MESSAGES = {
    401: "Unauthorized",
    403: "forbidden: access denied (sandbox fault injection)",
    429: "the server has received too many requests and has asked us to try again later",
    500: "Internal error occurred: sandbox fault injection",
    503: "the server is currently unable to handle the request",
    504: "the server was unable to return a response in the time allotted",
}
_FIELDS_COMMON = frozenset({"metadata.name", "metadata.namespace"})
_FIELDS = {
    "pods": _FIELDS_COMMON
    | {
        "spec.nodeName",
        "status.phase",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "status.podIP",
        "status.nominatedNodeName",
    },
    "events": _FIELDS_COMMON
    | {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    },
    "secrets": _FIELDS_COMMON | {"type"},
    "namespaces": _FIELDS_COMMON | {"status.phase"},
    "nodes": _FIELDS_COMMON | {"spec.unschedulable"},
}


@dataclass
class Response:
    """What the HTTP layer sends back."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    # A watch: chunks sent as they come (an empty one only asks whether the client is there).
    stream: Iterator[bytes] | None = None


@dataclass(frozen=True)
class Resource:
    """A resource the sandbox serves, as discovery describes it."""

    name: str
    group: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...]
    short_names: tuple[str, ...] = ()
    singular: str = ""

    @property
    def store_key(self) -> str:
        """The key the store files its objects under."""
        return f"{self.name}.{self.group}" if self.group else self.name


CORE = {
    r.name: r
    for r in (
        Resource("namespaces", "", "Namespace", False, ("create", "get", "list"), ("ns",)),
        Resource("nodes", "", "Node", False, ("get", "list"), ("no",)),
        Resource("pods", "", "Pod", True, ("delete", "deletecollection", "get", "list"), ("po",)),
        Resource(
            "secrets", "", "Secret", True, ("create", "delete", "deletecollection", "get", "list")
        ),
        Resource("services", "", "Service", True, ("get", "list"), ("svc",)),
        Resource(
            "persistentvolumeclaims",
            "",
            "PersistentVolumeClaim",
            True,
            ("create", "delete", "deletecollection", "get", "list"),
            ("pvc",),
        ),
        Resource(
            "configmaps",
            "",
            "ConfigMap",
            True,
            ("create", "delete", "deletecollection", "get", "list"),
            ("cm",),
        ),
        Resource("events", "", "Event", True, ("get", "list"), ("ev",)),
    )
}
# The Dynamo platform's operator runs as an apps/v1 Deployment (read-only here).
DEPLOYMENTS = Resource("deployments", "apps", "Deployment", True, ("get", "list"), ("deploy",))
CRDS = Resource(
    "customresourcedefinitions",
    "apiextensions.k8s.io",
    "CustomResourceDefinition",
    False,
    ("get", "list"),
    ("crd", "crds"),
)
SSAR = Resource(
    "selfsubjectaccessreviews",
    "authorization.k8s.io",
    "SelfSubjectAccessReview",
    False,
    ("create",),
)
CR_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update")
# RBAC objects tests and kubectl create; the authorizer reads them on every request.
RBAC_VERBS = ("create", "delete", "get", "list")
RBAC = {
    r.name: r
    for r in (
        Resource("roles", RBAC_GROUP, "Role", True, RBAC_VERBS),
        Resource("rolebindings", RBAC_GROUP, "RoleBinding", True, RBAC_VERBS),
        Resource("clusterroles", RBAC_GROUP, "ClusterRole", False, RBAC_VERBS),
        Resource("clusterrolebindings", RBAC_GROUP, "ClusterRoleBinding", False, RBAC_VERBS),
    )
}


@dataclass
class RequestInfo:
    """What a resource request is about, parsed from its path and method."""

    verb: str
    group: str
    version: str
    resource: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def rbac_resource(self) -> str:
        """The resource as RBAC names it (with /subresource)."""
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


class ApiError(Exception):
    """A failure answered as a Kubernetes Status."""

    def __init__(self, code: int, message: str, details: dict | None = None, reason: str = ""):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details
        self.reason = reason or _REASONS.get(code, "Unknown")


def status_body(code: int, reason: str, message: str, details: dict | None = None) -> bytes:
    """A Status object as the apiserver sends it for failures."""
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return dumps(body)


class Faults:
    """Injected faults: latency, failing next requests, namespaces denying DGD create."""

    def __init__(self) -> None:
        self.latency = 0.0
        self.failures: deque[int] = deque()
        self.forbidden_create: set[str] = set()
        self.list_failures: deque[int] = deque()  # the next LIST requests fail with these
        self.stalled_before = 0  # watches numbered below this send nothing (nor end)

    def take_failure(self, verb: str = "") -> int | None:
        """The status code the current request must fail with, if any."""
        if verb == "list" and self.list_failures:
            return self.list_failures.popleft()
        return self.failures.popleft() if self.failures else None

    def describe(self) -> dict:
        """The current faults as JSON-able data."""
        return {
            "latency": self.latency,
            "failNext": list(self.failures),
            "forbidDgdCreate": sorted(self.forbidden_create),
            "failLists": list(self.list_failures),
            "stallWatches": self.stalled_before > 0,
        }


class Api:
    """Answers Kubernetes API requests from the store, after letting the simulation catch up."""

    def __init__(
        self,
        *,
        store: Store,
        simulation: Simulation,
        clock: Clock,
        crds: list[dict],
        token: str,
        user: str,
        permissions: list[dict],
        seed: int | None = None,
    ) -> None:
        self.store = store
        # Object uids and generated name suffixes: repeatable with a seed (screenshots, tests).
        self.random = random.Random(seed)
        self.sim = simulation
        self.clock = clock
        self.token = token
        self.user = user
        self.permissions = permissions
        self.faults = Faults()
        self.lock = threading.RLock()
        self.counters: Counter[tuple[str, str, str]] = Counter()
        self.request_log: deque[dict] = deque(maxlen=10_000)
        self.on_outage = None  # set by the cluster: stop the listener for N seconds
        self.watch_epoch = 0  # stop_watches() moves it on: every open watch ends
        self.watch_serial = 0  # the number of the next watch
        self.bookmark_interval = BOOKMARK_INTERVAL
        self.progress_bookmarks = False  # a BOOKMARK after every batch of changes (tests)
        self.watching = 0  # watches being served right now
        self.log_streams = 0  # followed logs being served right now
        self._watching_lock = threading.Lock()
        self.server_address = "127.0.0.1:0"
        self.crds: dict[tuple[str, str], dict] = {}  # (group, plural) -> CRD
        # The frontends and workers the service and pod proxies reach (proxy.py, traffic.py).
        self.traffic = Traffic()
        self.proxy = proxy.Proxy(store, self.traffic)
        for crd in crds:
            self.install_crd(crd)

    # ------------------------------------------------------------------ set-up

    def install_crd(self, crd: dict) -> None:
        """Serve a CustomResourceDefinition's resource."""
        crd = copy.deepcopy(crd)
        spec = crd["spec"]
        now = self.clock.now()
        meta = crd.setdefault("metadata", {})
        meta.setdefault("name", f"{spec['names']['plural']}.{spec['group']}")
        meta.update(
            {
                "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, meta["name"])),
                "creationTimestamp": rfc3339(now),
                "generation": 1,
            }
        )
        for key in [k for k in meta if k in ("annotations",)]:
            meta[key] = {k: v for k, v in meta[key].items() if not k.startswith("helm.sh/")}
        storage = [v["name"] for v in spec["versions"] if v.get("storage")]
        crd["status"] = {
            "acceptedNames": spec["names"],
            "storedVersions": storage,
            "conditions": [
                {
                    "type": t,
                    "status": "True",
                    "reason": r,
                    "message": m,
                    "lastTransitionTime": rfc3339(now),
                }
                for t, r, m in (
                    ("NamesAccepted", "NoConflicts", "no conflicts found"),
                    ("Established", "InitialNamesAccepted", "the initial names have been accepted"),
                )
            ],
        }
        self.store.put(CRDS.store_key, crd)
        self.crds[(spec["group"], spec["names"]["plural"])] = crd

    def _crd_resource(self, crd: dict) -> Resource:
        names = crd["spec"]["names"]
        return Resource(
            names["plural"],
            crd["spec"]["group"],
            names["kind"],
            crd["spec"].get("scope", "Namespaced") == "Namespaced",
            CR_VERBS,
            tuple(names.get("shortNames") or ()),
            names.get("singular", ""),
        )

    def _served(self, crd: dict) -> list[str]:
        return schema.served_versions(crd)

    # ------------------------------------------------------------------ entry point

    def handle(self, method: str, raw_path: str, headers: dict, body: bytes) -> Response:
        """Answer one HTTP request (header names in lower case)."""
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if path in ("/healthz", "/livez", "/readyz"):
            return Response(200, b"ok", "text/plain")
        if headers.get("authorization", "") != f"Bearer {self.token}":
            return self._record(
                method, path, None, Response(401, status_body(401, "Unauthorized", "Unauthorized"))
            )
        if path.startswith("/sandbox/"):
            return self._control(method, path, body)
        if self.faults.latency:
            time.sleep(self.faults.latency)
        info = None
        subject = authenticated(self.user)
        try:
            subject = self._impersonate(subject, headers)
            try:
                target = proxy.parse(path)
            except proxy.ProxyError as err:
                raise ApiError(err.code, err.message, {}) from err
            if target is not None:
                info = RequestInfo(
                    proxy.VERBS.get(method, method.lower()),
                    "",
                    "v1",
                    target.kind,
                    target.namespace,
                    target.segment,
                    "proxy",
                )
                response = self._proxy(info, target, method, body, subject)
                return self._record(method, path, info, response, subject)
            info = self._parse(method, path, query)
            failure = self.faults.take_failure(info.verb if info else "")
            if failure is not None:
                message = _FAULT_MESSAGES.get(failure, "sandbox fault injection")
                raise ApiError(failure, message, {})
            with self.lock:
                self.sim.reconcile(self.clock.now())
                if info is None:
                    response = self._discovery(path)
                else:
                    response = self._serve(info, query, headers, body, subject)
                    if info.verb not in ("get", "list", "watch"):
                        # The operator and kubelet react to writes at once, as their watches do.
                        self.sim.reconcile(self.clock.now())
        except ApiError as err:
            response = Response(
                err.code, status_body(err.code, err.reason, err.message, err.details)
            )
        return self._record(method, path, info, response, subject)

    def _impersonate(self, caller: Subject, headers: dict) -> Subject:
        """The subject the request acts as: the caller, or the user it impersonates.

        As kube-apiserver: the caller needs the `impersonate` verb on the user (or the service
        account) and on each group, else 403; the request is then authorized as that user.
        """
        user = headers.get("impersonate-user", "").strip()
        groups = [g.strip() for g in headers.get("impersonate-group", "").split("\n") if g.strip()]
        if not user:
            if groups:
                raise ApiError(
                    500,
                    f"Internal error occurred: requested {groups} without impersonating a user",
                    {},
                )
            return caller
        for resource, namespace, name in impersonation_checks(user, groups):
            rules = self._rules(caller, namespace)
            if not allowed(rules, "impersonate", "", resource, name):
                message = forbidden_message(
                    caller.user, "impersonate", "", resource, namespace, name
                )
                raise ApiError(403, message, {"name": name, "kind": resource})
        return impersonated(user, groups)

    def _rules(self, subject: Subject, namespace: str) -> list[dict]:
        """The rules the subject holds for a request in the namespace ("": cluster scope)."""
        rules = bound_rules(subject, namespace, self._rbac_objects)
        if subject.user == self.user:
            # The kubeconfig's own user also holds the permissions the sandbox was given.
            rules = [*self.permissions, *rules]
        return rules

    def _rbac_objects(self, resource: str, namespace: str | None) -> list[dict]:
        key = RBAC[resource].store_key
        return [entry.obj for entry in self.store.entries(key, namespace)]

    def _proxy(
        self, info: RequestInfo, target: proxy.Target, method: str, body: bytes, subject: Subject
    ) -> Response:
        """A service or pod proxy request: RBAC, then the backend answers (proxy.py)."""
        failure = self.faults.take_failure()
        if failure is not None:
            raise ApiError(failure, _FAULT_MESSAGES.get(failure, "sandbox fault injection"), {})
        with self.lock:
            self.sim.reconcile(self.clock.now())
            self._authorize(info, CORE[target.kind], subject)
            try:
                backend = self.proxy.resolve(target)
                status, content_type, answer = self.proxy.answer(target, backend, method, body)
            except proxy.ProxyError as err:
                raise ApiError(err.code, err.message, {}) from err
        if isinstance(answer, bytes):
            return Response(status, answer, content_type)
        return Response(status, b"", content_type, stream=answer)

    def _record(
        self,
        method: str,
        path: str,
        info: RequestInfo | None,
        response: Response,
        subject: Subject | None = None,
    ):
        verb = info.verb if info else "get"
        resource = info.rbac_resource if info else ""
        namespace = info.namespace if info else ""
        with self.lock:
            self.counters[(verb, resource, namespace)] += 1
            self.request_log.append(
                {
                    "method": method,
                    "path": path,
                    "verb": verb,
                    "resource": resource,
                    "namespace": namespace,
                    "name": info.name if info else "",
                    "status": response.status,
                    "time": self.clock.now(),
                    "user": subject.user if subject else self.user,
                }
            )
        return response

    # ------------------------------------------------------------------ routing

    def _parse(self, method: str, path: str, query: dict) -> RequestInfo | None:
        segments = [s for s in path.split("/") if s]
        if len(segments) >= 3 and segments[0] == "api":
            group, version, rest = "", segments[1], segments[2:]
        elif len(segments) >= 4 and segments[0] == "apis":
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            return None
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource", {})
        resource, name = rest[0], rest[1] if len(rest) > 1 else ""
        sub = rest[2] if len(rest) > 2 else ""
        if method == "GET":
            verb = "watch" if query.get("watch") in ("true", "1") else "get" if name else "list"
        else:
            verb = {
                "POST": "create",
                "PUT": "update",
                "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection",
            }.get(method, "")
        return RequestInfo(verb, group, version, resource, namespace, name, sub)

    def _resource(self, info: RequestInfo) -> tuple[Resource, dict | None]:
        not_found = ApiError(404, "the server could not find the requested resource", {})
        if info.group == "" and info.version == "v1" and info.resource in CORE:
            resource, crd = CORE[info.resource], None
        elif info.group == RBAC_GROUP and info.version == "v1" and info.resource in RBAC:
            resource, crd = RBAC[info.resource], None
        elif (info.group, info.version, info.resource) == (CRDS.group, "v1", CRDS.name):
            resource, crd = CRDS, None
        elif (info.group, info.version, info.resource) == (DEPLOYMENTS.group, "v1", "deployments"):
            resource, crd = DEPLOYMENTS, None
        elif (info.group, info.version, info.resource) == (SSAR.group, "v1", SSAR.name):
            resource, crd = SSAR, None
        elif (info.group, info.resource) in self.crds:
            crd = self.crds[(info.group, info.resource)]
            if info.version not in self._served(crd):
                raise not_found
            resource = self._crd_resource(crd)
        else:
            raise not_found
        if info.namespace and not resource.namespaced:
            raise not_found
        allowed_subs = {"pods": {"log"}}.get(info.resource, set()) | ({"status"} if crd else set())
        if crd and _has_scale(crd, info.version):
            allowed_subs.add("scale")
        if info.subresource and info.subresource not in allowed_subs:
            raise not_found
        return resource, crd

    def _authorize(self, info: RequestInfo, resource: Resource, subject: Subject) -> None:
        if resource is SSAR:
            return  # every authenticated user may ask what it can do (system:basic-user)
        group = info.group
        rules = self._rules(subject, info.namespace)
        denied = not allowed(rules, info.verb, group, info.rbac_resource, info.name)
        if (
            not denied
            and info.verb == "create"
            and resource.kind == "DynamoGraphDeployment"
            and info.namespace in self.faults.forbidden_create
        ):
            denied = True
        if denied:
            message = forbidden_message(
                subject.user, info.verb, group, info.rbac_resource, info.namespace, info.name
            )
            details = {"kind": info.resource}
            if group:
                details["group"] = group
            if info.name:
                details["name"] = info.name
            raise ApiError(403, message, details)

    def _serve(
        self, info: RequestInfo, query: dict, headers: dict, body: bytes, subject: Subject
    ) -> Response:
        resource, crd = self._resource(info)
        self._authorize(info, resource, subject)
        verbs = resource.verbs
        if crd and info.subresource in ("status", "scale"):
            verbs = ("get", "patch", "update")
        if info.subresource == "log":
            verbs = ("get",)
        if info.verb not in _with_watch(verbs):
            raise ApiError(
                405, "the server does not allow this method on the requested resource", {}
            )
        table = "as=Table" in headers.get("accept", "")
        metadata_only = "as=PartialObjectMetadata" in headers.get("accept", "")
        if info.verb == "list":
            return self._list(info, resource, crd, query, table)
        if info.verb == "watch":
            return self._watch(info, resource, crd, query, table, metadata_only)
        if info.subresource == "scale":
            return self._scale(info, resource, body, headers, query.get("dryRun") == "All")
        if info.verb == "get":
            if info.subresource == "log":
                return self._pod_log(info, query)
            return self._get(info, resource, crd, table, metadata_only)
        if resource is SSAR:
            return self._access_review(body, headers, subject)
        payload = self._decode(body, headers, info.verb)
        dry_run = query.get("dryRun") == "All"
        if info.verb in ("delete", "deletecollection") and isinstance(payload, dict):
            # kubectl delete --dry-run=server sends it in the DeleteOptions body.
            dry_run = dry_run or "All" in (payload.get("dryRun") or [])
        if info.verb == "deletecollection":
            return self._delete_collection(info, resource, crd, query, dry_run)
        if crd is not None:
            validation = query.get("fieldValidation") or "Warn"
            if validation not in ("Strict", "Warn", "Ignore"):
                raise ApiError(
                    400,
                    'fieldValidation must be one of "Ignore", "Warn" or "Strict", '
                    f'got "{validation}"',
                    {},
                )
            if info.verb == "create":
                return self._create_cr(info, resource, crd, payload, dry_run, validation)
            if info.verb in ("update", "patch"):
                return self._write_cr(info, resource, crd, payload, headers, dry_run, validation)
            return self._delete_cr(info, resource, crd, dry_run)
        if info.verb == "create":
            return self._create_core(info, resource, payload, dry_run)
        return self._delete_core(info, resource, dry_run)

    # ------------------------------------------------------------------ reads

    def _encoder(self, info: RequestInfo, crd: dict | None):
        """How to serialize stored objects for this request's version."""
        if crd is None:
            return lambda entry: entry.encoded()
        api_version = f"{info.group}/{info.version}"
        if resource_is_dgd(crd):

            def convert(obj: dict) -> dict:
                return convert_dgd(obj, info.version)
        else:

            def convert(obj: dict) -> dict:
                if obj.get("apiVersion") == api_version:
                    return obj
                return {**obj, "apiVersion": api_version}

        return lambda entry: entry.encoded(info.version, convert)

    def _list(
        self, info: RequestInfo, resource: Resource, crd: dict | None, query: dict, table: bool
    ) -> Response:
        selected = self._select(info, resource, query)
        if table:
            return self._table(info, resource, crd, [self._encoder(info, crd)(e) for e in selected])
        return self._list_response(info, resource, crd, selected)

    def _list_response(
        self, info: RequestInfo, resource: Resource, crd: dict | None, entries: list[Entry]
    ) -> Response:
        version = f"{info.group}/{info.version}" if info.group else info.version
        encode = self._encoder(info, crd)
        head = dumps(
            {
                "apiVersion": version,
                "kind": f"{resource.kind}List",
                "metadata": {"resourceVersion": self.store.resource_version},
            }
        )
        body = head[:-1] + b',"items":[' + b",".join(encode(e) for e in entries) + b"]}"
        return Response(200, body)

    def _delete_collection(
        self, info: RequestInfo, resource: Resource, crd: dict | None, query: dict, dry_run: bool
    ) -> Response:
        """Like the apiserver's deletecollection: each selected object is deleted as by its own
        DELETE (finalizers included); the answer lists them."""
        selected = self._select(info, resource, query)
        response = self._list_response(info, resource, crd, selected)
        for entry in selected:
            meta = entry.obj["metadata"]
            one = replace(
                info, verb="delete", namespace=meta.get("namespace", ""), name=meta["name"]
            )
            if crd is not None:
                self._delete_cr(one, resource, crd, dry_run)
            else:
                self._delete_core(one, resource, dry_run)
        return response

    def _select(self, info: RequestInfo, resource: Resource, query: dict) -> list[Entry]:
        """The objects a list (or deletecollection) selects, by namespace and selectors."""
        owner, matches = self._selector(resource, query)
        namespace = info.namespace or None
        entries = self.store.entries(resource.store_key, namespace, owner)
        if owner is None:
            entries = sorted(entries, key=_entry_key)
        return [e for e in entries if matches(e.obj)]

    def _selector(self, resource: Resource, query: dict) -> tuple[str | None, Callable]:
        """The indexed owner label a label selector pins (if any), and the full predicate."""
        try:
            requirements = parse_label_selector(query.get("labelSelector"))
            field_match = parse_field_selector(
                query.get("fieldSelector"), _FIELDS.get(resource.name, _FIELDS_COMMON)
            )
        except SelectorError as err:
            raise ApiError(400, str(err), {}) from err
        owner = next(
            (r.values[0] for r in requirements if r.key == INDEXED_LABEL and r.op == "="), None
        )
        label_match = label_matcher(requirements)

        def matches(obj: dict) -> bool:
            return (not requirements or label_match(obj)) and field_match(obj)

        return owner, matches

    # ------------------------------------------------------------------ watches

    def _watch(
        self,
        info: RequestInfo,
        resource: Resource,
        crd: dict | None,
        query: dict,
        table: bool,
        metadata_only: bool,
    ) -> Response:
        """A watch of a list endpoint (or of one object, on the deprecated named path)."""
        if info.name:
            query = {
                **query,
                "fieldSelector": ",".join(
                    filter(None, [query.get("fieldSelector"), f"metadata.name={info.name}"])
                ),
            }
        try:
            options = WatchOptions.parse(query)
        except WatchError as err:
            raise ApiError(400, str(err), {}) from err
        _owner, matches = self._selector(resource, query)
        latest = int(self.store.resource_version)
        initial = self._select(replace(info, name=""), resource, query)
        encode = self._encoder(info, crd)
        api_version = f"{info.group}/{info.version}" if info.group else info.version

        def event_object(entry: Entry) -> bytes:
            data = encode(entry)
            if table:
                return self._table(info, resource, crd, [data]).body
            if metadata_only:
                partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"}
                return dumps({**partial, "metadata": json.loads(data)["metadata"]})
            return data

        def bookmark(version: int, annotations: dict) -> bytes:
            meta: dict = {"resourceVersion": str(version)}
            if annotations:
                meta["annotations"] = annotations
            if table:
                return dumps(
                    {
                        "kind": "Table",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": meta,
                        "columnDefinitions": [],
                        "rows": [],
                    }
                )
            return dumps({"kind": resource.kind, "apiVersion": api_version, "metadata": meta})

        epoch, serial = self.watch_epoch, self.watch_serial
        self.watch_serial += 1
        watch = Watch(
            store=self.store,
            resource=resource.store_key,
            namespace=info.namespace or None,
            matches=matches,
            encode=event_object,
            bookmark=bookmark,
            options=options,
            stopped=lambda: self.watch_epoch != epoch,
            stalled=lambda: serial < self.faults.stalled_before,
            catch_up=self.catch_up,
            bookmark_interval=self.bookmark_interval,
            progress_bookmarks=self.progress_bookmarks,
        )
        return Response(200, b"", stream=self._counted(watch.events(initial, latest)))

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        with self._watching_lock:
            self.watching += 1
        try:
            yield from chunks
        finally:
            with self._watching_lock:
                self.watching -= 1

    def catch_up(self) -> None:
        """Let the simulation act on the clock, if something is due (watches call this while
        they wait, so that an operator's transitions reach them without any other request)."""
        sim = self.sim
        if sim.dirty or self.clock.now() >= sim.next_wakeup:
            with self.lock:
                sim.reconcile(self.clock.now())

    def stop_watches(self) -> None:
        """End every open watch (the sandbox stops or has an outage)."""
        self.watch_epoch += 1
        self.store.wake_watchers()

    def _get(
        self,
        info: RequestInfo,
        resource: Resource,
        crd: dict | None,
        table: bool,
        metadata_only: bool = False,
    ):
        entry = self._entry(info, resource)
        data = self._encoder(info, crd)(entry)
        if table:
            return self._table(info, resource, crd, [data])
        if metadata_only:
            # Like the apiserver: the object's metadata alone (no spec, no Secret data).
            metadata = json.loads(data)["metadata"]
            partial = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1"}
            return Response(200, json.dumps({**partial, "metadata": metadata}).encode())
        return Response(200, data)

    def _entry(self, info: RequestInfo, resource: Resource) -> Entry:
        entry = self.store.entry(resource.store_key, info.namespace, info.name)
        if entry is None:
            raise _not_found(resource, info.name)
        return entry

    def _pod_log(self, info: RequestInfo, query: dict) -> Response:
        pod = self._entry(info, CORE["pods"]).obj
        try:
            options = LogOptions.parse(pod, query)
        except LogError as err:
            raise ApiError(err.code, err.message, {}) from err
        now = self.clock.now()

        def read() -> Run | None:
            found = self.sim.container_run(
                info.namespace, info.name, options.container, self.clock.now(), options.previous
            )
            if isinstance(found, str):
                raise ApiError(400, found, {})
            return found

        run = read()
        lines = run.lines(options.start(now), now) if run is not None else []
        if options.tail_lines is not None:
            lines = lines[len(lines) - options.tail_lines :] if options.tail_lines else []
        body = options.format(lines)
        if not options.follow or run is None or (run.ends_at is not None and now >= run.ends_at):
            return Response(200, body, "text/plain")

        def read_locked() -> Run | None:
            with self.lock:
                if self.store.get("pods", info.namespace, info.name) is None:
                    return None
                try:
                    return read()
                except ApiError:
                    return None

        epoch = self.watch_epoch
        chunks = follow(
            read_locked,
            options,
            now,
            self.clock.now,
            lambda: self.watch_epoch != epoch,
            self.catch_up,
            run,
        )
        return Response(200, b"", "text/plain", stream=self._log_stream(body, chunks))

    def _log_stream(self, first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """A followed log, counted in `log_streams` while it is open."""
        with self._watching_lock:
            self.log_streams += 1
        try:
            yield first
            yield from chunks
        finally:
            chunks.close()
            with self._watching_lock:
                self.log_streams -= 1

    def _table(
        self, info: RequestInfo, resource: Resource, crd: dict | None, items: list[bytes]
    ) -> Response:
        """A meta.k8s.io Table, which kubectl prints as is."""
        objects = [json.loads(item) for item in items]
        columns = [
            {
                "name": "Name",
                "type": "string",
                "format": "name",
                "description": "Name",
                "priority": 0,
            }
        ]
        getters = []
        if crd is not None:
            version = next(v for v in crd["spec"]["versions"] if v["name"] == info.version)
            for column in version.get("additionalPrinterColumns") or []:
                columns.append(
                    {
                        "name": column["name"],
                        "type": column["type"],
                        "format": column.get("format", ""),
                        "description": column.get("description", ""),
                        "priority": column.get("priority", 0),
                    }
                )
                getters.append(self._column_getter(column))
        elif resource.name == "pods":
            for name, kind in (
                ("Ready", "string"),
                ("Status", "string"),
                ("Restarts", "integer"),
                ("Age", "string"),
                ("Node", "string"),
            ):
                columns.append(
                    {
                        "name": name,
                        "type": kind,
                        "format": "",
                        "description": name,
                        "priority": 1 if name == "Node" else 0,
                    }
                )
            getters = [
                _pod_ready,
                _pod_status,
                lambda p: 0,
                lambda p: _age(p, self.clock.now()),
                lambda p: p.get("spec", {}).get("nodeName", "<none>"),
            ]
        elif resource.name in VOLUME_COLUMNS:
            columns += [
                {"name": name, "type": kind, "format": "", "description": name, "priority": 0}
                for name, kind in VOLUME_COLUMNS[resource.name]
            ]
            getters = _volume_getters(resource.name, lambda obj: _age(obj, self.clock.now()))
        elif resource.name == "events":
            # The API server's event columns; the name is there but hidden (priority 1).
            columns = [
                {"name": name, "type": "string", "format": "", "description": name, "priority": 0}
                for name in ("Last Seen", "Type", "Reason", "Object", "Message")
            ] + [{**columns[0], "priority": 1}]
            getters = [
                lambda e: _since(
                    e.get("lastTimestamp") or e["metadata"].get("creationTimestamp"),
                    self.clock.now(),
                ),
                lambda e: e.get("type", ""),
                lambda e: e.get("reason", ""),
                lambda e: (
                    f"{(e.get('involvedObject') or {}).get('kind', '').lower()}/"
                    f"{(e.get('involvedObject') or {}).get('name', '')}"
                ),
                lambda e: e.get("message", ""),
                lambda e: e["metadata"]["name"],
            ]
        else:
            columns.append(
                {"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0}
            )
            getters = [lambda obj: _age(obj, self.clock.now())]
        name_first = resource.name != "events"
        rows = []
        for obj in objects:
            meta = {
                k: v
                for k, v in obj["metadata"].items()
                if k
                in (
                    "name",
                    "namespace",
                    "uid",
                    "resourceVersion",
                    "creationTimestamp",
                    "labels",
                    "deletionTimestamp",
                )
            }
            rows.append(
                {
                    "cells": [
                        *([obj["metadata"]["name"]] if name_first else []),
                        *(g(obj) for g in getters),
                    ],
                    "object": {
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": meta,
                    },
                }
            )
        table = {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": self.store.resource_version},
            "columnDefinitions": columns,
            "rows": rows,
        }
        return Response(200, dumps(table))

    def _column_getter(self, column: dict):
        path = column["jsonPath"]
        if column["type"] == "date":
            # The apiserver prints date columns as an age, like kubectl's AGE.
            return lambda obj: _since(_json_path(obj, path), self.clock.now())
        return lambda obj: _json_path(obj, path)

    # ------------------------------------------------------------------ writes

    def _decode(self, body: bytes, headers: dict, verb: str) -> object:
        content_type = headers.get("content-type", "application/json").split(";")[0].strip()
        try:
            if "yaml" in content_type:
                return yaml.safe_load(body.decode() or "null")
            return json.loads(body or b"null")
        except (ValueError, yaml.YAMLError) as err:
            raise ApiError(400, f"error decoding request body: {err}", {}) from err

    def _check_identity(self, info: RequestInfo, resource: Resource, obj: object) -> dict:
        """The 400s the apiserver gives before validation: wrong kind, version, namespace, name."""
        if not isinstance(obj, dict):
            raise ApiError(400, "the body of the request must be a JSON object", {})
        expected = f"{info.group}/{info.version}" if info.group else info.version
        if not info.group:
            # Built-in types default apiVersion and kind from the URL; custom resources do not.
            obj.setdefault("apiVersion", expected)
            obj.setdefault("kind", resource.kind)
            obj["apiVersion"] = obj["apiVersion"] or expected
            obj["kind"] = obj["kind"] or resource.kind
        if obj.get("apiVersion") != expected or obj.get("kind") != resource.kind:
            raise ApiError(
                400,
                f"the API version in the data ({obj.get('apiVersion')}) does not match the "
                f"expected API version ({expected})"
                if obj.get("apiVersion") != expected
                else f'{obj.get("kind")} in version "{info.version}" cannot be handled as a '
                f"{resource.kind}: kind mismatch",
                {},
            )
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "metadata must be an object", {})
        if resource.namespaced:
            if meta.get("namespace", info.namespace) != info.namespace:
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the "
                    "namespace sent on the request",
                    {},
                )
            meta["namespace"] = info.namespace
        if info.name and meta.get("name", info.name) != info.name:
            raise ApiError(
                400,
                f"the name of the object ({meta.get('name')}) does not match "
                f"the name on the URL ({info.name})",
                {},
            )
        if info.name:
            meta["name"] = info.name
        return obj

    def _require_namespace(self, namespace: str) -> None:
        if namespace and self.store.get("namespaces", "", namespace) is None:
            raise ApiError(
                404,
                f'namespaces "{namespace}" not found',
                {"name": namespace, "kind": "namespaces"},
            )

    def _name_errors(self, meta: dict, label: bool = False) -> list[schema.FieldError]:
        name = meta.get("name")
        if not name:
            return [
                schema.FieldError(
                    "metadata.name",
                    "Required value: name or generateName is required",
                    schema.REQUIRED,
                )
            ]
        pattern, limit, what = (
            (_DNS_LABEL, 63, "label") if label else (_DNS_SUBDOMAIN, 253, "subdomain")
        )
        if len(name) > limit or not pattern.match(name):
            example = "my-name" if label else "example.com"
            chars = "'-'" if label else "'-' or '.'"
            return [
                schema.FieldError(
                    "metadata.name",
                    f'Invalid value: "{name}": a lowercase RFC 1123 {what} must consist of lower '
                    f"case alphanumeric characters, {chars}, and must start and end with an "
                    f"alphanumeric character (e.g. '{example}', regex used for validation is "
                    f"'{pattern.pattern[1:-1]}')",
                    schema.INVALID,
                )
            ]
        return []

    def _invalid(self, resource: Resource, name: str, errors: list[schema.FieldError]):
        kind = f"{resource.kind}.{resource.group}" if resource.group else resource.kind
        parts = [f"{e.field}: {e.message}" for e in errors]
        summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        details = {
            "name": name,
            "kind": resource.kind,
            "causes": [
                {"reason": e.reason, "message": e.message, "field": e.field} for e in errors
            ],
        }
        if resource.group:
            details["group"] = resource.group
        raise ApiError(422, f'{kind} "{name}" is invalid: {summary}', details)

    def _name_suffix(self) -> str:
        """Five hex characters for a generateName, as the API server appends."""
        return f"{self.random.getrandbits(20):05x}"

    def _stamp_new(self, meta: dict) -> None:
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + self._name_suffix()
        meta["uid"] = str(uuid.UUID(int=self.random.getrandbits(128), version=4))
        meta["creationTimestamp"] = rfc3339(self.clock.now())
        for key in ("resourceVersion", "deletionTimestamp", "managedFields", "selfLink"):
            meta.pop(key, None)

    def _create_cr(self, info, resource, crd, payload, dry_run, validation="Warn") -> Response:
        obj = self._check_identity(info, resource, payload)
        meta = obj["metadata"]
        self._require_namespace(info.namespace)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + self._name_suffix()
        # The status subresource makes the main resource ignore status on create.
        obj.pop("status", None)
        root = schema.version_schema(crd, info.version)
        obj, warnings = _unknown_fields(root, obj, validation)
        meta = obj["metadata"]
        errors = self._name_errors(meta) + _known(schema.validate(root, obj))
        errors = errors or cel.validate_rules(root, obj)
        if errors:
            self._invalid(resource, meta.get("name", ""), errors)
        if self.store.get(resource.store_key, info.namespace, meta["name"]) is not None:
            raise _already_exists(resource, meta["name"])
        self._stamp_new(meta)
        meta["generation"] = 1
        headers = _with_warnings(self._warning(crd, info), warnings)
        if dry_run:
            return Response(201, dumps(obj), headers=headers)
        self.store.put(resource.store_key, obj)
        self.sim.touch()
        return Response(
            201,
            self._encoder(info, crd)(
                self.store.entry(resource.store_key, info.namespace, meta["name"])
            ),
            headers=headers,
        )

    def _write_cr(
        self, info, resource, crd, payload, headers, dry_run, validation="Warn"
    ) -> Response:
        entry = self.store.entry(resource.store_key, info.namespace, info.name)
        content_type = headers.get("content-type", "application/json").split(";")[0].strip()
        if content_type == "application/apply-patch+yaml":
            # Server-side apply merges lists by their keys and tracks field managers; the
            # sandbox does not, and a merge patch in its place would hide real conflicts.
            raise ApiError(
                415,
                "server-side apply is not supported by the sandbox cluster: use kubectl apply "
                "(client-side), replace or a merge patch",
                {},
                reason="UnsupportedMediaType",
            )
        if entry is None:
            raise _not_found(resource, info.name)
        current = self._current(entry, info, crd)
        if info.verb == "update":
            obj = self._check_identity(info, resource, payload)
            if not obj["metadata"].get("resourceVersion"):
                kind = f"{resource.kind}.{resource.group}"
                raise ApiError(
                    422,
                    f'{kind} "{info.name}" is invalid: metadata.resourceVersion: Invalid value: '
                    "0x0: must be specified for an update",
                    {
                        "name": info.name,
                        "group": resource.group,
                        "kind": resource.kind,
                        "causes": [
                            {
                                "reason": "FieldValueInvalid",
                                "message": "Invalid value: 0x0: must be specified for an update",
                                "field": "metadata.resourceVersion",
                            }
                        ],
                    },
                )
        else:
            obj = self._check_identity(info, resource, _patch(current, payload, content_type))
        warnings: list[str] = []
        if info.subresource != "status":
            obj, warnings = _unknown_fields(
                schema.version_schema(crd, info.version), obj, validation
            )
        meta = obj["metadata"]
        sent_rv = meta.get("resourceVersion")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                f'Operation cannot be fulfilled on {resource.store_key} "{info.name}": the object '
                "has been modified; please apply your changes to the latest version and try again",
                {"name": info.name, "group": resource.group, "kind": resource.name},
                reason="Conflict",
            )
        status_only = info.subresource == "status"
        if status_only:
            new = {**current, "status": obj.get("status")}
            if new["status"] is None:
                new.pop("status")
            props = schema.version_schema(crd, info.version).get("properties", {})
            errors = (
                schema.validate(props["status"], new["status"], "status")
                if "status" in props and "status" in new
                else []
            )
        else:
            new = {k: v for k, v in obj.items() if k != "status"}
            if "status" in current:
                new["status"] = current["status"]
            root = schema.version_schema(crd, info.version)
            spec_only = {k: v for k, v in new.items() if k != "status"}
            errors = _known(schema.validate(root, spec_only)) or cel.validate_rules(
                root, spec_only, {k: v for k, v in current.items() if k != "status"}
            )
        if errors:
            self._invalid(resource, info.name, errors)
        if not status_only and resource_is_dgd(crd):
            denial = adapters.webhook_denial(current, new, info.version)
            if denial:
                raise ApiError(403, denial, {}, reason="Forbidden")
        # Server-owned metadata survives any write; the client owns labels and annotations.
        kept = {
            k: current["metadata"][k]
            for k in ("uid", "creationTimestamp", "generation", "namespace", "name")
            if k in current["metadata"]
        }
        new_meta = {**(current["metadata"] if status_only else meta), **kept}
        new_meta.pop("resourceVersion", None)
        if not status_only and new.get("spec") != current.get("spec"):
            new_meta["generation"] = current["metadata"].get("generation", 1) + 1
        new["metadata"] = new_meta
        headers = _with_warnings(self._warning(crd, info), warnings)
        if dry_run:
            return Response(200, dumps(new), headers=headers)
        self.store.put(resource.store_key, new)
        self.sim.touch()
        answer = self._encoder(info, crd)(
            self.store.entry(resource.store_key, info.namespace, info.name)
        )
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            # The last finalizer of a deleted object is gone: the API server removes it.
            self.store.delete(resource.store_key, info.namespace, info.name)
        return Response(200, answer, headers=headers)

    def _scale(self, info, resource, body: bytes, headers: dict, dry_run: bool) -> Response:
        """The scale subresource (autoscaling/v1 Scale) of a custom resource that has one."""
        entry = self._entry(info, resource)
        scale = adapters.scale_of(entry.obj)
        if info.verb == "get":
            return Response(200, dumps(scale))
        payload = self._decode(body, headers, info.verb)
        if info.verb == "patch":
            content_type = headers.get("content-type", "application/json").split(";")[0].strip()
            payload = _patch(scale, payload, content_type)
        problem = adapters.scale_errors(payload)
        if problem:
            details = {"name": info.name, "group": "autoscaling", "kind": "Scale"}
            raise ApiError(422, f'Scale.autoscaling "{info.name}" is invalid: {problem}', details)
        sent_rv = (payload.get("metadata") or {}).get("resourceVersion")
        if sent_rv and sent_rv != entry.obj["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                f'Operation cannot be fulfilled on {resource.store_key} "{info.name}": the object '
                "has been modified; please apply your changes to the latest version and try again",
                {"name": info.name, "group": resource.group, "kind": resource.name},
                reason="Conflict",
            )
        new = adapters.with_scale(entry.obj, payload["spec"]["replicas"])
        if new == entry.obj or dry_run:
            return Response(200, dumps(adapters.scale_of(new)))
        new["metadata"]["generation"] = entry.obj["metadata"].get("generation", 1) + 1
        self.store.put(resource.store_key, new)
        self.sim.touch()
        return Response(200, dumps(adapters.scale_of(new)))

    def _current(self, entry: Entry, info: RequestInfo, crd: dict) -> dict:
        """The stored object, as a private copy in the request's version."""
        return json.loads(self._encoder(info, crd)(entry))

    def _delete_cr(self, info, resource, crd, dry_run) -> Response:
        entry = self._entry(info, resource)
        obj = entry.obj
        if obj["metadata"].get("finalizers"):
            # Finalizers keep it: the delete only marks it, once, for its owners to finish.
            if obj["metadata"].get("deletionTimestamp"):
                return Response(200, self._encoder(info, crd)(entry))
            meta = {
                **obj["metadata"],
                "deletionTimestamp": rfc3339(self.clock.now()),
                "deletionGracePeriodSeconds": 0,
            }
            if dry_run:
                return Response(200, dumps({**obj, "metadata": meta}))
            self.store.put(resource.store_key, {**obj, "metadata": meta})
            self.sim.touch()
            entry = self.store.entry(resource.store_key, info.namespace, info.name)
            return Response(200, self._encoder(info, crd)(entry))
        data = self._encoder(info, crd)(entry)
        if not dry_run:
            self.store.delete(resource.store_key, info.namespace, info.name)
            self.sim.touch()
        return Response(200, data)

    def _warning(self, crd: dict, info: RequestInfo) -> dict[str, str]:
        version = next(v for v in crd["spec"]["versions"] if v["name"] == info.version)
        if version.get("deprecated"):
            text = version.get("deprecationWarning") or f"{info.group}/{info.version} is deprecated"
            return {"Warning": f'299 - "{text}"'}
        return {}

    def _create_core(self, info, resource, payload, dry_run) -> Response:
        obj = self._check_identity(info, resource, payload)
        meta = obj["metadata"]
        if resource.name == "namespaces":
            errors = self._name_errors(meta, label=True)
        elif resource.group == RBAC_GROUP:
            # RBAC names are path segments ("system:basic-user"), not DNS names.
            self._require_namespace(info.namespace)
            errors = [
                schema.FieldError(path, message, schema.INVALID)
                for path, message in binding_errors(resource.kind, obj)
            ]
            if not meta.get("name"):
                errors = self._name_errors(meta) + errors
        else:
            self._require_namespace(info.namespace)
            errors = self._name_errors(meta)
        if resource.name == "secrets":
            errors += _secret_errors(obj)
        errors += _volume_errors(resource.name, obj)
        if errors:
            self._invalid(resource, meta.get("name", ""), errors)
        if self.store.get(resource.store_key, info.namespace, meta["name"]) is not None:
            raise _already_exists(resource, meta["name"])
        if resource.name == "namespaces":
            obj = namespace_object(meta["name"], self.clock.now()) | {
                "metadata": {
                    **namespace_object(meta["name"], self.clock.now())["metadata"],
                    "labels": {
                        **(meta.get("labels") or {}),
                        "kubernetes.io/metadata.name": meta["name"],
                    },
                }
            }
        else:
            self._stamp_new(meta)
            if resource.name == "secrets":
                for key, value in (obj.pop("stringData", None) or {}).items():
                    obj.setdefault("data", {})[key] = base64.b64encode(value.encode()).decode()
                obj.setdefault("type", "Opaque")
            obj = _bound(resource.name, obj)
        if dry_run:
            return Response(201, dumps(obj))
        self.store.put(resource.store_key, obj)
        self.sim.touch()
        return Response(201, dumps(obj))

    def _delete_core(self, info, resource, dry_run) -> Response:
        entry = self._entry(info, resource)
        if dry_run:
            return Response(200, entry.encoded())
        if resource.name == "pods":
            pod = self.sim.delete_pod(info.namespace, info.name, self.clock.now())
            return Response(200, dumps(pod or entry.obj))
        obj = self.store.delete(resource.store_key, info.namespace, info.name)
        self.sim.touch()
        if resource.name == "persistentvolumeclaims":
            # The API server answers a claim's delete with the claim, as for pods.
            return Response(200, dumps(obj))
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": info.name,
                "kind": resource.name,
                "uid": obj["metadata"].get("uid", ""),
            },
        }
        return Response(200, dumps(body))

    def _access_review(self, payload: bytes, headers: dict, subject: Subject) -> Response:
        try:
            if headers.get("content-type", "").startswith(protobuf.CONTENT_TYPE):
                review = protobuf.access_review(payload)  # `kubectl auth can-i`
            else:
                review = json.loads(payload or b"{}")
        except (ValueError, IndexError, UnicodeDecodeError) as err:
            raise ApiError(400, f"error decoding request body: {err}", {}) from err
        if not isinstance(review, dict):
            raise ApiError(400, "the body of the request must be a JSON object", {})
        spec = review.get("spec") or {}
        attrs = spec.get("resourceAttributes")
        if attrs:
            resource = attrs.get("resource", "")
            if attrs.get("subresource"):
                resource = f"{resource}/{attrs['subresource']}"
            verb, group = attrs.get("verb", ""), attrs.get("group", "")
            namespace = attrs.get("namespace", "")
            rules = self._rules(subject, namespace)
            ok = allowed(rules, verb, group, resource, attrs.get("name", ""))
            if (
                ok
                and verb == "create"
                and group == "nvidia.com"
                and resource == "dynamographdeployments"
                and namespace in self.faults.forbidden_create
            ):
                ok = False
        else:
            ok = True  # non-resource URLs (discovery, health) are open to authenticated users
        review["status"] = {"allowed": ok}
        if ok:
            review["status"]["reason"] = "allowed by the sandbox cluster's permissions"
        review.setdefault("metadata", {})["creationTimestamp"] = None
        review.setdefault("apiVersion", "authorization.k8s.io/v1")
        review.setdefault("kind", "SelfSubjectAccessReview")
        return Response(201, dumps(review))

    # ------------------------------------------------------------------ discovery

    def _discovery(self, path: str) -> Response:
        if path == "/version":
            return Response(200, dumps(KUBE_VERSION))
        if path == "/api":
            return Response(
                200,
                dumps(
                    {
                        "kind": "APIVersions",
                        "versions": ["v1"],
                        "serverAddressByClientCIDRs": [
                            {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}
                        ],
                    }
                ),
            )
        if path == "/api/v1":
            return Response(200, dumps(self._resource_list("v1", list(CORE.values()))))
        if path == "/openapi/v3":
            # Just enough OpenAPI for kubectl to learn that the server validates fields itself
            # (it asks about Namespace for groups it finds no document for), so that
            # `kubectl apply` relies on fieldValidation=Strict instead of client-side schemas.
            return Response(
                200,
                dumps(
                    {
                        "paths": {
                            "api/v1": {"serverRelativeURL": "/openapi/v3/api/v1"},
                            f"apis/{RBAC_GROUP}/v1": {
                                "serverRelativeURL": f"/openapi/v3/apis/{RBAC_GROUP}/v1"
                            },
                        }
                    }
                ),
            )
        if path == f"/openapi/v3/apis/{RBAC_GROUP}/v1":
            # The same for RBAC objects, so `kubectl apply` of a Role or binding validates here.
            paths = {}
            for resource in RBAC.values():
                scope = "/namespaces/{namespace}" if resource.namespaced else ""
                gvk = {"group": RBAC_GROUP, "version": "v1", "kind": resource.kind}
                paths[f"/apis/{RBAC_GROUP}/v1{scope}/{resource.name}/{{name}}"] = {
                    "patch": {
                        "x-kubernetes-group-version-kind": gvk,
                        "parameters": [
                            {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
                        ],
                        "responses": {},
                    }
                }
            info = {"title": "Kubernetes", "version": KUBE_VERSION["gitVersion"]}
            document = {"openapi": "3.0.0", "info": info, "paths": paths}
            return Response(200, dumps(document | {"components": {"schemas": {}}}))
        if path == "/openapi/v3/api/v1":
            patch = {
                "x-kubernetes-group-version-kind": {
                    "group": "",
                    "version": "v1",
                    "kind": "Namespace",
                },
                "parameters": [
                    {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}
                ],
                "responses": {},
            }
            return Response(
                200,
                dumps(
                    {
                        "openapi": "3.0.0",
                        "info": {"title": "Kubernetes", "version": KUBE_VERSION["gitVersion"]},
                        "paths": {
                            "/api/v1/namespaces/{name}": {"patch": patch},
                            **_writable_core_paths(patch),
                        },
                        "components": {"schemas": {}},
                    }
                ),
            )
        groups = self._groups()
        if path == "/apis":
            return Response(
                200,
                dumps(
                    {"kind": "APIGroupList", "apiVersion": "v1", "groups": list(groups.values())}
                ),
            )
        segments = [s for s in path.split("/") if s]
        if len(segments) == 2 and segments[0] == "apis" and segments[1] in groups:
            return Response(
                200, dumps({"kind": "APIGroup", "apiVersion": "v1", **groups[segments[1]]})
            )
        if len(segments) == 3 and segments[0] == "apis" and segments[1] in groups:
            group, version = segments[1], segments[2]
            resources = self._group_resources(group, version)
            if resources is not None:
                return Response(200, dumps(self._resource_list(f"{group}/{version}", resources)))
        raise ApiError(404, "the server could not find the requested resource", {})

    def _groups(self) -> dict[str, dict]:
        groups: dict[str, list[str]] = {
            DEPLOYMENTS.group: ["v1"],
            CRDS.group: ["v1"],
            SSAR.group: ["v1"],
            RBAC_GROUP: ["v1"],
        }
        preferred: dict[str, str] = {
            DEPLOYMENTS.group: "v1",
            CRDS.group: "v1",
            SSAR.group: "v1",
            RBAC_GROUP: "v1",
        }
        for (group, _plural), crd in self.crds.items():
            versions = groups.setdefault(group, [])
            for v in self._served(crd):
                if v not in versions:
                    versions.append(v)
            storage = next((v["name"] for v in crd["spec"]["versions"] if v.get("storage")), None)
            if storage in self._served(crd):
                preferred[group] = storage
        result = {}
        for group, versions in groups.items():
            # Newest first, as the apiserver orders them (v1beta1 before v1alpha1).
            ordered = sorted(versions, key=_version_priority)
            best = preferred.get(group, ordered[0])
            result[group] = {
                "name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in ordered],
                "preferredVersion": {"groupVersion": f"{group}/{best}", "version": best},
            }
        return result

    def _group_resources(self, group: str, version: str) -> list[Resource] | None:
        if (group, version) == (DEPLOYMENTS.group, "v1"):
            return [DEPLOYMENTS]
        if (group, version) == (CRDS.group, "v1"):
            return [CRDS]
        if (group, version) == (SSAR.group, "v1"):
            return [SSAR]
        if (group, version) == (RBAC_GROUP, "v1"):
            return list(RBAC.values())
        found = [
            self._crd_resource(crd)
            for (g, _), crd in self.crds.items()
            if g == group and version in self._served(crd)
        ]
        return found or None

    def _resource_list(self, group_version: str, resources: list[Resource]) -> dict:
        items = []
        for r in resources:
            items.append(
                {
                    "name": r.name,
                    "singularName": r.singular or r.kind.lower(),
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": list(_with_watch(r.verbs)),
                    **({"shortNames": list(r.short_names)} if r.short_names else {}),
                }
            )
            if r.name == "pods":
                items.append(
                    {
                        "name": "pods/log",
                        "singularName": "",
                        "namespaced": True,
                        "kind": "Pod",
                        "verbs": ["get"],
                    }
                )
            if r.verbs == CR_VERBS:
                items.append(
                    {
                        "name": f"{r.name}/status",
                        "singularName": "",
                        "namespaced": r.namespaced,
                        "kind": r.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
            crd = self.crds.get((r.group, r.name))
            if crd and _has_scale(crd, group_version.rpartition("/")[2]):
                items.append(
                    {
                        "name": f"{r.name}/scale",
                        "singularName": "",
                        "namespaced": r.namespaced,
                        "group": "autoscaling",
                        "version": "v1",
                        "kind": "Scale",
                        "verbs": ["get", "patch", "update"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": items,
        }

    # ------------------------------------------------------------------ control endpoint

    def _control(self, method: str, path: str, body: bytes) -> Response:
        """POST /sandbox/faults and /sandbox/clock, for demos driven from the command line;
        GET (or POST, to reset) /sandbox/requests, the request counter."""
        if path == "/sandbox/faults":
            if method == "POST":
                try:
                    self.apply_faults(json.loads(body or b"{}"))
                except (ValueError, TypeError) as err:
                    return Response(400, status_body(400, "BadRequest", str(err)))
            return Response(200, dumps(self.faults.describe()))
        if path == "/sandbox/requests":
            # The request counter, for benchmarks in another process; POST resets it.
            with self.lock:
                if method == "POST":
                    self.counters.clear()
                counts = [
                    {"verb": verb, "resource": resource, "namespace": namespace, "count": count}
                    for (verb, resource, namespace), count in sorted(self.counters.items())
                ]
            return Response(200, dumps({"requests": counts, "watching": self.watching}))
        if path == "/sandbox/clock" and method == "POST":
            seconds = float(json.loads(body or b"{}").get("advance", 0))
            self.clock.advance(seconds)
            with self.lock:
                self.sim.reconcile(self.clock.now())
            return Response(200, dumps({"now": rfc3339(self.clock.now())}))
        return Response(404, status_body(404, "NotFound", "unknown sandbox control endpoint"))

    def apply_faults(self, spec: dict) -> None:
        """Apply a fault description: latency, failNext, failLists, stallWatches, compact,
        forbid/allow DGD create, outage, reset."""
        if spec.get("reset"):
            self.faults = Faults()
        if "latency" in spec:
            self.faults.latency = max(float(spec["latency"]), 0.0)
        if "failNext" in spec:
            fail = spec["failNext"]
            count, code = int(fail.get("count", 1)), int(fail.get("code", 503))
            self.faults.failures.extend([code] * count)
        if "failLists" in spec:
            fail = spec["failLists"]
            count, code = int(fail.get("count", 1)), int(fail.get("code", 500))
            self.faults.list_failures.extend([code] * count)
        if "stallWatches" in spec:
            # The watches open now hang (as behind a broken proxy); new ones work.
            self.faults.stalled_before = self.watch_serial if spec["stallWatches"] else 0
            self.store.wake_watchers()
        if spec.get("compact"):
            # etcd compacted: watches resuming from before now get 410 Gone.
            self.store.compact()
            self.stop_watches()
        for namespace in spec.get("forbidDgdCreate") or []:
            self.faults.forbidden_create.add(namespace)
        for namespace in spec.get("allowDgdCreate") or []:
            self.faults.forbidden_create.discard(namespace)
        if spec.get("outage") and self.on_outage is not None:
            self.on_outage(float(spec["outage"]))


def _with_watch(verbs: tuple[str, ...]) -> tuple[str, ...]:
    """A resource's verbs: every resource that can be listed can be watched."""
    return (*verbs, "watch") if "list" in verbs and "watch" not in verbs else verbs


def _has_scale(crd: dict, version: str) -> bool:
    """Whether the CRD's version has a scale subresource."""
    return any(
        "scale" in (v.get("subresources") or {})
        for v in crd["spec"]["versions"]
        if v["name"] == version
    )


def resource_is_dgd(crd: dict) -> bool:
    """Whether a CRD is the DynamoGraphDeployment one (which has a conversion)."""
    return crd["spec"]["group"] == "nvidia.com" and crd["spec"]["names"]["kind"] == (
        "DynamoGraphDeployment"
    )


def _entry_key(entry: Entry) -> tuple[str, str]:
    meta = entry.obj["metadata"]
    return meta.get("namespace", ""), meta["name"]


def _version_priority(version: str) -> tuple[int, int, int]:
    found = re.match(r"^v(\d+)(?:(alpha|beta)(\d+))?$", version)
    if not found:
        return (3, 0, 0)
    major, stage, minor = found.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0))


def _not_found(resource: Resource, name: str) -> ApiError:
    qualified = resource.store_key
    details = {"name": name, "kind": resource.name}
    if resource.group:
        details["group"] = resource.group
    return ApiError(404, f'{qualified} "{name}" not found', details)


def _already_exists(resource: Resource, name: str) -> ApiError:
    details = {"name": name, "kind": resource.name}
    if resource.group:
        details["group"] = resource.group
    return ApiError(
        409, f'{resource.store_key} "{name}" already exists', details, reason="AlreadyExists"
    )


def _secret_errors(obj: dict) -> list[schema.FieldError]:
    errors = []
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            errors.append(
                schema.FieldError(
                    f"data[{key}]",
                    'Invalid value: "<secret contents redacted>": illegal base64 data',
                    schema.INVALID,
                )
            )
    return errors


# --- PersistentVolumeClaims and ConfigMaps ----------------------------------------------------


def _writable_core_paths(patch: dict) -> dict:
    """OpenAPI paths that tell kubectl the server validates claims and ConfigMaps itself."""
    return {
        f"/api/v1/namespaces/{{namespace}}/{resource.name}/{{name}}": {
            "patch": {
                **patch,
                "x-kubernetes-group-version-kind": {
                    "group": "",
                    "version": "v1",
                    "kind": resource.kind,
                },
            }
        }
        for resource in CORE.values()
        if resource.name in VOLUME_COLUMNS
    }


_ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
_ACCESS_SHORT = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}
# kubectl get pvc / get configmap, as the API server's table prints them.
VOLUME_COLUMNS = {
    "persistentvolumeclaims": (
        ("Status", "string"),
        ("Volume", "string"),
        ("Capacity", "string"),
        ("Access Modes", "string"),
        ("StorageClass", "string"),
        ("VolumeAttributesClass", "string"),
        ("Age", "string"),
    ),
    "configmaps": (("Data", "integer"), ("Age", "string")),
}


def _volume_getters(resource: str, age):
    if resource == "configmaps":
        return [lambda cm: len(cm.get("data") or {}) + len(cm.get("binaryData") or {}), age]
    return [
        lambda c: (c.get("status") or {}).get("phase", "Pending"),
        lambda c: (c.get("spec") or {}).get("volumeName", ""),
        lambda c: ((c.get("status") or {}).get("capacity") or {}).get("storage", ""),
        lambda c: ",".join(
            _ACCESS_SHORT.get(m, m) for m in (c.get("status") or {}).get("accessModes") or []
        ),
        lambda c: (c.get("spec") or {}).get("storageClassName", ""),
        lambda c: (c.get("spec") or {}).get("volumeAttributesClassName") or "<unset>",
        age,
    ]


def _volume_errors(resource: str, obj: dict) -> list[schema.FieldError]:
    """The API server's validation of a claim's access modes and size, and ConfigMap data."""
    errors = []
    if resource == "configmaps":
        for key, value in (obj.get("data") or {}).items():
            if not isinstance(value, str):
                errors.append(
                    schema.FieldError(
                        f"data[{key}]", "Invalid value: must be a string", schema.INVALID
                    )
                )
        return errors
    if resource != "persistentvolumeclaims":
        return errors
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    modes = spec.get("accessModes") or []
    if not modes:
        errors.append(
            schema.FieldError(
                "spec.accessModes",
                "Required value: at least 1 access mode is required",
                schema.REQUIRED,
            )
        )
    for index, mode in enumerate(modes):
        if mode not in _ACCESS_MODES:
            supported = ", ".join(f'"{m}"' for m in _ACCESS_MODES)
            errors.append(
                schema.FieldError(
                    f"spec.accessModes[{index}]",
                    f'Unsupported value: "{mode}": supported values: {supported}',
                    schema.NOT_SUPPORTED,
                )
            )
    storage = ((spec.get("resources") or {}).get("requests") or {}).get("storage")
    if not storage:
        errors.append(
            schema.FieldError("spec.resources[storage]", "Required value", schema.REQUIRED)
        )
    return errors


def _bound(resource: str, obj: dict) -> dict:
    """A new claim as a dynamic provisioner leaves it: Bound to a volume of its size."""
    if resource != "persistentvolumeclaims":
        return obj
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    spec.setdefault("storageClassName", "standard")
    uid = obj["metadata"].get("uid", "")
    spec.setdefault("volumeName", f"pvc-{uid}")
    obj["status"] = {
        "phase": "Bound",
        "accessModes": list(spec.get("accessModes") or []),
        "capacity": {"storage": str(spec["resources"]["requests"]["storage"])},
    }
    return obj


def _merge(target: object, patch: object) -> object:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _json_patch(doc: dict, ops: list) -> dict:
    """RFC 6902 JSON patch (add, remove, replace, test)."""
    doc = copy.deepcopy(doc)
    for op in ops:
        parts = _pointer(op.get("path", ""))
        if not parts:
            raise ApiError(
                422, "the server rejected our request due to an error in our request", {}
            )
        parent: object = doc
        for part in parts[:-1]:
            parent = parent[int(part)] if isinstance(parent, list) else parent[part]
        last = parts[-1]
        kind = op.get("op")
        try:
            if kind in ("add", "replace"):
                if isinstance(parent, list):
                    index = len(parent) if last == "-" else int(last)
                    if kind == "add":
                        parent.insert(index, op["value"])
                    else:
                        parent[index] = op["value"]
                else:
                    parent[last] = op["value"]
            elif kind == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif kind == "test":
                current = parent[int(last)] if isinstance(parent, list) else parent[last]
                if current != op.get("value"):
                    raise ApiError(422, f"the test operation failed for path {op['path']}", {})
            else:
                raise ApiError(400, f"unsupported JSON patch operation {kind!r}", {})
        except (KeyError, IndexError, ValueError, TypeError) as err:
            raise ApiError(
                422, f"the patch could not be applied at {op.get('path')}: {err}", {}
            ) from err
    return doc


def _unknown_fields(root: dict, obj: dict, validation: str) -> tuple[dict, list[str]]:
    """The object as the API server keeps it, and the warnings to send, per fieldValidation.

    Strict refuses unknown fields with a 400 before any schema check; Warn (the default)
    prunes them and says so in Warning headers; Ignore prunes them silently.
    """
    unknown = [e.field for e in schema.validate(root, obj) if e.reason == schema.UNKNOWN]
    if not unknown:
        return obj, []
    if validation == "Strict":
        listed = ", ".join(f'unknown field "{field}"' for field in unknown)
        raise ApiError(400, f"strict decoding error: {listed}", {}, reason="BadRequest")
    pruned = schema.prune_object(root, obj)
    warnings = [] if validation == "Ignore" else [f'unknown field "{f}"' for f in unknown]
    return pruned, warnings


def _known(errors: list) -> list:
    return [e for e in errors if e.reason != schema.UNKNOWN]


def _with_warnings(headers: dict[str, str], warnings: list[str]) -> dict[str, str]:
    texts = [headers["Warning"]] if "Warning" in headers else []
    # A warn-text is a quoted-string: its own quotes and backslashes are escaped.
    texts += ['299 - "' + w.replace("\\", "\\\\").replace('"', '\\"') + '"' for w in warnings]
    return {**headers, "Warning": ", ".join(texts)} if texts else headers


def _patch(current: dict, payload: object, content_type: str) -> dict:
    if content_type == "application/json-patch+json":
        if not isinstance(payload, list):
            raise ApiError(400, "a JSON patch must be a list of operations", {})
        return _json_patch(current, payload)
    if content_type in ("application/merge-patch+json", "application/apply-patch+yaml"):
        return _merge(current, payload)  # type: ignore[return-value]
    raise ApiError(
        415,
        f"the body of the request was in an unknown format - accepted media types include: "
        f"application/json-patch+json, application/merge-patch+json, "
        f"application/apply-patch+yaml (got {content_type})",
        {},
    )


def _json_path(obj: dict, path: str) -> object:
    """The tiny JSONPath subset CRD printer columns use (.a.b and [?(@.k=="v")])."""
    current: object = obj
    for part in re.findall(r"\.([A-Za-z0-9_-]+)|\[\?\(@\.(\w+)==\"([^\"]*)\"\)\]", path):
        key, filter_key, filter_value = part
        if key:
            current = current.get(key) if isinstance(current, dict) else None
        else:
            items = current if isinstance(current, list) else []
            current = next((i for i in items if i.get(filter_key) == filter_value), None)
        if current is None:
            return None
    return current


def _age(obj: dict, now: float) -> str:
    return _since(obj["metadata"].get("creationTimestamp"), now)


def _since(stamp: object, now: float) -> str:
    """A kubectl-style age (5s, 3m, 2h, 4d) of an RFC 3339 timestamp."""
    if not isinstance(stamp, str) or not stamp:
        return "<unknown>"
    seconds = int(now - datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size * 2:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def _pod_ready(pod: dict) -> str:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _pod_status(pod: dict) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    for status in pod.get("status", {}).get("containerStatuses") or []:
        waiting = status.get("state", {}).get("waiting")
        if waiting:
            return waiting.get("reason", "Waiting")
    return pod.get("status", {}).get("phase", "Unknown")
