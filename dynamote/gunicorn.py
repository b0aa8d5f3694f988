"""Gunicorn's configuration for Dynamote, as the image runs it:
`gunicorn --config python:dynamote.gunicorn` (command-line flags override these).

One process, many threads: the shared cluster cache lives in the process, and a request
mostly waits (on the cluster or on a password hash, which releases the GIL). Enough threads
that slow pages never hold all of them: /api/health must answer probes at once.
"""

wsgi_app = "dynamote.wsgi:application"
bind = "0.0.0.0:8000"
workers = 1
worker_class = "gthread"
threads = 32
timeout = 30
accesslog = "-"
