"""SandboxCluster: the sandbox's public face, for tests, the benchmark and `manage.py sandbox`."""

from __future__ import annotations

import copy
import secrets
import ssl
import tempfile
import threading
import uuid
from pathlib import Path

from . import adapters, schema
from . import tls as tls_support
from .api import Api
from .clock import Clock, ManualClock, rfc3339
from .kubeconfig import write_kubeconfig
from .operator import DGD, Simulation
from .rbac import ALLOW_ALL
from .seed import (
    OPERATOR_IMAGE,
    OPERATOR_TAGS,
    configmap_object,
    load_cluster,
    namespace_object,
    node_object,
    operator_deployment,
    pvc_object,
    secret_object,
)
from .server import Listener
from .store import Store

COMPACT_CRD = Path(__file__).parent / "crds" / "dynamographdeployments.yaml"
PROFILES = ("dynamo-1.5", "dynamo-0.6")
_STEP = 2.0  # advance() reconciles at least this often, so chained transitions happen in order


def compact_crd(profile: str = "dynamo-1.5") -> dict:
    """The project's compact DGD CRD as the given Dynamo release would serve it."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    crd = schema.load_crd(COMPACT_CRD)
    if profile == "dynamo-0.6":
        # Dynamo 0.6 had only v1alpha1, which was then the storage version.
        versions = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
        for version in versions:
            version["storage"] = True
            version.pop("deprecated", None)
            version.pop("deprecationWarning", None)
            # 0.6.1's status has only state and conditions: no counts, no observedGeneration.
            status = version["schema"]["openAPIV3Schema"]["properties"]["status"]
            status["properties"] = {
                key: status["properties"][key] for key in ("state", "conditions")
            }
            # spec.restart came with Dynamo 1.5; 0.6 restarts through pod annotations.
            spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
            spec["properties"] = {k: v for k, v in spec["properties"].items() if k != "restart"}
            spec.pop("x-kubernetes-validations", None)
        crd["spec"]["versions"] = versions
    return crd


class SandboxCluster:
    """A Kubernetes API emulator on loopback with a simulated Dynamo operator and kubelet."""

    def __init__(
        self,
        profile: str = "dynamo-1.5",
        crds: list[str | Path] | None = None,
        cluster: str | Path | dict | None = None,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        speed: float = 1.0,
        *,
        kubeconfig_path: str | Path | None = None,
        token: str | None = None,
        verbose: bool = False,
        tls: bool | None = None,
        seed: int | None = None,
    ) -> None:
        self.profile = profile
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.host = host
        self.port = port
        self.verbose = verbose
        # kubectl only sends the token over HTTPS; without openssl, serve plain HTTP.
        self.tls = tls_support.available() if tls is None else tls
        # Timestamps stay in real time; speed shortens the simulated durations instead.
        self.clock = clock or Clock()
        self.speed = speed
        self.token = token or secrets.token_urlsafe(24)
        # Without a kubeconfig path, one in a temporary folder that close() removes.
        self._tmp: tempfile.TemporaryDirectory | None = None
        if kubeconfig_path is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="dynamote-sandbox-")
            kubeconfig_path = Path(self._tmp.name) / "kubeconfig"
        self.kubeconfig_path = Path(kubeconfig_path)
        installed = [schema.load_crd(p) for p in crds] if crds else [compact_crd(profile)]
        if profile == "dynamo-1.5" and not any(
            c["spec"]["names"]["plural"] == "dynamographdeploymentscalingadapters"
            for c in installed
        ):
            installed.append(adapters.compact_crd())
        spec = load_cluster(cluster)
        self.store = Store()
        self.simulation = Simulation(self.store, speed=speed, images=spec.get("images"))
        # The API server keeps of a status write only what the version's status schema has.
        dgd_crd = next(
            c for c in installed if c["spec"]["names"]["plural"] == "dynamographdeployments"
        )
        self.simulation.status_schemas = schema.status_schemas(dgd_crd)
        self.api = Api(
            store=self.store,
            simulation=self.simulation,
            clock=self.clock,
            crds=installed,
            token=self.token,
            user=spec.get("user") or "system:serviceaccount:dynamote:dynamote",
            permissions=copy.deepcopy(spec.get("permissions") or ALLOW_ALL),
            seed=seed,
        )
        self.api.on_outage = self._outage
        # Answers through the proxies are paced like the rest: --speed 4 answers 4 times faster.
        self.api.traffic.scale = 1.0 / speed
        self._seed(spec)
        self._seed_operator(spec.get("operator") or {})
        self._listener: Listener | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The API server's base URL."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the listener accepts connections."""
        return self._listener is not None

    def start(self) -> SandboxCluster:
        """Bind, write the kubeconfig, then serve in a background thread."""
        if self._listener is not None:
            return self
        context = tls_support.server_context() if self.tls else None
        listener = Listener((self.host, self.port), self.api, verbose=self.verbose, tls=context)
        self.port = listener.server_address[1]
        self.api.server_address = f"{self.host}:{self.port}"
        ca_data = tls_support.certificate()[0] if self.tls else None
        write_kubeconfig(self.kubeconfig_path, self.url, self.token, ca_data=ca_data)
        self._listener = listener
        self._thread = threading.Thread(
            target=listener.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (clients get connection refused); the cluster's state is kept."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        self.api.stop_watches()
        listener.shutdown()
        listener.server_close()
        listener.drop_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def ssl_context(self) -> ssl.SSLContext | None:
        """For plain HTTP clients (urllib): a context trusting the sandbox, or None without TLS."""
        return tls_support.client_context() if self.tls else None

    def restart(self) -> None:
        """Listen again on the same port."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop for good, removing the temporary kubeconfig folder if this sandbox made one."""
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SandboxCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _outage(self, seconds: float) -> None:
        """Refuse connections for a while (real seconds), from the control endpoint."""

        # The request asking for the outage is still being answered: stop from another thread.
        def run() -> None:
            self.stop()
            threading.Timer(seconds, self.start).start()

        threading.Timer(0.05, run).start()

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        """The sandbox's current time (seconds since the epoch)."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move the clock forward, letting the operator and kubelet act along the way."""
        remaining = seconds
        while remaining > 0:
            step = min(_STEP, remaining)
            self.clock.advance(step)
            remaining -= step
            self.reconcile()

    def reconcile(self) -> None:
        """Let the simulation catch up with the clock now."""
        with self.api.lock:
            self.simulation.reconcile(self.clock.now())

    # ------------------------------------------------------------------ faults

    def set_latency(self, seconds: float) -> None:
        """Delay every API response by this many (real) seconds."""
        self.api.faults.latency = max(seconds, 0.0)

    def fail_next(self, n: int = 1, code: int = 503) -> None:
        """Make the next n API requests fail with this status code (401, 403, 500, 503...)."""
        self.api.faults.failures.extend([code] * n)

    def forbid_dgd_create(self, namespace: str) -> None:
        """Deny creating DGDs in a namespace with a real-looking RBAC 403."""
        self.api.faults.forbidden_create.add(namespace)

    def allow_dgd_create(self, namespace: str) -> None:
        """Undo forbid_dgd_create."""
        self.api.faults.forbidden_create.discard(namespace)

    def clear_faults(self) -> None:
        """Remove latency, pending failures and forbidden namespaces."""
        self.api.apply_faults({"reset": True})

    @property
    def permissions(self) -> list[dict]:
        """The RBAC PolicyRules granted to the kubeconfig's user."""
        return self.api.permissions

    def set_permissions(self, rules: list[dict]) -> None:
        """Grant exactly these RBAC PolicyRules (e.g. the rules of a ClusterRole)."""
        self.api.permissions = copy.deepcopy(rules)

    @property
    def user(self) -> str:
        """The user the kubeconfig's token authenticates as."""
        return self.api.user

    # ------------------------------------------------------------------ counters

    def request_count(self, verb: str, resource: str, namespace: str | None = None) -> int:
        """How many requests used this Kubernetes verb on this resource (in one namespace)."""
        with self.api.lock:
            return sum(
                n
                for (v, r, ns), n in self.api.counters.items()
                if v == verb and r == resource and (namespace is None or ns == namespace)
            )

    def reset_counters(self) -> None:
        """Forget counted and logged requests."""
        with self.api.lock:
            self.api.counters.clear()
            self.api.request_log.clear()

    @property
    def request_log(self) -> list[dict]:
        """Requests so far: method, path, verb, resource, namespace, name, status, time."""
        with self.api.lock:
            return list(self.api.request_log)

    # ------------------------------------------------------------------ seeding and inspection

    def _seed(self, spec: dict) -> None:
        now = self.clock.now()
        for name in spec.get("namespaces") or []:
            self.create_namespace(name)
        for secret in spec.get("secrets") or []:
            self.create_secret(secret["namespace"], secret["name"], secret.get("data") or {})
        for claim in spec.get("pvcs") or []:
            self.create_pvc(
                claim["namespace"],
                claim["name"],
                access_modes=claim.get("accessModes"),
                storage=str(claim.get("storage", "100Gi")),
            )
        for node in spec.get("nodes") or []:
            count = int(node.get("replicas", 1))
            for index in range(count):
                name = node["name"] if count == 1 else f"{node['name']}-{index + 1}"
                self.store.put(
                    "nodes",
                    node_object(
                        name,
                        now,
                        node.get("gpu"),
                        node.get("cpu", "96"),
                        node.get("memory", "1Ti"),
                        node.get("labels"),
                    ),
                )

    def _seed_operator(self, operator: dict) -> None:
        """The Dynamo platform's operator Deployment, which tells the platform's release."""
        namespace = operator.get("namespace")
        if not namespace:
            return
        image = operator.get("image") or f"{OPERATOR_IMAGE}:{OPERATOR_TAGS[self.profile]}"
        self.create_namespace(namespace)
        self.store.put("deployments.apps", operator_deployment(namespace, image, self.now()))

    def create_namespace(self, name: str) -> dict:
        """Add a namespace (no-op if it exists)."""
        with self.api.lock:
            existing = self.store.get("namespaces", "", name)
            return existing or self.store.put("namespaces", namespace_object(name, self.now()))

    def create_secret(self, namespace: str, name: str, data: dict[str, str]) -> dict:
        """Add or replace an Opaque Secret from plain-text values."""
        with self.api.lock:
            self.create_namespace(namespace)
            secret = self.store.put("secrets", secret_object(namespace, name, data, self.now()))
            self.simulation.touch()
            return secret

    def delete_secret(self, namespace: str, name: str) -> None:
        """Remove a Secret."""
        with self.api.lock:
            self.store.delete("secrets", namespace, name)
            self.simulation.touch()

    def create_pvc(
        self,
        namespace: str,
        name: str,
        access_modes: list[str] | None = None,
        storage: str = "100Gi",
    ) -> dict:
        """Add or replace a Bound PersistentVolumeClaim (ReadWriteMany unless told)."""
        with self.api.lock:
            self.create_namespace(namespace)
            claim = pvc_object(namespace, name, self.now(), access_modes, storage)
            claim = self.store.put("persistentvolumeclaims", claim)
            self.simulation.touch()
            return claim

    def delete_pvc(self, namespace: str, name: str) -> None:
        """Remove a PersistentVolumeClaim."""
        with self.api.lock:
            self.store.delete("persistentvolumeclaims", namespace, name)
            self.simulation.touch()

    def create_configmap(self, namespace: str, name: str, data: dict[str, str]) -> dict:
        """Add or replace a ConfigMap."""
        with self.api.lock:
            self.create_namespace(namespace)
            config_map = configmap_object(namespace, name, data, self.now())
            config_map = self.store.put("configmaps", config_map)
            self.simulation.touch()
            return config_map

    def add_node(
        self,
        name: str,
        gpus: int = 8,
        product: str = "NVIDIA-H100-80GB-HBM3",
        memory_mib: int = 81559,
        labels: dict[str, str] | None = None,
        cpu: str = "96",
        memory: str = "1Ti",
    ) -> dict:
        """Add a Ready node with this many allocatable GPUs."""
        gpu = {"product": product, "memory": memory_mib, "count": gpus}
        with self.api.lock:
            node = self.store.put("nodes", node_object(name, self.now(), gpu, cpu, memory, labels))
            self.simulation.touch()
            return node

    def remove_node(self, name: str) -> None:
        """Remove a node (pods already bound to it stay where they are)."""
        with self.api.lock:
            self.store.delete("nodes", "", name)
            self.simulation.touch()

    def get(self, resource: str, namespace: str, name: str) -> dict | None:
        """A deep copy of a stored object ("pods", "dynamographdeployments", ...), for tests."""
        key = DGD if resource in ("dynamographdeployments", "dgd") else resource
        with self.api.lock:
            self.simulation.reconcile(self.now())
            obj = self.store.get(key, namespace, name)
            return copy.deepcopy(obj)

    def list(self, resource: str, namespace: str | None = None) -> list[dict]:
        """Deep copies of stored objects of a resource, for tests."""
        key = DGD if resource in ("dynamographdeployments", "dgd") else resource
        with self.api.lock:
            self.simulation.reconcile(self.now())
            return copy.deepcopy(self.store.objects(key, namespace))

    def seed_deployments(
        self,
        count: int,
        namespace: str = "default",
        workers: int = 9,
        prefix: str = "bench",
        settle: bool = True,
    ) -> None:
        """Store many small DGDs directly (1 frontend + `workers` CPU-only mocker workers each).

        With settle, their pods are created and run to Ready in simulated time
        that is back-dated, so the cluster is immediately steady (for benchmarks).
        """
        with self.api.lock:
            self.create_namespace(namespace)
            start = self.now() - 3600 if settle else self.now()
            for index in range(count):
                name = f"{prefix}-{index:04d}"
                self.store.put(DGD, _bench_dgd(name, namespace, workers, start))
            self.simulation.touch()
            if settle:
                # Walk the back-dated timeline: operator delay, scheduling, start, ready.
                for offset in (0, 2, 10, 60, 600):
                    self.simulation.touch()
                    self.simulation.reconcile(start + offset)
                self.simulation.touch()
                self.simulation.reconcile(self.now())


def _bench_dgd(name: str, namespace: str, workers: int, created: float) -> dict:
    image = "nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.0"
    return {
        "apiVersion": "nvidia.com/v1beta1",
        "kind": "DynamoGraphDeployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "generation": 1,
            "creationTimestamp": rfc3339(created),
            "labels": {"app.kubernetes.io/managed-by": "dynamote"},
        },
        "spec": {
            "backendFramework": "vllm",
            "components": [
                {
                    "name": "Frontend",
                    "type": "frontend",
                    "replicas": 1,
                    "podTemplate": {"spec": {"containers": [{"name": "main", "image": image}]}},
                },
                {
                    "name": "Worker",
                    "type": "worker",
                    "replicas": workers,
                    "podTemplate": {
                        "spec": {
                            "containers": [
                                {
                                    "name": "main",
                                    "image": image,
                                    "command": ["python3", "-m", "dynamo.mocker"],
                                    "args": ["--model-path", "Qwen/Qwen3-0.6B"],
                                }
                            ]
                        }
                    },
                },
            ],
        },
    }


__all__ = ["ManualClock", "SandboxCluster", "compact_crd"]
