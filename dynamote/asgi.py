"""ASGI entry point: uvicorn serves Dynamote, so open streams hold no thread.

Probes' `GET /api/health` is answered here, on the event loop, before Django: the rest of a
request runs Django's synchronous middleware in a worker thread, and a probe must not wait
for a thread, the database or the cluster however busy Dynamote is (the same answer as
`dynamote.views.health`, which serves it under WSGI and in the tests' client).
"""

import os
import re
import uuid

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dynamote.settings")

django_application = get_asgi_application()

_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
_HEALTH_BODY = b'{"status": "ok"}'


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"] == "/api/health" and scope["method"] == "GET":
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"")
        rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16].encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_HEALTH_BODY)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-request-id", rid),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _HEALTH_BODY})
        return
    await django_application(scope, receive, send)
