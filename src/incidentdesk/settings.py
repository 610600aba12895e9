"""Django settings. Every setting a deployment changes comes from an INCIDENTDESK_* variable."""

from __future__ import annotations

import datetime
import importlib.util
import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from incidentdesk.accounts import rolemap as _rolemap
from incidentdesk.core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("INCIDENTDESK_DATA_DIR", "./var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = os.environ.get("INCIDENTDESK_SECRET_KEY")
    if configured:
        return configured
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
# earlier keys, comma-separated, while rotating: they still verify and decrypt, never sign
SECRET_KEY_FALLBACKS = [
    k for k in os.environ.get("INCIDENTDESK_SECRET_KEY_FALLBACKS", "").split(",") if k.strip()
]
DEBUG = _env_bool("INCIDENTDESK_DEBUG")
BASE_URL = os.environ.get("INCIDENTDESK_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = ["*"]
CSRF_TRUSTED_ORIGINS = [BASE_URL]
# a refused check under /api/ answers in the API's JSON error shape
CSRF_FAILURE_VIEW = "incidentdesk.core.views.csrf_failure"
POLICY_PATH = os.environ.get("INCIDENTDESK_POLICY") or None

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "incidentdesk.core",
    "incidentdesk.policy",
    "incidentdesk.accounts",
    "incidentdesk.incidents",
    "incidentdesk.comms",
    "incidentdesk.statuspage",
    "incidentdesk.portal",
    "incidentdesk.reviews",
    "incidentdesk.ingest",
    "incidentdesk.ops",
]

MIDDLEWARE = [
    # first: it times and counts every answer, the guard's refusals too
    "incidentdesk.monitoring.middleware.RequestObserver",
    "incidentdesk.core.middleware.RequestGuard",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "incidentdesk.accounts.middleware.SecondFactorRequired",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    # last, as django-axes asks: it turns a locked-out login into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "incidentdesk.urls"
WSGI_APPLICATION = "incidentdesk.wsgi.application"

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
            ],
        },
    },
]


def _databases() -> dict[str, dict[str, object]]:
    url = os.environ.get("INCIDENTDESK_DATABASE_URL")
    if url:
        config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=600))
    else:
        config = {
            "ENGINE": "incidentdesk.core.sqlite",
            "NAME": str(DATA_DIR / "incidentdesk.sqlite3"),
        }
    if config["ENGINE"] in ("django.db.backends.sqlite3", "incidentdesk.core.sqlite"):
        # writers wait their turn in the kernel's queue rather than SQLite's busy loop
        config["ENGINE"] = "incidentdesk.core.sqlite"
        config["TEST"] = {"NAME": ":memory:"}  # as Django's own SQLite backend does for tests
        config["CONN_MAX_AGE"] = 600
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
    else:
        config["CONN_HEALTH_CHECKS"] = True
        if "postgresql" in str(config["ENGINE"]) and importlib.util.find_spec("psycopg") is None:
            raise ImproperlyConfigured(
                "INCIDENTDESK_DATABASE_URL names PostgreSQL, whose driver is not installed:"
                " pip install 'incidentdesk[postgres]'"
            )
    return {"default": config}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
# a password-reset link works for an hour
PASSWORD_RESET_TIMEOUT = 3600
LOGOUT_REDIRECT_URL = "/login/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# -- transport security and headers ---------------------------------------------------------
# An https base URL means the product is served over TLS (itself or behind a proxy that sets
# X-Forwarded-Proto): cookies are sent over TLS only, plain http is redirected and browsers are
# told by HSTS to keep to https. /healthz and /readyz stay reachable over http for probes.
HTTPS = BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = int(os.environ.get("INCIDENTDESK_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("INCIDENTDESK_HSTS_INCLUDE_SUBDOMAINS", True)
# Preloading commits the whole domain to browsers' built-in lists: the operator opts in.
SECURE_HSTS_PRELOAD = _env_bool("INCIDENTDESK_HSTS_PRELOAD")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD or not HTTPS else ["security.W021"]

# Content-Security-Policy (django-csp) on every response: scripts and styles come from the
# product's own static files only; no inline script, style or eval anywhere.
_SELF, _NONE = "'self'", "'none'"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [_SELF],
        "script-src": [_SELF],
        "style-src": [_SELF],
        "img-src": [_SELF, "data:"],
        "font-src": [_SELF],
        "connect-src": [_SELF],
        "object-src": [_NONE],
        "base-uri": [_NONE],
        "form-action": [_SELF],
        "frame-ancestors": [_NONE],
    }
}

# -- login throttling (django-axes) ---------------------------------------------------------
# After LOGIN_FAILURE_LIMIT wrong passwords for one account from one address, that pair is
# locked out for LOGIN_LOCKOUT_MINUTES, even with the right password; a success resets it.
AUTHENTICATION_BACKENDS = [
    "incidentdesk.accounts.backends.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("INCIDENTDESK_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(
    minutes=float(os.environ.get("INCIDENTDESK_LOGIN_LOCKOUT_MINUTES", "15"))
)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "incidentdesk.accounts.backends.login_username"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "incidentdesk.accounts.views.locked_out"
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ADMIN = False
AXES_VERBOSE = False

# -- single sign-on (OpenID Connect) ------------------------------------------------------
# One provider from the environment (docs/identity.md). The role map decides who is let in and
# as what; it is read here so that a map with a mistake stops the start with its reason.
OIDC_ISSUER = os.environ.get("INCIDENTDESK_OIDC_ISSUER", "").strip().rstrip("/")
OIDC_CLIENT_ID = os.environ.get("INCIDENTDESK_OIDC_CLIENT_ID", "").strip()
OIDC_CLIENT_SECRET = os.environ.get("INCIDENTDESK_OIDC_CLIENT_SECRET", "").strip()
OIDC_NAME = os.environ.get("INCIDENTDESK_OIDC_NAME", "").strip() or "your company account"
OIDC_ROLES_CLAIM = os.environ.get("INCIDENTDESK_OIDC_ROLES_CLAIM", "").strip() or "groups"
OIDC_SCOPES = os.environ.get("INCIDENTDESK_OIDC_SCOPES", "").strip() or "openid email profile"
try:
    OIDC_ROLE_MAP = _rolemap.parse(os.environ.get("INCIDENTDESK_OIDC_ROLE_MAP", ""))
except _rolemap.RoleMapError as exc:
    raise ImproperlyConfigured(f"INCIDENTDESK_OIDC_ROLE_MAP: {exc}") from exc
OIDC_ENABLED = bool(OIDC_ISSUER and OIDC_CLIENT_ID)
if OIDC_ENABLED and not OIDC_ROLE_MAP:
    raise ImproperlyConfigured(
        "INCIDENTDESK_OIDC_ROLE_MAP is empty: nobody could sign in with the identity provider"
        " (e.g. INCIDENTDESK_OIDC_ROLE_MAP='incident-managers=manager,helpdesk=member')."
    )
# Off: the team (managers, members) signs in only through the provider; administrators and
# stakeholders keep their passwords.
TEAM_PASSWORD_LOGIN = _env_bool("INCIDENTDESK_TEAM_PASSWORD_LOGIN", True)
# On: administrators, managers and members need a second factor (an authenticator app) to reach
# anything but its set-up; a sign-in through the identity provider counts as the provider's own.
REQUIRE_SECOND_FACTOR = _env_bool("INCIDENTDESK_REQUIRE_SECOND_FACTOR", False)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("INCIDENTDESK_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        # lanes (comms.tasks.LANES): mail, the team's notices to people, the team's webhooks
        # and chat, status page subscribers; and periodic work (core.periodic)
        "QUEUES": ["default", "urgent", "outbound", "subscribers", "periodic"],
    }
}

# INCIDENTDESK_LOG_FORMAT=json: one JSON object per line (incidentdesk.core.logs)
LOG_FORMAT = os.environ.get("INCIDENTDESK_LOG_FORMAT", "text").strip().lower() or "text"
try:
    LOGGING = logging_config(LOG_FORMAT)
except ValueError as exc:
    raise ImproperlyConfigured(str(exc)) from None
# /metrics answers these client networks without a token (none by default), e.g.
# INCIDENTDESK_METRICS_ALLOW=127.0.0.1,10.0.0.0/8
try:
    METRICS_ALLOW = [
        ipaddress.ip_network(part.strip())
        for part in os.environ.get("INCIDENTDESK_METRICS_ALLOW", "").split(",")
        if part.strip()
    ]
except ValueError as exc:
    raise ImproperlyConfigured(f"INCIDENTDESK_METRICS_ALLOW: {exc}") from None

# Stakeholder portal and e-mail intake
INTAKE_ADDRESS = os.environ.get("INCIDENTDESK_INTAKE_ADDRESS", "incidents@localhost").lower()
# e-mail intake: the mail server in front whose Authentication-Results are believed, the DNS
# server DKIM and SPF ask (default: the system's), and how many unverified mails are held
MAIL_TRUSTED_AUTHSERV_ID = os.environ.get("INCIDENTDESK_MAIL_TRUSTED_AUTHSERV_ID", "").strip()
MAIL_DNS_SERVER = os.environ.get("INCIDENTDESK_MAIL_DNS_SERVER", "").strip()
MAIL_HELD_MAX = int(os.environ.get("INCIDENTDESK_MAIL_HELD_MAX", "1000"))
PORTAL_REPORTS_PER_HOUR = int(os.environ.get("INCIDENTDESK_REPORTS_PER_HOUR", "10"))
# Files live outside the web root and are only served through a permission-checked view.
ATTACHMENTS_DIR = DATA_DIR / "attachments"
ATTACHMENT_MAX_BYTES = int(os.environ.get("INCIDENTDESK_ATTACHMENT_MAX_BYTES", str(10 * 2**20)))
ATTACHMENT_MAX_COUNT = int(os.environ.get("INCIDENTDESK_ATTACHMENT_MAX_COUNT", "20"))
ATTACHMENT_MAX_TOTAL_BYTES = int(
    os.environ.get("INCIDENTDESK_ATTACHMENT_MAX_TOTAL_BYTES", str(50 * 2**20))
)
ATTACHMENT_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".log": "text/plain",
    ".csv": "text/csv",
    ".json": "application/json",
    ".har": "application/json",
    ".zip": "application/zip",
}


# -- outgoing mail and deliveries (comms) ---------------------------------------------------
def _email_url(url: str) -> dict[str, object]:
    """smtp://host:port, smtp+tls://user:pass@host:port (STARTTLS) or smtps://... (TLS)."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    schemes = {"smtp": (25, ""), "smtp+tls": (587, "starttls"), "smtps": (465, "ssl")}
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(
            f"INCIDENTDESK_EMAIL_URL must look like smtp://host:port or "
            f"smtp+tls://user:password@host:port, not {url!r}"
        )
    default_port, security = schemes[parts.scheme]
    return {
        "host": parts.hostname,
        "port": parts.port or default_port,
        "security": security,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
    }


EMAIL_URL_DEFAULT = "smtp://127.0.0.1:1025"
EMAIL_URL_IS_DEFAULT = not os.environ.get("INCIDENTDESK_EMAIL_URL")
EMAIL_SMTP = _email_url(os.environ.get("INCIDENTDESK_EMAIL_URL") or EMAIL_URL_DEFAULT)
EMAIL_FROM = os.environ.get(
    "INCIDENTDESK_EMAIL_FROM", "IncidentDesk <incidents@incidentdesk.localhost>"
)
# Where `incidentdesk mailsink` and the unconfigured default keep received mail.
MAILSINK_DIR = DATA_DIR / "mailsink"
# Outbound requests (webhooks, Apprise) go to public addresses only, checked on every attempt;
# these networks are allowed besides (comma-separated, e.g. "10.0.0.0/8,192.168.1.0/24").
OUTBOUND_ALLOW_NETWORKS = [
    net.strip()
    for net in os.environ.get("INCIDENTDESK_OUTBOUND_ALLOW_NETWORKS", "").split(",")
    if net.strip()
]
# Seconds an outbound request may take to connect, and again to answer.
OUTBOUND_TIMEOUT_SECONDS = float(os.environ.get("INCIDENTDESK_OUTBOUND_TIMEOUT", "5"))
# Seconds a worker holds a delivery; a delivery whose worker died is retried after this.
DELIVERY_LEASE_SECONDS = int(os.environ.get("INCIDENTDESK_DELIVERY_LEASE", "120"))

# -- public status page (statuspage) --------------------------------------------------------
# Seconds a browser or CDN may reuse a status page response without asking (0: revalidate).
STATUSPAGE_MAX_AGE = int(os.environ.get("INCIDENTDESK_STATUSPAGE_MAX_AGE", "0"))
# Seconds a web process trusts the page version it read; changes elsewhere show within this.
STATUSPAGE_VERSION_TTL = float(os.environ.get("INCIDENTDESK_STATUSPAGE_VERSION_TTL", "1"))
# The prepared public front (docs/statuspage.md): the page, feeds, badges and v2 documents as
# files under this directory after every change, served before Django. Off: Django serves all.
STATUSPAGE_PREPARE = _env_bool("INCIDENTDESK_STATUSPAGE_PREPARE", True)
STATUSPAGE_PUBLIC_DIR = Path(
    os.environ.get("INCIDENTDESK_STATUSPAGE_PUBLIC_DIR") or DATA_DIR / "public"
)
# A change is rendered into the front by a thread of the process that made it, off the
# request's path. True: before the change's call returns (the in-process tests).
STATUSPAGE_RENDER_INLINE = False
# Subscription requests accepted from one client (IP address) an hour.
STATUSPAGE_SUBSCRIBE_PER_HOUR = int(
    os.environ.get("INCIDENTDESK_STATUSPAGE_SUBSCRIBE_PER_HOUR", "10")
)
# Deprecated: INCIDENTDESK_OUTBOUND_ALLOW_NETWORKS names the networks; this still allows the
# private ranges (never loopback or link-local) to webhooks as it did.
if os.environ.get("INCIDENTDESK_STATUSPAGE_ALLOW_PRIVATE_WEBHOOKS", "").lower() in (
    "1",
    "true",
    "yes",
):
    OUTBOUND_ALLOW_NETWORKS += ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
