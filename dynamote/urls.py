from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from access import views as access_views
from dynamote import views

urlpatterns = [
    path("", include("catalog.urls")),
    path("deployments/", include("deployments.urls")),
    path("api/health", views.health, name="health"),
    path("api/", include("catalog.api_urls")),
    path("api/", include("deployments.api_urls")),
    path("api/audit", access_views.api_audit, name="api-audit"),
    path("", include("access.urls")),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="registration/login.html"),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
