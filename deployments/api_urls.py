from django.urls import path

from deployments.views import api, dashboard

urlpatterns = [
    path("deployments", api.deployments, name="api-deployments"),
    path("deployments/<str:name>", dashboard.api_detail, name="api-deployment"),
    path("deployments/<str:name>/pods", dashboard.api_pods, name="api-deployment-pods"),
    path("cluster/status", dashboard.api_cluster_status, name="api-cluster-status"),
]
