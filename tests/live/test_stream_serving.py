"""Dynamote is served over ASGI wherever it runs: `make run` and the image alike."""

import importlib
import socket
import urllib.request

from tests.foundation.test_start import start, wait_healthy


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_run_serves_with_uvicorn_and_static_files(tmp_path):
    port = _free_port()
    server = start(tmp_path, f"127.0.0.1:{port}")
    try:
        wait_healthy(server, port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health") as answer:
            assert answer.headers["Server"] == "uvicorn"
        url = f"http://127.0.0.1:{port}/static/js/htmx-ext-sse.min.js"
        with urllib.request.urlopen(url) as answer:
            assert b'defineExtension("sse"' in answer.read()
    finally:
        server.terminate()
        server.wait(10)


def test_the_image_runs_uvicorn_workers_under_gunicorn():
    config = importlib.import_module("dynamote.gunicorn")
    assert config.worker_class == "uvicorn_worker.UvicornWorker"
    assert config.wsgi_app == "dynamote.asgi:application"
    assert config.workers == 1  # one mirror of the cluster per process


def test_health_is_answered_on_the_event_loop_without_django():

    from dynamote import asgi

    sent = []

    async def send(message):
        sent.append(message)

    async def receive():  # never asked: the answer needs no body
        raise AssertionError

    scope = {
        "type": "http",
        "path": "/api/health",
        "method": "GET",
        "headers": [(b"x-request-id", b"probe-1")],
    }
    run_alone(asgi.application(scope, receive, send))
    assert sent[0]["status"] == 200
    assert (b"x-request-id", b"probe-1") in sent[0]["headers"]
    assert sent[1]["body"] == b'{"status": "ok"}'


def run_alone(coroutine):
    """asyncio.run in a thread of its own: the browser tests leave a loop in the main thread."""
    import asyncio
    import threading

    result = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coroutine)))
    thread.start()
    thread.join()
    return result[0]
