"""Django settings. Every setting a deployment changes comes from an INCIDENTDESK_* variable."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

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
]

MIDDLEWARE = [
    "incidentdesk.core.middleware.RequestGuard",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
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
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "incidentdesk.sqlite3"),
        }
    if config["ENGINE"] == "django.db.backends.sqlite3":
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
LOGOUT_REDIRECT_URL = "/login/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

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
        "QUEUES": ["default"],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "incidentdesk": {"handlers": ["console"], "level": "INFO"},
        "django.request": {"handlers": ["console"], "level": "ERROR"},
    },
}

# Stakeholder portal and e-mail intake
INTAKE_ADDRESS = os.environ.get("INCIDENTDESK_INTAKE_ADDRESS", "incidents@localhost").lower()
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
# Seconds a worker holds a delivery; a delivery whose worker died is retried after this.
DELIVERY_LEASE_SECONDS = int(os.environ.get("INCIDENTDESK_DELIVERY_LEASE", "120"))

# -- public status page (statuspage) --------------------------------------------------------
# Seconds a browser or CDN may reuse a status page response without asking (0: revalidate).
STATUSPAGE_MAX_AGE = int(os.environ.get("INCIDENTDESK_STATUSPAGE_MAX_AGE", "0"))
# Seconds a web process trusts the page version it read; changes elsewhere show within this.
STATUSPAGE_VERSION_TTL = float(os.environ.get("INCIDENTDESK_STATUSPAGE_VERSION_TTL", "1"))
# Webhook subscribers on loopback or private addresses are refused unless this is set.
STATUSPAGE_ALLOW_PRIVATE_WEBHOOKS = os.environ.get(
    "INCIDENTDESK_STATUSPAGE_ALLOW_PRIVATE_WEBHOOKS", ""
).lower() in ("1", "true", "yes")
