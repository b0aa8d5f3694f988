"""ASGI entry point: uvicorn serves Dynamote, so open streams hold no thread.

Probes' `GET /api/health` is answered here, on the event loop, before Django: the rest of a
request runs Django's synchronous middleware in a worker thread, and a probe must not wait
for a thread, the database or the cluster however busy Dynamote is (the same answer as
`dynamote.views.health`, which serves it under WSGI and in the tests' client).

At the server's start (ASGI lifespan), before it accepts connections, the mirror lists what
the dashboard shows and the pages' code is loaded (WARM_UP_WAIT at most; a slower cluster is
listed on in the background), so the first viewer after a restart waits for neither; the
metrics history starts being kept then too (without DYNAMOTE_PROMETHEUS_URL);
`migrate`, `check` and the tests' servers never start it.
"""

import asyncio
import logging
import os
import re
import threading
import uuid

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dynamote.settings")

django_application = get_asgi_application()

_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")
_HEALTH_BODY = b'{"status": "ok"}'
WARM_UP_WAIT = 10.0  # s; well within gunicorn's worker timeout (dynamote/gunicorn.py)


def _warm_up(done: threading.Event) -> None:
    from django.conf import settings
    from django.db import connections

    from deployments import metrics_sampler
    from deployments.views.dashboard import warm_up

    try:
        warm_up()
        if not settings.DYNAMOTE_PROMETHEUS_URL:
            # The Metrics tab shows the last hour: the history is kept from the start.
            metrics_sampler.start()
    except Exception:  # a page would show the same failure; the server serves on
        logging.getLogger("dynamote.mirror").exception("warming the mirror up failed")
    finally:
        connections.close_all()  # this thread's connection (the catalog's names)
        done.set()


async def _lifespan(receive, send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            done = threading.Event()
            threading.Thread(
                target=_warm_up, args=(done,), daemon=True, name="dynamote-warm-up"
            ).start()
            # Connections wait until the mirror is filled (as informers wait for their caches
            # to sync), but never longer than WARM_UP_WAIT: a slow cluster's LISTs finish in
            # the background while pages show what they can.
            await asyncio.to_thread(done.wait, WARM_UP_WAIT)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
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
