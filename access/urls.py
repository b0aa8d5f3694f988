from django.urls import path

from access import views

app_name = "access"
urlpatterns = [
    path("access/", views.access, name="index"),
    path("access/<int:pk>/revoke/", views.revoke, name="revoke"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:pk>/revoke/", views.revoke_token, name="revoke-token"),
    path("audit/", views.audit_log, name="audit"),
]
