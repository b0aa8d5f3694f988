from django.urls import path, re_path

import deployments.converters  # noqa: F401  (registers <k8sname:>)
from deployments.views import api, capacity, dashboard, logs, operate, playground, restart, reuse

urlpatterns = [
    path("deployments", api.deployments, name="api-deployments"),
    path("deployments/<k8sname:name>", operate.api_deployment, name="api-deployment"),
    path("deployments/<k8sname:name>/pods", dashboard.api_pods, name="api-deployment-pods"),
    path(
        "deployments/<k8sname:name>/revisions",
        operate.api_revisions,
        name="api-deployment-revisions",
    ),
    path(
        "deployments/<k8sname:name>/revisions/<int:number>",
        operate.api_revision,
        name="api-deployment-revision",
    ),
    path(
        "deployments/<k8sname:name>/rollback", operate.api_rollback, name="api-deployment-rollback"
    ),
    path(
        "deployments/<k8sname:name>/restart",
        restart.api_restart,
        name="api-deployment-restart",
    ),
    path("deployments/<k8sname:name>/manifest", reuse.api_manifest, name="api-deployment-manifest"),
    path("deployments/<k8sname:name>/config", reuse.api_config, name="api-deployment-config"),
    path("deployments/<k8sname:name>/adopt", reuse.api_adopt, name="api-deployment-adopt"),
    path("deployments/<k8sname:name>/chat", playground.api_chat, name="api-deployment-chat"),
    path(
        "deployments/<k8sname:name>/metrics", playground.api_metrics, name="api-deployment-metrics"
    ),
    path(
        "deployments/<k8sname:name>/metrics/history",
        playground.api_metrics_history,
        name="api-deployment-metrics-history",
    ),
    path("deployments/<k8sname:name>/logs", logs.api_logs, name="api-deployment-logs"),
    # Names Kubernetes would refuse (".", "..", uppercase, too long) never reach the cluster.
    re_path(
        r"^deployments/(?P<name>.*?)"
        r"(?:/pods|/restart|/manifest|/config|/adopt|/chat|/metrics|/metrics/history|/logs)?$",
        dashboard.api_invalid_name,
    ),
    path("cluster/status", dashboard.api_cluster_status, name="api-cluster-status"),
    path("cluster/capacity", capacity.api_capacity, name="api-cluster-capacity"),
]
