"""Production settings: deploy checks, CSP, request ids, probes, one-line logs."""

import logging
import secrets
import subprocess
import sys

import pytest
from django.http import HttpResponse

from dynamote.logging import RequestContextFilter
from dynamote.middleware import LoginRequiredMiddleware, RequestContextMiddleware

pytestmark = pytest.mark.django_db

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
    "DJANGO_ALLOWED_HOSTS": "dynamote.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://dynamote.example.com",
}


def test_deploy_checks_pass_with_the_documented_production_variables(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_every_response_carries_a_strict_content_security_policy(member_client):
    policy = member_client.get("/models/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "connect-src 'self'" in policy and "unsafe-inline" not in policy


def test_pages_have_no_inline_scripts_or_handlers(member_client):
    body = member_client.get("/models/").content.decode()
    assert "<script>" not in body and "<style" not in body
    assert " onclick=" not in body and " onload=" not in body


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/api/health", headers={"X-Request-ID": "abc-123"})["X-Request-ID"] == (
        "abc-123"
    )
    generated = client.get("/login/")["X-Request-ID"]
    assert len(generated) == 16


def test_health_answers_probes_on_any_host(client, settings):
    settings.ALLOWED_HOSTS = ["dynamote.example.com"]
    response = client.get("/api/health", HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_log_lines_carry_request_id_and_user(rf, member, settings):
    seen = {}

    def view(request):
        record = logging.LogRecord("dynamote", logging.INFO, "", 0, "an event", None, None)
        RequestContextFilter().filter(record)
        seen["line"] = logging.Formatter(settings.LOGGING["formatters"]["line"]["format"]).format(
            record
        )
        return HttpResponse()

    def logged_in(request):
        request.user = member
        LoginRequiredMiddleware(view).process_view(request, view, (), {})
        return view(request)

    RequestContextMiddleware(logged_in)(rf.get("/models/", HTTP_X_REQUEST_ID="req-42"))
    assert "request_id=req-42 user=grace an event" in seen["line"]
    assert "\n" not in seen["line"]
