from django.urls import path

from catalog import views

urlpatterns = [
    path("models", views.api_list, name="api-models"),
    path("models/<slug:slug>", views.api_detail, name="api-model"),
]
