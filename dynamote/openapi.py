"""The JSON API's OpenAPI 3 document, built with django-ninja from pydantic models.

The routes themselves are the Django views in `*/api_urls.py` (their CSRF, 401, role and
error-shape rules stay where they are). Each route is described here by one django-ninja
operation: its query parameters, its body and every answer with its schema. The operations
are only described, never routed: `tests/api/test_contract.py` fails for an `/api/` route
without an operation here, for a method a route answers that is not documented, and for
an answer that does not match its schema.

To document a new route: add its answer's model (fields in the API's camelCase; an error
answer is `Error`) and one function decorated with `@api.get/post/patch/delete(path,
response=answers(200, Model, 404, ...))` whose parameters are the query parameters.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET
from ninja import NinjaAPI, Path, Query, Schema
from ninja.openapi.docs import Swagger
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import ConfigDict, Field

from access.decorators import requires
from access.roles import Action
from deployments.manifests import DeploymentConfig

# --- how a request authenticates (described only; access/ and Django's sessions do it) -------


class BearerToken(HttpBearer):
    """`Authorization: Bearer dyn_…`, an API token from the API tokens page (no CSRF)."""

    openapi_description = (
        "A personal access token from the API tokens page or `manage.py create_token`. "
        "It acts with its owner's roles (a read-only token only reads); no CSRF token needed."
    )

    def authenticate(self, request: HttpRequest, token: str) -> None:
        raise NotImplementedError("access.middleware.BearerTokenMiddleware authenticates")


class SessionCookie(APIKeyCookie):
    """The session of the sign-in page; writes also send `X-CSRFToken` and `Referer`."""

    param_name = settings.SESSION_COOKIE_NAME
    openapi_description = (
        "The session cookie of /login/. Writes (POST, PATCH, DELETE) also send the "
        "`csrftoken` cookie's value as `X-CSRFToken` and a same-origin `Referer`."
    )

    def authenticate(self, request: HttpRequest, key: str | None) -> None:
        raise NotImplementedError("Django's session middleware authenticates")


class _Api(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        return operation.view_func.__name__


api = _Api(
    title="Dynamote",
    version="1",
    description=(
        "Deploy and operate LLMs on Kubernetes with NVIDIA Dynamo. Every route needs a "
        "session or an API token, except `/api/health`; without either it answers `401`. "
        'Every answer is JSON except a manifest (YAML); an error is `{"error": "…", '
        '"fields": {"<field>": ["…"]}}`. A role refusal is `403` ("You need the Deployer '
        'role in namespace X to …"). An unknown route answers `404`, a wrong method `405`.'
    ),
    auth=[BearerToken(), SessionCookie()],
    openapi_url=None,
    docs_url=None,
)

# --- common schemas --------------------------------------------------------------------------


class Out(Schema):
    """An answer's body: every key it may carry is documented (additionalProperties false)."""

    model_config = ConfigDict(extra="forbid")


class Error(Out):
    """Every error answer: a sentence and, per field to blame, what to change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": "The config is not valid; see the fields.",
                    "fields": {"replicas": ["Choose between 1 and 10 replicas."]},
                }
            ]
        }
    )

    error: str
    fields: dict[str, list[str]] = Field(
        default_factory=dict, description="Messages per field; empty when no field is to blame."
    )


class UnknownOutcome(Error):
    """The cluster did not confirm the write in time: it may or may not have happened."""

    model_config = ConfigDict(json_schema_extra=None)

    outcome: Literal["unknown"]
    submission: int | None = Field(None, description="Send it again with the same key.")
    deletionId: int | None = None


class Preview(Out):
    """What a change does: the YAML diff, the components whose pods restart, in words."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "diff": "--- live\n+++ scale\n@@ -20 +20 @@\n-  replicas: 1\n+  replicas: 3\n",
                    "restarts": [],
                    "summary": ["Replicas only: no pod restarts."],
                    "warnings": [],
                    "resourceVersion": "4211",
                    "scaledThrough": {},
                }
            ]
        }
    )

    diff: str
    restarts: list[str] = Field(description="Components whose pods restart.")
    summary: list[str]
    warnings: list[str]
    resourceVersion: str | None
    scaledThrough: dict[str, str] = Field(
        description="Components scaled through a DynamoGraphDeploymentScalingAdapter."
    )


class Stale(Error, Preview):
    """409: the deployment changed since it was read (or cannot be changed this way)."""

    model_config = ConfigDict(json_schema_extra=None)

    diff: str | None = None
    restarts: list[str] | None = None
    summary: list[str] | None = None
    warnings: list[str] | None = None
    resourceVersion: str | None = None
    scaledThrough: dict[str, str] | None = None


NAME = Annotated[
    str,
    Path(
        description="The deployment's name (a Kubernetes DNS subdomain); another answers 400.",
        example="qwen3-8b-vllm",
    ),
]
NAMESPACE_DOC = "A namespace of DYNAMOTE_NAMESPACES; DYNAMOTE_DEFAULT_NAMESPACE when not given."
DRY_RUN_DOC = "`true` checks and shows what would happen; nothing is changed."

NAMESPACE = Annotated[str | None, Query(description=NAMESPACE_DOC)]
DRY_RUN = Annotated[bool, Query(description=DRY_RUN_DOC)]

COMMON = {401: Error, 403: Error}


def answers(*pairs: Any, public: bool = False) -> dict[int, Any]:
    """`answers(200, Model, 404, Error)`: each status with its body, plus 401 and 403."""
    found = dict(zip(pairs[::2], pairs[1::2], strict=True))
    return found if public else {**COMMON, **found}


YAML_BODY = {
    "content": {
        "application/yaml": {
            "schema": {"type": "string"},
            "example": "apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\n…",
        }
    }
}


# --- health, catalog, cluster, audit ----------------------------------------------------------


class Health(Out):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"]


@api.get("/health", response=answers(200, Health, public=True), auth=None, tags=["cluster"])
def health(request):
    """Liveness: answers without the database or the cluster, without a login."""


class CatalogModel(Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "qwen3-8b",
                    "name": "Qwen3 8B",
                    "description": "A dense 8B chat model.",
                    "size": "8B",
                    "task": "chat",
                    "contextLength": 32768,
                    "supportedEngines": ["vllm", "sglang", "trtllm"],
                    "minGpuMemory": 20,
                    "parameters": 8.2,
                    "weightFormat": "bf16",
                    "license": "Apache-2.0",
                    "hfRepoId": "Qwen/Qwen3-8B",
                    "gated": False,
                    "defaultTensorParallelSize": 1,
                }
            ]
        }
    )

    id: str
    name: str
    description: str
    size: str
    task: str
    contextLength: int
    supportedEngines: list[str]
    minGpuMemory: int
    parameters: float
    weightFormat: str
    license: str
    hfRepoId: str
    gated: bool
    defaultTensorParallelSize: int


class CatalogList(Out):
    models: list[CatalogModel]


@api.get("/models", response=answers(200, CatalogList), tags=["catalog"])
def list_models(
    request,
    q: Annotated[str, Query(description="Search name, repo, description and task.")] = "",
    engine: Annotated[
        list[Literal["vllm", "sglang", "trtllm"]],
        Query(description="Only models that run on every engine given (repeat it)."),
    ] = (),
):
    """The published catalog, filtered like the catalog page."""


@api.get("/models/{slug}", response=answers(200, CatalogModel, 404, Error), tags=["catalog"])
def get_model(request, slug: str):
    """One catalog model."""


class DynamoRelease(Out):
    line: str
    imageTag: str
    source: str
    reason: str
    operatorImage: str | None


class ClusterStatus(Out):
    state: Literal["connected", "unreachable", "not_installed"] = Field(
        description="not_installed: the cluster serves no DynamoGraphDeployment API."
    )
    label: str
    message: str
    server: str
    context: str
    kubernetesVersion: str
    dgdVersions: list[str]
    defaultNamespace: str
    checkedAt: str | None
    sandbox: bool
    dynamoRelease: DynamoRelease | None


@api.get("/cluster/status", response=answers(200, ClusterStatus), tags=["cluster"])
def cluster_status(request):
    """Connected, unreachable or without Dynamo, and which API server and context."""


class AuditEntry(Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "time": "2026-11-27T10:00:00+00:00",
                    "actor": "alice",
                    "auth": "token:ci",
                    "client": "10.0.0.7",
                    "request_id": "6f1c2a9e0b7d4c11",
                    "action": "deploy",
                    "namespace": "team-a",
                    "name": "qwen3-8b-vllm",
                    "summary": "qwen3-8b on vllm (v1beta1)",
                    "diff": "",
                    "outcome": "succeeded",
                    "message": "Created team-a/qwen3-8b-vllm.",
                }
            ]
        }
    )

    time: str
    actor: str
    auth: str = Field(description="password, sso or token:<name>.")
    client: str
    request_id: str
    action: str
    namespace: str
    name: str
    summary: str
    diff: str
    outcome: str
    message: str


class AuditList(Out):
    entries: list[AuditEntry]


@api.get("/audit", response=answers(200, AuditList, 400, Error), tags=["audit"])
def audit(
    request,
    actor: str = "",
    namespace: str = "",
    action: str = "",
    outcome: Literal["", "started", "succeeded", "failed", "refused", "unknown"] = "",
    since: Annotated[str, Query(description="e.g. 2026-11-01 00:00")] = "",
    until: str = "",
):
    """The audit log, newest first, at most 1000 entries (Admin role)."""


# --- deployments ---------------------------------------------------------------------------


class RoleReplicas(Out):
    role: str
    ready: int
    desired: int


class Replicas(Out):
    ready: int
    desired: int
    roles: list[RoleReplicas]
    text: str


class Row(Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "namespace": "default",
                    "name": "qwen3-8b-vllm",
                    "model": "qwen3-8b",
                    "modelName": "Qwen3 8B",
                    "engine": "vllm",
                    "status": "Ready",
                    "statusReason": "",
                    "replicas": {"ready": 2, "desired": 2, "roles": [], "text": "2/2"},
                    "createdAt": "2026-11-27T10:00:00+00:00",
                    "age": "5m",
                    "external": False,
                    "resourceVersion": "4211",
                }
            ]
        }
    )

    namespace: str
    name: str
    model: str
    modelName: str
    engine: str
    status: str = Field(description="Ready, Deploying, Pending, Failed, Deleting or Unknown.")
    statusReason: str
    replicas: Replicas
    createdAt: str | None
    age: str
    external: bool
    resourceVersion: str | None


class Listing(Out):
    deployments: list[Row]
    fetchedAt: str | None
    stale: bool = Field(description="The last data fetched, while the cluster is unreachable.")
    error: str | None


@api.get(
    "/deployments",
    response=answers(200, Listing, 400, Error, 503, Error),
    tags=["deployments"],
)
def list_deployments(
    request,
    namespace: Annotated[
        str | None, Query(description="Only this namespace (default: all).")
    ] = None,
):
    """Every deployment with its status and replicas; 503 when the cluster is unreachable and
    nothing was fetched yet."""


class Created(Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "deployment": {
                        "apiVersion": "nvidia.com/v1beta1",
                        "kind": "DynamoGraphDeployment",
                    },
                    "submission": 7,
                    "url": "/deployments/default/qwen3-8b-vllm/",
                }
            ]
        }
    )

    deployment: dict[str, Any] = Field(description="The DGD as the cluster created it.")
    submission: int
    url: str


class DryRun(Out):
    dryRun: Literal[True]
    manifest: dict[str, Any]
    yaml: str


class Imported(Out):
    """A DGD manifest sent as YAML: created (201), or its spec applied as an edit (200)."""

    namespace: str
    name: str
    creates: bool
    diff: str
    summary: list[str]
    restarts: list[str] | None = None
    resourceVersion: str | None = None
    dryRun: Literal[True] | None = None
    revision: int | None = None
    url: str | None = None


class ImportStale(Error):
    """409 for a YAML body: the deployment changed since the resourceVersion it names."""

    model_config = ConfigDict(json_schema_extra=None)

    namespace: str
    name: str
    creates: bool
    diff: str
    summary: list[str]
    restarts: list[str] | None = None
    resourceVersion: str | None = None


@api.post(
    "/deployments",
    response=answers(
        201,
        Created | Imported,
        200,
        DryRun | Created | Imported,
        400,
        Error,
        409,
        ImportStale | Error,
        413,
        Error,
        422,
        Error,
        502,
        Error,
        503,
        UnknownOutcome | Error,
    ),
    tags=["deployments"],
    openapi_extra={
        "parameters": [
            {
                "in": "header",
                "name": "Idempotency-Key",
                "schema": {"type": "string", "maxLength": 64},
                "description": "A retry with the same key and config creates nothing new.",
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/DeploymentConfig"},
                    "example": {"modelId": "qwen3-8b", "engine": "vllm", "replicas": 2},
                },
                # A DGD manifest (either API version): created, or its spec applied as an
                # edit; a metadata.resourceVersion in it makes a changed deployment a 409.
                **YAML_BODY["content"],
            },
        },
        "responses": {
            201: {"description": "Created."},
            200: {"description": "The dry run's manifest, or a retry's first outcome."},
            409: {"description": "The name is taken, or the key's first try failed."},
            422: {
                "description": "The cluster refused a field, or the key came with another config."
            },
            503: {"description": "Unreachable, or the create was not confirmed."},
        },
    },
)
def create_deployment(
    request,
    dryRun: DRY_RUN = False,
):
    """Create a deployment from a config with the deploy form's fields (camelCase), or from a
    DGD manifest sent as `application/yaml` (one that exists gets its spec applied)."""


class Pod(Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "qwen3-8b-vllm-vllmworker-0",
                    "component": "VllmWorker",
                    "phase": "Running",
                    "reason": "",
                    "ready": True,
                    "restarts": 0,
                    "node": "gpu-h100-1",
                    "createdAt": "2026-11-27T10:00:00+00:00",
                    "age": "5m",
                    "gpus": 1,
                }
            ]
        }
    )

    name: str
    component: str
    phase: str
    reason: str
    ready: bool
    restarts: int
    node: str
    createdAt: str | None
    age: str
    gpus: int


class Detail(Out):
    namespace: str
    name: str
    status: str
    statusReason: str
    whyNotReady: str | None
    summary: dict[str, Any]
    components: list[dict[str, Any]]
    conditions: list[dict[str, Any]]
    pods: list[Pod]
    createdBy: str | None
    manifest: dict[str, Any]
    progress: dict[str, Any] | None = Field(
        description="A restart or rolling update under way: kind, phase, summary, components."
    )
    stale: bool = Field(description="The last data seen, while the cluster is unreachable.")
    error: str | None = Field(description="Why the data may be stale, when it is.")


@api.get(
    "/deployments/{name}",
    response=answers(200, Detail, 400, Error, 404, Error, 503, Error),
    tags=["deployments"],
)
def get_deployment(request, name: NAME, namespace: NAMESPACE = None):
    """One deployment: status, why it is not ready, components, conditions, pods, manifest."""


class Deleted(Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"deleted": "qwen3-8b-vllm", "namespace": "default", "deletionId": 12}]
        }
    )

    deleted: str
    namespace: str
    deletionId: int


@api.delete(
    "/deployments/{name}",
    response=answers(202, Deleted, 400, Error, 404, Error, 409, Error, 503, UnknownOutcome | Error),
    tags=["deployments"],
)
def delete_deployment(request, name: NAME, namespace: NAMESPACE = None):
    """Delete it (202: its pods shut down after the answer); recorded in the audit log."""


class PatchBody(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"replicas": {"VllmWorker": 3}, "note": "more traffic"}]},
    )

    replicas: dict[str, int] | None = Field(None, description="Only these components' replicas.")
    config: dict[str, Any] | None = Field(
        None, description="Fields of POST /api/deployments, applied on top of the live one."
    )
    resourceVersion: str | None = Field(None, description="As read: 409 when it changed since.")
    note: str | None = None
    confirm: bool | None = Field(None, description="false refuses scaling a component to 0.")


class Changed(Preview):
    model_config = ConfigDict(json_schema_extra=None)

    dryRun: bool | None = None
    revision: int | None = Field(None, description="The new revision; null when nothing changed.")
    message: str | None = None


@api.patch(
    "/deployments/{name}",
    response=answers(200, Changed, 400, Error, 404, Error, 409, Stale, 422, Error, 503, Error),
    tags=["operate"],
)
def change_deployment(
    request,
    name: NAME,
    body: PatchBody,
    namespace: NAMESPACE = None,
    dryRun: DRY_RUN = False,
):
    """Scale components and/or change the config; each change is stored as a revision."""


class PodList(Out):
    namespace: str
    name: str
    pods: list[Pod]


@api.get(
    "/deployments/{name}/pods",
    response=answers(200, PodList, 400, Error, 503, Error),
    tags=["deployments"],
)
def list_pods(request, name: NAME, namespace: NAMESPACE = None):
    """The deployment's pods."""


class Revision(Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "revision": 2,
                    "action": "scale",
                    "source": "dynamote",
                    "user": "alice",
                    "createdAt": "2026-11-27T10:00:00+00:00",
                    "note": "more traffic",
                    "outcome": "succeeded",
                    "message": "Applied.",
                    "generation": 3,
                    "summary": ["Replicas only: no pod restarts."],
                    "canRollBack": True,
                }
            ]
        }
    )

    revision: int
    action: str
    source: Literal["dynamote", "outside"]
    user: str | None
    createdAt: str
    note: str
    outcome: str
    message: str
    generation: int | None
    summary: list[str]
    canRollBack: bool = Field(description="False for a restart: it changed no configuration.")


class Revisions(Out):
    namespace: str
    name: str
    resourceVersion: str | None
    revisions: list[Revision]


@api.get(
    "/deployments/{name}/revisions",
    response=answers(200, Revisions, 400, Error, 404, Error, 503, Error),
    tags=["operate"],
)
def list_revisions(request, name: NAME, namespace: NAMESPACE = None):
    """Its revisions, newest first (changes made outside Dynamote included)."""


class RevisionDetail(Revision):
    model_config = ConfigDict(json_schema_extra=None)

    spec: dict[str, Any]
    diff: str
    apiVersion: str
    rollback: Preview | None = Field(
        description="Null for a restart, which cannot be rolled back to."
    )


@api.get(
    "/deployments/{name}/revisions/{number}",
    response=answers(200, RevisionDetail, 400, Error, 404, Error, 503, Error),
    tags=["operate"],
)
def get_revision(request, name: NAME, number: int, namespace: NAMESPACE = None):
    """One revision: its spec, its diff, and what rolling back to it would do."""


class RollbackBody(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"revision": 1}]})

    revision: int = Field(ge=1)
    resourceVersion: str | None = None
    note: str | None = None


@api.post(
    "/deployments/{name}/rollback",
    response=answers(200, Changed, 400, Error, 404, Error, 409, Stale, 503, Error),
    tags=["operate"],
)
def rollback(
    request,
    name: NAME,
    body: RollbackBody,
    namespace: NAMESPACE = None,
    dryRun: DRY_RUN = False,
):
    """Roll back to a revision: applied as a new revision."""


class RestartBody(Schema):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"components": ["VllmWorker"]}]}
    )

    components: list[str] | None = Field(None, description="Default: the whole deployment.")


class Restarted(Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "restarted": "qwen3-8b-vllm",
                    "namespace": "default",
                    "method": "spec.restart",
                    "components": ["VllmWorker"],
                    "summary": "The pods of VllmWorker restart one by one.",
                    "restartId": "d3b07384",
                }
            ]
        }
    )

    restarted: str
    namespace: str
    method: Literal["spec.restart", "annotation"]
    components: list[str]
    summary: str
    restartId: str | None = None
    restartedAt: str | None = None


@api.post(
    "/deployments/{name}/restart",
    response=answers(202, Restarted, 400, Error, 404, Error, 409, Error, 503, Error),
    tags=["operate"],
)
def restart(
    request,
    name: NAME,
    body: RestartBody | None = None,
    namespace: NAMESPACE = None,
):
    """Restart it, or some components, without changing its configuration."""


@api.get(
    "/deployments/{name}/manifest",
    response=answers(200, str, 400, Error, 404, Error, 503, Error),
    tags=["operate"],
    openapi_extra={"responses": {200: {"description": "The YAML", **YAML_BODY}}},
)
def get_manifest(request, name: NAME, namespace: NAMESPACE = None):
    """Its manifest ready for Git, as YAML: no status, uid, resourceVersion, managedFields."""


@api.get(
    "/deployments/{name}/config",
    response=answers(200, DeploymentConfig, 400, Error, 404, Error, 409, Error, 503, Error),
    by_alias=True,
    tags=["operate"],
)
def get_config(request, name: NAME, namespace: NAMESPACE = None):
    """The `POST /api/deployments` body that recreates it, read from the live deployment (what
    was changed with kubectl is kept); change `name` or `namespace` to deploy a copy. 409 for
    a deployment not created with Dynamote's deploy form."""


class Adopted(Out):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "adopted": True,
                    "name": "outside",
                    "namespace": "default",
                    "label": "app.kubernetes.io/managed-by=dynamote",
                    "message": "outside is now managed by Dynamote.",
                }
            ]
        }
    )

    adopted: bool = Field(description="false when it already was.")
    name: str
    namespace: str
    label: str
    message: str


@api.post(
    "/deployments/{name}/adopt",
    response=answers(200, Adopted, 400, Error, 404, Error, 409, Error, 503, Error),
    tags=["operate"],
)
def adopt(request, name: NAME, namespace: NAMESPACE = None):
    """Label a DGD created outside Dynamote as managed by it (Deployer role); 409 when it
    changed meanwhile (nothing written; send it again)."""


# --- see it work: chat and metrics -----------------------------------------------------------


class ChatMessage(Schema):
    role: Literal["system", "user", "assistant"]
    content: str


class ChatBody(Schema):
    """An OpenAI chat-completions body; other OpenAI fields are passed to the frontend."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [{"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 64}]
        },
    )

    messages: list[ChatMessage] = Field(min_length=1)
    model: str | None = Field(None, description="Defaults to the deployment's served model.")
    max_tokens: int | None = Field(None, ge=1, description="At most the model's context.")
    temperature: float | None = Field(None, ge=0, le=2)
    stream: bool = False


class ChatCompletion(Schema):
    """What the deployment's frontend answers (OpenAI `chat.completion`), passed on as is."""

    model_config = ConfigDict(extra="allow")

    id: str
    object: Literal["chat.completion"]
    choices: list[dict[str, Any]]


STREAM_BODY = {
    "content": {
        "text/event-stream": {
            "schema": {"type": "string"},
            "example": 'data: {"choices": [{"delta": {"content": "Hi"}}]}\n\ndata: [DONE]\n\n',
        }
    }
}


@api.post(
    "/deployments/{name}/chat",
    response=answers(
        200, ChatCompletion, 400, Error, 404, Error, 409, Error, 502, Error, 503, Error
    ),
    tags=["see it work"],
    openapi_extra={
        "responses": {
            200: {
                "description": "The answer; with `stream: true`, server-sent events ending "
                "with `data: [DONE]`.",
                **{"content": {**STREAM_BODY["content"]}},
            }
        }
    },
)
def chat(request, name: NAME, body: ChatBody, namespace: NAMESPACE = None):
    """Chat with a Ready deployment through the cluster's service proxy (Deployer role):
    409 when it is not Ready, 502 for the frontend's own refusal, 503 when unreachable."""


class Percentiles(Out):
    p50: float | None
    p95: float | None


class RequestCounts(Out):
    total: float
    errors: float
    perSecond: float | None = Field(description="Since the previous reading; null at first.")
    inFlight: float
    queued: float


class Tokens(Out):
    input: float
    output: float


class WorkerMetrics(Out):
    pod: str
    restarts: int
    kvCacheUsage: float | None
    requests: float | None = None


class Metrics(Out):
    namespace: str
    name: str
    requests: RequestCounts
    timeToFirstTokenSeconds: Percentiles
    interTokenLatencySeconds: Percentiles
    requestDurationSeconds: Percentiles
    tokens: Tokens
    kvCacheUsage: float | None = Field(description="The fullest worker's KV-cache share, 0-1.")
    podRestarts: int
    workers: list[WorkerMetrics]
    errors: list[str] = Field(description="Workers whose metrics could not be read.")


@api.get(
    "/deployments/{name}/metrics",
    response=answers(200, Metrics, 400, Error, 404, Error, 503, Error),
    tags=["see it work"],
)
def metrics(request, name: NAME, namespace: NAMESPACE = None):
    """Its current serving metrics, read from the frontend's and workers' `/metrics` through
    the cluster's proxies; percentiles from the histograms since the frontend started."""


class MetricsHistory(Out):
    source: Literal["dynamote", "prometheus"] = Field(
        description="Where the points come from: Dynamote's own readings, or Prometheus "
        "when DYNAMOTE_PROMETHEUS_URL is set."
    )
    stepSeconds: int = Field(
        description="Seconds between two points (DYNAMOTE_METRICS_STEP_SECONDS, or more for a "
        "range Prometheus would answer in too many points)."
    )
    t: list[float] = Field(
        description="Each point's time, epoch seconds, oldest first: one per step of the "
        "range (Dynamote's own history covers at most DYNAMOTE_METRICS_KEEP_SECONDS)."
    )
    series: dict[str, list[float | None]] = Field(
        description="One value per time for each series (requestRate, inFlight, queued, "
        "ttftP50, ttftP95, itlP50, itlP95, durationP50, durationP95, inputTokensRate, "
        "outputTokensRate, kvCacheUsage, podRestarts); null where there is no data."
    )


@api.get(
    "/deployments/{name}/metrics/history",
    response=answers(200, MetricsHistory, 400, Error, 404, Error, 503, Error),
    tags=["see it work"],
)
def metrics_history(
    request, name: NAME, namespace: NAMESPACE = None, seconds: int = Query(3600, ge=60, le=86400)
):
    """Its serving metrics over the last `seconds` (an hour by default): what the Metrics
    tab charts. Rates and percentiles describe each step's requests (from the change of the
    counters and histogram buckets between two readings); 404 for an unknown deployment, 503
    when the configured Prometheus cannot answer."""


TEXT_BODY = {"content": {"text/plain": {"schema": {"type": "string"}}}}


@api.get(
    "/deployments/{name}/logs",
    response=answers(200, str, 400, Error, 404, Error, 503, Error),
    tags=["see it work"],
    openapi_extra={
        "responses": {
            200: {
                "description": "The log lines as text, several pods interleaved in time order "
                "with a pod prefix; with `follow=true` streamed until the pods end.",
                **TEXT_BODY,
            }
        }
    },
)
def get_logs(
    request,
    name: NAME,
    namespace: NAMESPACE = None,
    pod: Annotated[str | None, Query(description="One of its pods.")] = None,
    component: Annotated[str | None, Query(description="Every pod of a component.")] = None,
    container: Annotated[str | None, Query(description="Defaults to the main one.")] = None,
    tailLines: Annotated[int | None, Query(ge=0)] = None,
    sinceSeconds: Annotated[int | None, Query(ge=1)] = None,
    timestamps: bool = False,
    previous: Annotated[bool, Query(description="The last crashed run's log.")] = False,
    follow: Annotated[bool, Query(description="Stream new lines as they come.")] = False,
):
    """Its pods' logs (Viewer role); a pod that is not its own or an unknown container is 400
    and nothing is asked of the cluster."""


class Holder(Out):
    namespace: str = Field(description="Empty for a namespace the viewer may not see.")
    deployment: str = Field(description="Empty for pods no deployment owns (or not shown).")
    gpus: int
    pods: int
    status: str
    flagged: bool


class GpuNode(Out):
    name: str
    gpuProduct: str
    gpu: str
    gpuMemoryMiB: int | None
    allocatable: int
    used: int
    free: int
    holders: list[Holder]


class ProductTotal(Out):
    gpuProduct: str
    gpu: str
    nodes: int
    allocatable: int
    used: int
    free: int


class HoldingNotReady(Out):
    namespace: str
    deployment: str
    status: str
    heldGpus: int
    waitingGpus: int
    message: str


class Capacity(Out):
    nodes: list[GpuNode]
    totals: list[ProductTotal]
    notReadyHoldingGpus: list[HoldingNotReady]
    error: str | None = Field(description="Why the numbers may be stale, when they are.")


@api.get("/cluster/capacity", response=answers(200, Capacity, 503, Error), tags=["cluster"])
def cluster_capacity(request):
    """Each GPU node with its product, allocatable, used and free GPUs and who holds them;
    totals per GPU product; deployments holding GPUs while not Ready."""


# --- the document and its page ------------------------------------------------------------


@api.get(
    "/openapi.json",
    response=answers(200, dict[str, Any]),
    tags=["documentation"],
)
def openapi_document(request):
    """This document."""


@api.get(
    "/docs",
    response=answers(200, str),
    tags=["documentation"],
    openapi_extra={"responses": {200: {"content": {"text/html": {"schema": {"type": "string"}}}}}},
)
def docs(request):
    """The interactive page of this document (Swagger UI, served by Dynamote itself)."""


class _LocalSwagger(Swagger):
    """Swagger UI from Dynamote's own static files (ninja's bundled copy), no CDN: it reads
    the document from /api/openapi.json and never asks validator.swagger.io."""

    def get_openapi_url(self, api, path_params) -> str:
        return reverse("api-openapi")


_DOCS = _LocalSwagger(settings={"validatorUrl": None, "tryItOutEnabled": False})


@cache
def _document_json() -> str:
    return json.dumps(api.get_openapi_schema(path_prefix="/api"))


def document() -> dict:
    """The OpenAPI document of every /api/ route, as JSON would read it (string keys).

    Built once per process (about 0.3 s): the routes do not change while it runs."""
    return json.loads(_document_json())


@requires(Action.VIEW)
@require_GET
def openapi_json(request: HttpRequest) -> HttpResponse:
    """GET /api/openapi.json."""
    return HttpResponse(_document_json(), content_type="application/json")


@requires(Action.VIEW)
@require_GET
def openapi_docs(request: HttpRequest) -> HttpResponse:
    """GET /api/docs: Swagger UI."""
    return _DOCS.render_page(request, api)
