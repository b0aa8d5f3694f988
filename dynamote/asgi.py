"""ASGI entry point: uvicorn serves Dynamote, so open streams hold no thread."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dynamote.settings")

application = get_asgi_application()
