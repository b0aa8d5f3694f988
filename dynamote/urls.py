from django.contrib import admin
from django.urls import include, path

from access import oidc
from access import views as access_views
from deployments.views import capacity
from dynamote import openapi, views

urlpatterns = [
    path("", include("catalog.urls")),
    path("deployments/", include("deployments.urls")),
    path("cluster/", capacity.page, name="cluster"),
    path("api/health", views.health, name="health"),
    path("api/openapi.json", openapi.openapi_json, name="api-openapi"),
    path("api/docs", openapi.openapi_docs, name="api-docs"),
    path("api/", include("catalog.api_urls")),
    path("api/", include("deployments.api_urls")),
    path("api/audit", access_views.api_audit, name="api-audit"),
    path("", include("access.urls")),
    path("login/", access_views.Login.as_view(), name="login"),
    path("logout/", oidc.Logout.as_view(), name="logout"),
    path("oidc/authenticate/", oidc.Authenticate.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.Callback.as_view(), name="oidc_authentication_callback"),
    path("admin/", admin.site.urls),
]
