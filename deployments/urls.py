from django.urls import path

from deployments.views import dashboard, deploy

app_name = "deployments"
urlpatterns = [
    # The deploy form.
    path("new/", deploy.new, name="new"),
    # The dashboard and details.
    path("", dashboard.index, name="index"),
    path("<str:namespace>/<str:name>/", dashboard.detail, name="detail"),
    path("<str:namespace>/<str:name>/delete/", dashboard.delete, name="delete"),
]
