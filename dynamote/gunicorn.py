"""Gunicorn's configuration for Dynamote, as the image runs it:
`gunicorn --config python:dynamote.gunicorn` (command-line flags override these).

ASGI: gunicorn supervises one uvicorn worker (the `uvicorn-worker` package), which serves
`dynamote.asgi`. An open page's server-sent event stream is a coroutine waiting for the next
change, so hundreds of open pages hold no thread. Gunicorn stays in front for what it does
well: restarting a worker that dies, graceful shutdown on SIGTERM, the access log.

One process: the shared cluster mirror lives in the process (more processes would each keep
their own and ask the cluster as often). Sync code (the middleware, the pages' views, the
selectors that wait on the cluster or the database) runs in worker threads, one per request
at a time; /api/health answers from such a thread without the database or the cluster.
"""

wsgi_app = "dynamote.asgi:application"
bind = "0.0.0.0:8000"
workers = 1
worker_class = "uvicorn_worker.UvicornWorker"
# The worker's own liveness (it answers the arbiter), not a limit on a request's length:
# streams stay open for as long as the page does.
timeout = 30
graceful_timeout = 10
accesslog = "-"
