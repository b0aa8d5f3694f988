"""Settings read from the environment fail loudly on bad values."""

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from dynamote.env import env_bool, env_int, env_list, env_str


def test_booleans_accept_common_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", default=True) is False


def test_a_bad_boolean_is_refused(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG='maybe' is not a boolean"):
        env_bool("FLAG")


def test_a_bad_integer_is_refused(monkeypatch):
    monkeypatch.setenv("NUMBER", "ten")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        env_int("NUMBER", 1)
    monkeypatch.setenv("NUMBER", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_int("NUMBER", 1, minimum=0)


def test_lists_are_comma_separated_and_trimmed(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example, b.example ,,")
    assert env_list("HOSTS") == ["a.example", "b.example"]


def test_file_variant_reads_mounted_secrets(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-a-file\n")
    monkeypatch.setenv("SECRET_FILE", str(secret))
    assert env_str("SECRET") == "from-a-file"


def _check(env: dict, tmp_path) -> subprocess.CompletedProcess:
    """Runs `manage.py check` in a fresh process with the given environment."""
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DYNAMOTE_VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_needs_a_secret_key(tmp_path):
    result = _check({"DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "x.example"}, tmp_path)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required when DJANGO_DEBUG is false" in result.stderr


def test_development_keeps_a_generated_secret_key(tmp_path):
    assert _check({}, tmp_path).returncode == 0
    key = (tmp_path / "secret_key").read_text()
    assert len(key) > 40
    assert _check({}, tmp_path).returncode == 0
    assert (tmp_path / "secret_key").read_text() == key


def test_a_bad_namespace_is_refused_at_start_up(tmp_path):
    result = _check({"DYNAMOTE_NAMESPACES": "default,Not_Valid"}, tmp_path)
    assert result.returncode != 0
    assert "'Not_Valid' is not a valid Kubernetes namespace name" in result.stderr


def test_a_missing_kubeconfig_is_refused_at_start_up(tmp_path):
    result = _check({"DYNAMOTE_KUBECONFIG": str(tmp_path / "nope")}, tmp_path)
    assert result.returncode != 0
    assert "does not exist" in result.stderr
