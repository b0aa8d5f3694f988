from django.urls import path

from catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.index, name="home"),
    path("models/", views.index, name="index"),
    path("models/custom/save/", views.save_custom, name="save-custom"),
]
