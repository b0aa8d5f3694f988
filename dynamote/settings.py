"""Dynamote settings, read from the environment (see .env.example)."""

import re
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
import yaml
from django.core.exceptions import ImproperlyConfigured

from dynamote.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_match,
    env_path,
    env_str,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("DYNAMOTE_VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("DJANGO_DEBUG", default=True)


def _secret_key() -> str:
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        if not DEBUG and len(key) < 50:
            raise ImproperlyConfigured(
                "DJANGO_SECRET_KEY must be at least 50 characters long in production: "
                "generate one with `python3 -c 'import secrets; print(secrets.token_urlsafe(50))'`."
            )
        return key
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is false.")
    # Development only: one random key per checkout, kept so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list(
    "DJANGO_ALLOWED_HOSTS",
    ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [],
    # A host name, an IP address, [IPv6], a leading-dot domain or *; no scheme, port or path.
    pattern=r"\*|\.?[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\]",
    example="dynamote.example.com",
)
CSRF_TRUSTED_ORIGINS = env_list(
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    pattern=r"https?://[^\s/]+",
    example="https://dynamote.example.com",
)

INSTALLED_APPS = [
    "dynamote.admin_site.DynamoteAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django_htmx",
    "template_partials",
    "ninja",  # the OpenAPI document's Swagger UI, from its bundled static files
    "dynamote",
    "catalog",
    "deployments",
    "access",
    "mozilla_django_oidc",
]

MIDDLEWARE = [
    "dynamote.middleware.RequestContextMiddleware",
    "dynamote.middleware.HealthCheckMiddleware",
    "dynamote.middleware.ClusterDeadlineMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "dynamote.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "access.middleware.BearerTokenMiddleware",
    "access.middleware.ImpersonationMiddleware",
    "access.audit.AuditActorMiddleware",
    "dynamote.api.ApiMiddleware",
    "dynamote.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dynamote.middleware.HtmxMessagesMiddleware",
]

ROOT_URLCONF = "dynamote.urls"
WSGI_APPLICATION = "dynamote.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dynamote.context_processors.navigation",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"


def _database(url: str) -> dict:
    try:
        # No persistent connections: under ASGI each request's synchronous code runs in a
        # thread of its own, and a connection kept open would outlive that thread (Django's
        # advice for ASGI); PostgreSQL would soon refuse new clients.
        return dj_database_url.parse(url, conn_max_age=0)
    except (ValueError, dj_database_url.UnknownSchemeError) as exc:
        raise ImproperlyConfigured(
            f"DATABASE_URL is not a database URL ({exc}): use e.g. "
            "postgres://user:pass@host:5432/dynamote or sqlite:///path/db.sqlite3."
        ) from None


DATABASES = {"default": _database(env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Sign-in floods must not starve /api/health: Django's default hasher, a few hashes at a time.
PASSWORD_HASHERS = [
    "dynamote.hashers.BoundedPBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "catalog:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Security: production values apply whenever DEBUG is off.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^api/health$"]
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# Sign-in throttling (django-axes): after DYNAMOTE_LOGIN_FAILURE_LIMIT failed sign-ins for one
# username from one address, that pair is locked out for DYNAMOTE_LOGIN_COOLOFF_MINUTES, even
# with the right password; other users and addresses are unaffected.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "access.backends.RolePermissions",
]
AXES_FAILURE_LIMIT = env_int("DYNAMOTE_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DYNAMOTE_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dynamote.views.login_locked_out"
# The client's address: the connection's, or, behind DYNAMOTE_TRUSTED_PROXIES reverse proxies
# that append to X-Forwarded-For, the address the outermost of them saw (dynamote/auth.py).
DYNAMOTE_TRUSTED_PROXIES = env_int("DYNAMOTE_TRUSTED_PROXIES", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "dynamote.auth.client_ip"

# Who may do what (access/): the role new users get in every namespace, and how long the
# audit log keeps entries (`manage.py prune_audit`).
DYNAMOTE_DEFAULT_ROLE = env_choice(
    "DYNAMOTE_DEFAULT_ROLE", "viewer", ["viewer", "deployer", "none"]
)
DYNAMOTE_DEFAULT_ROLE = "" if DYNAMOTE_DEFAULT_ROLE == "none" else DYNAMOTE_DEFAULT_ROLE
DYNAMOTE_AUDIT_RETENTION_DAYS = env_int("DYNAMOTE_AUDIT_RETENTION_DAYS", 365, minimum=1)
# Let Kubernetes decide (access/kube.py): writes impersonate the signed-in user, and cluster
# actions are allowed as the cluster's RBAC answers for them. Names as kube-apiserver knows them.
DYNAMOTE_IMPERSONATE = env_bool("DYNAMOTE_IMPERSONATE", False)
DYNAMOTE_IMPERSONATE_USERNAME = env_choice(
    "DYNAMOTE_IMPERSONATE_USERNAME", "username", ["username", "email"]
)
DYNAMOTE_IMPERSONATE_USER_PREFIX = env_str("DYNAMOTE_IMPERSONATE_USER_PREFIX")
DYNAMOTE_IMPERSONATE_GROUP_PREFIX = env_str("DYNAMOTE_IMPERSONATE_GROUP_PREFIX")
# What Deployers may reference (Admins may reference anything): Secret names, as NAME (every
# namespace) or NAMESPACE:NAME, and image prefixes.
DYNAMOTE_ALLOWED_SECRETS = env_list("DYNAMOTE_ALLOWED_SECRETS") or ["hf-token-secret"]
DYNAMOTE_ALLOWED_IMAGE_PREFIXES = env_list("DYNAMOTE_ALLOWED_IMAGE_PREFIXES") or [
    "nvcr.io/nvidia/ai-dynamo/"
]

# Single sign-on (access/oidc.py, with mozilla-django-oidc): on when an issuer is set. The
# provider's endpoints come from its discovery document; the code flow uses PKCE (S256).
DYNAMOTE_OIDC_ISSUER = env_str("DYNAMOTE_OIDC_ISSUER").rstrip("/")
DYNAMOTE_OIDC_GROUPS_CLAIM = env_str("DYNAMOTE_OIDC_GROUPS_CLAIM", "groups")
DYNAMOTE_OIDC_PROVIDER_NAME = env_str("DYNAMOTE_OIDC_PROVIDER_NAME", "single sign-on")
DYNAMOTE_PASSWORD_LOGIN = env_bool("DYNAMOTE_PASSWORD_LOGIN", True)
OIDC_RP_CLIENT_ID = env_str("DYNAMOTE_OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("DYNAMOTE_OIDC_CLIENT_SECRET")
OIDC_RP_SCOPES = env_str("DYNAMOTE_OIDC_SCOPES", "openid email profile groups")
OIDC_RP_SIGN_ALGO = env_choice("DYNAMOTE_OIDC_SIGN_ALGO", "RS256", ["RS256", "ES256", "HS256"])
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # sent back as id_token_hint when signing out of the provider
OIDC_TIMEOUT = 10
OIDC_CALLBACK_CLASS = "access.oidc.Callback"
OIDC_AUTHENTICATE_CLASS = "access.oidc.Authenticate"
OIDC_OP_LOGOUT_URL_METHOD = "access.oidc.provider_logout_url"
LOGIN_REDIRECT_URL_FAILURE = "login"
if DYNAMOTE_OIDC_ISSUER and not OIDC_RP_CLIENT_ID:
    raise ImproperlyConfigured("DYNAMOTE_OIDC_ISSUER is set: set DYNAMOTE_OIDC_CLIENT_ID too.")
if not DYNAMOTE_PASSWORD_LOGIN and not DYNAMOTE_OIDC_ISSUER:
    raise ImproperlyConfigured(
        "DYNAMOTE_PASSWORD_LOGIN=false needs DYNAMOTE_OIDC_ISSUER: nobody could sign in."
    )
if DYNAMOTE_OIDC_ISSUER:
    AUTHENTICATION_BACKENDS = ["access.oidc.Backend", *AUTHENTICATION_BACKENDS]
if not DYNAMOTE_PASSWORD_LOGIN:
    AUTHENTICATION_BACKENDS = [b for b in AUTHENTICATION_BACKENDS if "ModelBackend" not in b]

# The cluster.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _namespace(name: str, value: str) -> str:
    if not _DNS_LABEL.match(value):
        raise ImproperlyConfigured(f"{name}: {value!r} is not a valid Kubernetes namespace name.")
    return value


def _kubeconfig() -> str:
    """The kubeconfig file to use: DYNAMOTE_KUBECONFIG, KUBECONFIG, then ~/.kube/config."""
    for name in ("DYNAMOTE_KUBECONFIG", "KUBECONFIG"):
        if explicit := env_str(name):
            # KUBECONFIG may list several files; the client reads the first.
            path = Path(explicit.split(":")[0]).expanduser()
            if not path.is_file():
                raise ImproperlyConfigured(f"{name}: the kubeconfig {str(path)!r} does not exist.")
            return str(path)
    default = Path.home() / ".kube" / "config"
    return str(default) if default.is_file() else ""


DYNAMOTE_KUBECONFIG = _kubeconfig()


def _kube_context() -> str:
    """DYNAMOTE_KUBE_CONTEXT, which must name a context of the kubeconfig when one is used."""
    context = env_str("DYNAMOTE_KUBE_CONTEXT")
    if context and DYNAMOTE_KUBECONFIG:
        try:
            with open(DYNAMOTE_KUBECONFIG, encoding="utf-8") as handle:
                config = yaml.safe_load(handle) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ImproperlyConfigured(
                f"The kubeconfig {DYNAMOTE_KUBECONFIG!r} cannot be read: {exc}"
            ) from None
        names = [c.get("name") for c in config.get("contexts") or [] if isinstance(c, dict)]
        if context not in names:
            raise ImproperlyConfigured(
                f"DYNAMOTE_KUBE_CONTEXT={context!r} is not a context of {DYNAMOTE_KUBECONFIG} "
                f"(it has: {', '.join(map(str, names)) or 'none'})."
            )
    return context


DYNAMOTE_KUBE_CONTEXT = _kube_context()
DYNAMOTE_IN_CLUSTER = not DYNAMOTE_KUBECONFIG and bool(env_str("KUBERNETES_SERVICE_HOST"))
# With no cluster configured, the run command starts the sandbox cluster and points here.
DYNAMOTE_SANDBOX = env_bool(
    "DYNAMOTE_SANDBOX", default=not DYNAMOTE_KUBECONFIG and not DYNAMOTE_IN_CLUSTER
)
DYNAMOTE_DEFAULT_NAMESPACE = _namespace(
    "DYNAMOTE_DEFAULT_NAMESPACE", env_str("DYNAMOTE_DEFAULT_NAMESPACE", "default")
)
DYNAMOTE_NAMESPACES = [
    _namespace("DYNAMOTE_NAMESPACES", ns) for ns in env_list("DYNAMOTE_NAMESPACES")
]
if DYNAMOTE_NAMESPACES and DYNAMOTE_DEFAULT_NAMESPACE not in DYNAMOTE_NAMESPACES:
    raise ImproperlyConfigured(
        f"DYNAMOTE_DEFAULT_NAMESPACE={DYNAMOTE_DEFAULT_NAMESPACE!r} is not in DYNAMOTE_NAMESPACES."
    )
# The namespace of the Dynamo platform (its operator's Deployment tells the release).
DYNAMOTE_DYNAMO_NAMESPACE = _namespace(
    "DYNAMOTE_DYNAMO_NAMESPACE", env_str("DYNAMOTE_DYNAMO_NAMESPACE", "dynamo-system")
)
# How often the dashboard and details pages poll for changes, in seconds.
DYNAMOTE_POLL_SECONDS = env_int("DYNAMOTE_POLL_SECONDS", 10, minimum=2)
# The Try tab and the chat API reach a deployment's frontend through the Kubernetes API's
# service proxy; a URL template ({name}, {namespace}) reaches it directly instead, e.g.
# http://{name}-frontend.{namespace}.svc.cluster.local:8000 when Dynamote runs in the cluster.
DYNAMOTE_FRONTEND_URL = env_match(
    "DYNAMOTE_FRONTEND_URL",
    "",
    r"https?://[^\s{}]*(\{(name|namespace)\}[^\s{}]*)+",
    example="http://{name}-frontend.{namespace}.svc.cluster.local:8000",
)
# How long a chat waits for the frontend's next bytes (first token included), in seconds.
DYNAMOTE_CHAT_TIMEOUT = env_int("DYNAMOTE_CHAT_TIMEOUT", 60, minimum=1)
# Seconds between two points of a deployment's metrics history (and the Metrics tab's refresh).
DYNAMOTE_METRICS_STEP_SECONDS = env_int("DYNAMOTE_METRICS_STEP_SECONDS", 15, minimum=1)
# How far back the history Dynamote keeps of each Ready deployment's metrics goes (seconds).
DYNAMOTE_METRICS_KEEP_SECONDS = env_int("DYNAMOTE_METRICS_KEEP_SECONDS", 3600, minimum=60)
# A Prometheus that scrapes the deployments: the Metrics tab then asks it (PromQL range
# queries) instead of keeping a history itself.
DYNAMOTE_PROMETHEUS_URL = env_match(
    "DYNAMOTE_PROMETHEUS_URL",
    "",
    r"https?://[^\s{}]+",
    example="http://prometheus-operated.monitoring.svc:9090",
)
# The PromQL label matchers that pick one deployment's series ({namespace}, {name}).
DYNAMOTE_PROMETHEUS_SELECTOR = env_match(
    "DYNAMOTE_PROMETHEUS_SELECTOR",
    'namespace="{namespace}",pod=~"{name}-.+"',
    r"[^{}]*\{(name|namespace)\}[^{}]*(\{(name|namespace)\}[^{}]*)*",
    example='namespace="{namespace}",dynamo_graph_deployment="{name}"',
)
# A bearer token sent to that Prometheus (or DYNAMOTE_PROMETHEUS_TOKEN_FILE, a mounted Secret).
DYNAMOTE_PROMETHEUS_TOKEN = env_str("DYNAMOTE_PROMETHEUS_TOKEN", "")
# How many times faster the sandbox cluster's simulated clock runs (`make run` without a cluster).
DYNAMOTE_SANDBOX_SPEED = env_float("DYNAMOTE_SANDBOX_SPEED", 1.0, above=0)
# The Dynamo release whose runtime images new deployments use by default.
DYNAMOTE_DYNAMO_VERSION = env_match(
    "DYNAMOTE_DYNAMO_VERSION", "1.4.0", r"v?\d+\.\d+\.\d+([-.][0-9A-Za-z.-]+)?", example="1.4.0"
)

# One line per event: time, level, logger, request id, user, then the event.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request": {"()": "dynamote.logging.RequestContextFilter"}},
    "formatters": {
        "json": {"format": "%(message)s"},
        "line": {
            "format": "%(asctime)s %(levelname)s %(name)s request_id=%(request_id)s "
            "user=%(user)s %(message)s"
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "line",
            "filters": ["request"],
        },
        "audit": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "loggers": {
        # One JSON object per audit entry, for a SIEM.
        "dynamote.audit": {"handlers": ["audit"], "level": "INFO", "propagate": False},
    },
    "root": {
        "handlers": ["console"],
        "level": env_choice(
            "DYNAMOTE_LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
        ),
    },
}
