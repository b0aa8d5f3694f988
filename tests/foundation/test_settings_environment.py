"""Every setting read from the environment: empty means unset, bad values name the variable,
and each one is documented in .env.example and in the README's settings table."""

import ast
import re
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "dynamote" / "settings.py"
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "a-production-secret-key-for-tests-only-0123456789abcdef",
    "DJANGO_ALLOWED_HOSTS": "dynamote.example.com",
}
KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters: [{name: lab, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: lab, user: {token: t}}]
contexts: [{name: lab, context: {cluster: lab, user: lab}}]
current-context: lab
"""


def variables_read_in_settings() -> set[str]:
    """The names settings.py passes to the env_* readers."""
    names = set()
    for node in ast.walk(ast.parse(SETTINGS.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("env_")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    return names


@pytest.fixture
def load(monkeypatch, tmp_path):
    """Runs settings.py afresh with exactly the given variables; returns its globals."""
    home = tmp_path / "home"
    home.mkdir()

    def run(**env: str) -> dict:
        for name in variables_read_in_settings():
            monkeypatch.delenv(name, raising=False)
            monkeypatch.delenv(f"{name}_FILE", raising=False)
        monkeypatch.setenv("HOME", str(home))  # no ~/.kube/config
        monkeypatch.setenv("DYNAMOTE_VAR_DIR", str(tmp_path / "var"))
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS))

    return run


def test_settings_read_only_through_the_typed_readers():
    source = SETTINGS.read_text()
    assert "os.environ" not in source and "getenv" not in source


def test_every_variable_is_listed_in_env_example():
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert variables_read_in_settings() - listed == set()


def test_every_variable_is_in_the_readme_settings_table():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, re.M))
    assert variables_read_in_settings() - rows == set()


def test_an_empty_ssl_redirect_keeps_the_production_default(load):
    assert load(**PRODUCTION, DJANGO_SECURE_SSL_REDIRECT="")["SECURE_SSL_REDIRECT"] is True
    assert load(**PRODUCTION, DJANGO_SECURE_SSL_REDIRECT="false")["SECURE_SSL_REDIRECT"] is False


def test_an_empty_var_dir_is_the_default_folder_not_the_current_one(load):
    assert load(DYNAMOTE_VAR_DIR="")["VAR_DIR"] == ROOT / "var"


def test_empty_values_keep_every_default(load):
    defaults = load()
    emptied = load(
        **{name: "" for name in variables_read_in_settings() if name != "DYNAMOTE_VAR_DIR"}
    )
    for setting in (
        "DEBUG",
        "ALLOWED_HOSTS",
        "SECURE_HSTS_SECONDS",
        "DYNAMOTE_DEFAULT_NAMESPACE",
        "DYNAMOTE_POLL_SECONDS",
        "DYNAMOTE_SANDBOX_SPEED",
        "DYNAMOTE_DYNAMO_VERSION",
        "DATABASES",
    ):
        assert emptied[setting] == defaults[setting], setting
    assert emptied["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "[::1]"]


def test_an_empty_file_variant_is_ignored(load, tmp_path):
    assert (
        load(DYNAMOTE_POLL_SECONDS_FILE="", DYNAMOTE_POLL_SECONDS="30")["DYNAMOTE_POLL_SECONDS"]
        == 30
    )


def test_good_values_are_read(load, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    loaded = load(
        DYNAMOTE_KUBECONFIG=str(kubeconfig),
        DYNAMOTE_KUBE_CONTEXT="lab",
        DYNAMOTE_SANDBOX_SPEED="4",
        DYNAMOTE_LOG_LEVEL="warning",
        DYNAMOTE_DYNAMO_VERSION="0.6.1",
        DJANGO_ALLOWED_HOSTS=".example.com, 10.0.0.7,[::1]",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://dynamote.example.com",
    )
    assert loaded["DYNAMOTE_KUBE_CONTEXT"] == "lab"
    assert loaded["DYNAMOTE_SANDBOX_SPEED"] == 4.0
    assert loaded["LOGGING"]["root"]["level"] == "WARNING"
    assert loaded["DYNAMOTE_DYNAMO_VERSION"] == "0.6.1"
    assert loaded["ALLOWED_HOSTS"] == [".example.com", "10.0.0.7", "[::1]"]


BAD_VALUES = [
    ("DJANGO_DEBUG", "maybe", {}),
    ("DJANGO_SECRET_KEY", "too-short", {"DJANGO_DEBUG": "false", "DJANGO_ALLOWED_HOSTS": "x.io"}),
    ("DJANGO_ALLOWED_HOSTS", "https://dynamote.example.com", {}),
    ("DJANGO_CSRF_TRUSTED_ORIGINS", "dynamote.example.com", {}),
    ("DJANGO_SECURE_SSL_REDIRECT", "sometimes", {}),
    ("DJANGO_HSTS_SECONDS", "-1", {}),
    ("DJANGO_HSTS_PRELOAD", "perhaps", {}),
    ("DATABASE_URL", "postgress://db/dynamote", {}),
    ("DYNAMOTE_KUBECONFIG", "/nonexistent/kubeconfig", {}),
    ("KUBECONFIG", "/nonexistent/kubeconfig", {}),
    ("DYNAMOTE_KUBE_CONTEXT", "no-such-context", {"DYNAMOTE_KUBECONFIG": "<kubeconfig>"}),
    ("DYNAMOTE_DEFAULT_NAMESPACE", "Not_Valid", {}),
    ("DYNAMOTE_NAMESPACES", "default,Not_Valid", {}),
    ("DYNAMOTE_SANDBOX", "perhaps", {}),
    ("DYNAMOTE_SANDBOX_SPEED", "0", {}),
    ("DYNAMOTE_SANDBOX_SPEED", "fast", {}),
    ("DYNAMOTE_POLL_SECONDS", "1", {}),
    ("DYNAMOTE_DYNAMO_VERSION", "latest; rm -rf /", {}),
    ("DYNAMOTE_LOG_LEVEL", "LOUD", {}),
    ("DYNAMOTE_VAR_DIR", "<file>", {}),
]


@pytest.mark.parametrize(("name", "value", "others"), BAD_VALUES, ids=lambda v: str(v)[:30])
def test_a_bad_value_stops_start_up_naming_the_variable(load, tmp_path, name, value, others):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    swap = {"<kubeconfig>": str(kubeconfig), "<file>": str(a_file)}
    env = {key: swap.get(v, v) for key, v in {**others, name: value}.items()}
    with pytest.raises(ImproperlyConfigured, match=name):
        load(**env)
