from django.apps import AppConfig


class DynamoteConfig(AppConfig):
    name = "dynamote"
