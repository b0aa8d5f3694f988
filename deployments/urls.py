from django.urls import path

import deployments.converters  # noqa: F401  (registers <namespace:> and <k8sname:>)
from deployments.views import (
    dashboard,
    deploy,
    imports,
    live,
    logs,
    operate,
    playground,
    restart,
    reuse,
)

app_name = "deployments"
urlpatterns = [
    # The deploy form.
    path("new/", deploy.new, name="new"),
    # A DGD manifest pasted or uploaded as YAML: created, or applied as an edit.
    path("import/", imports.import_new, name="import"),
    # The dashboard and details.
    path("", dashboard.index, name="index"),
    # Server-sent events: what changed, pushed to the open dashboard, details and header.
    path("stream/", live.table, name="stream"),
    path("stream/status/", live.status, name="stream_status"),
    path("<namespace:namespace>/<k8sname:name>/stream/", live.detail, name="detail_stream"),
    path("<namespace:namespace>/<k8sname:name>/", dashboard.detail, name="detail"),
    path("<namespace:namespace>/<k8sname:name>/delete/", dashboard.delete, name="delete"),
    # Changing a deployment: scale, revisions, rollback.
    path("<namespace:namespace>/<k8sname:name>/scale/", operate.scale, name="scale"),
    path("<namespace:namespace>/<k8sname:name>/edit/", operate.edit, name="edit"),
    path(
        "<namespace:namespace>/<k8sname:name>/revisions/<int:number>/",
        operate.revision,
        name="revision",
    ),
    path(
        "<namespace:namespace>/<k8sname:name>/revisions/<int:number>/rollback/",
        operate.rollback,
        name="rollback",
    ),
    path("<namespace:namespace>/<k8sname:name>/restart/", restart.restart, name="restart"),
    path("<namespace:namespace>/<k8sname:name>/manifest.yaml", reuse.manifest, name="manifest"),
    path("<namespace:namespace>/<k8sname:name>/copy/", reuse.copy, name="copy"),
    path("<namespace:namespace>/<k8sname:name>/adopt/", reuse.adopt, name="adopt"),
    path("<namespace:namespace>/<k8sname:name>/yaml/", imports.edit_yaml, name="edit-yaml"),
    path("<namespace:namespace>/<k8sname:name>/try/", playground.try_tab, name="try"),
    # Logs: the tab's panel and its live stream (server-sent events).
    path("<namespace:namespace>/<k8sname:name>/logs/", logs.panel, name="logs"),
    path("<namespace:namespace>/<k8sname:name>/logs/stream", logs.stream, name="logs_stream"),
    # Names Kubernetes would refuse (".", "..", uppercase, too long) never reach the cluster.
    path("<str:namespace>/<str:name>/", dashboard.invalid_name),
    path("<str:namespace>/<str:name>/delete/", dashboard.invalid_name),
    path("<str:namespace>/<str:name>/restart/", dashboard.invalid_name),
    path("<str:namespace>/<str:name>/manifest.yaml", dashboard.invalid_name),
    path("<str:namespace>/<str:name>/try/", dashboard.invalid_name),
    path("<str:namespace>/<str:name>/yaml/", dashboard.invalid_name),
]
