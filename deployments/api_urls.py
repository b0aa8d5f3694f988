from django.urls import path

from deployments.views import api

urlpatterns = [
    path("deployments", api.deployments, name="api-deployments"),
]
