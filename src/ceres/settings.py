"""One settings module, driven by environment variables (see docs/configuration.md)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


VAR_DIR = Path(env("CERES_VAR_DIR", str(Path.cwd() / "var"))).resolve()


def _secret_key() -> str:
    """The key comes from the environment; for a laptop install it is made once under var/."""
    configured = env("CERES_SECRET_KEY")
    if configured:
        return configured
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("CERES_DEBUG", False)
ALLOWED_HOSTS = [h for h in env("CERES_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CERES_CSRF_TRUSTED_ORIGINS").split(",") if o]
BASE_URL = env("CERES_BASE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "ceres.core",
    "ceres.team",
    "ceres.accounts",
    "ceres.playbook",
    "ceres.conversations",
    "ceres.sla",
    "ceres.slack",
    "ceres.sms",
    "ceres.github",
    "ceres.tracker",
    "ceres.oncall",
    "ceres.automations",
    "ceres.reviews",
    "ceres.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ceres.core.middleware.ViewerTimezoneMiddleware",
]

ROOT_URLCONF = "ceres.urls"
WSGI_APPLICATION = "ceres.wsgi.application"
ASGI_APPLICATION = "ceres.asgi.application"

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


def _database() -> dict[str, Any]:
    url = env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'ceres.sqlite3'}"
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        config["CONN_MAX_AGE"] = 0
        config["OPTIONS"] = {
            # WAL lets the web app and the worker read while one writes; IMMEDIATE makes a
            # writer take the lock at BEGIN, so two writers queue instead of deadlocking.
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["ceres.team.backends.RolePermissionBackend"]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = env_bool("CERES_SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]  # the UI's CSS, JS and vendored htmx
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploaded files (bug reports' debug archives); served to signed-in users only, by Ceres.
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Background work: the Tasks API. "db" (default) works on SQLite and PostgreSQL;
# "immediate" runs tasks inline (tests of pure logic); "rq" scales out on Redis.
_tasks_backend = env("CERES_TASKS_BACKEND", "db")
TASKS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": {
            "db": "django_tasks_db.DatabaseBackend",
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "dummy": "django_tasks.backends.dummy.DummyBackend",
        }[_tasks_backend],
        "QUEUES": ["default"],
    }
}

# E-mail: SMTP in production (CERES_EMAIL_HOST set), files under var/mail in development.
EMAIL_HOST = env("CERES_EMAIL_HOST")
EMAIL_PORT = int(env("CERES_EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("CERES_EMAIL_USER")
EMAIL_HOST_PASSWORD = env("CERES_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("CERES_EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(env("CERES_EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = env("CERES_DEFAULT_FROM_EMAIL", "Ceres <ceres@localhost>")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# The outbox: how long a delivery may hold its lease before another worker may retry it.
CERES_OUTBOX_LEASE_SECONDS = int(env("CERES_OUTBOX_LEASE_SECONDS", "120"))
CERES_OUTBOX_MAX_ATTEMPTS = int(env("CERES_OUTBOX_MAX_ATTEMPTS", "12"))
# The inbox: how many times a failing webhook handler is tried before the event is dead.
CERES_INBOX_MAX_ATTEMPTS = int(env("CERES_INBOX_MAX_ATTEMPTS", "8"))
# Retries (outbox and inbox) back off exponentially from the base, with jitter, up to the max.
CERES_RETRY_BASE_SECONDS = float(env("CERES_RETRY_BASE_SECONDS", "10"))
CERES_RETRY_MAX_SECONDS = float(env("CERES_RETRY_MAX_SECONDS", "3600"))
# How often the outbox and inbox sweeps look for lost work (expired leases, overdue retries).
CERES_SWEEP_SECONDS = int(env("CERES_SWEEP_SECONDS", "30"))

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("CERES_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# The public contact form (docs/contact-form.md): posts per hour per e-mail address and per
# client address (IPv4, or IPv6 /64); 0 turns a limit off. Behind N reverse proxies that append
# to X-Forwarded-For, set CERES_CONTACT_TRUSTED_PROXIES=N so the client's address is counted,
# not the proxy's.
CERES_CONTACT_RATE_LIMIT = int(env("CERES_CONTACT_RATE_LIMIT", "5"))
CERES_CONTACT_RATE_LIMIT_PER_IP = int(
    env("CERES_CONTACT_RATE_LIMIT_PER_IP", str(CERES_CONTACT_RATE_LIMIT))
)
CERES_CONTACT_TRUSTED_PROXIES = int(env("CERES_CONTACT_TRUSTED_PROXIES", "0"))
# Slack (docs/slack.md): the app's signing secret (every request to /integrations/slack/ is
# verified with it; without it they are all refused) and bot token, and the Web API address
# (tests point it at a local fake). Top-level messages from one person within the grouping
# window join one conversation.
CERES_SLACK_SIGNING_SECRET = env("CERES_SLACK_SIGNING_SECRET")
CERES_SLACK_BOT_TOKEN = env("CERES_SLACK_BOT_TOKEN")
CERES_SLACK_API_URL = env("CERES_SLACK_API_URL", "https://slack.com/api/")
CERES_SLACK_TIMEOUT = int(env("CERES_SLACK_TIMEOUT", "15"))
CERES_SLACK_GROUP_SECONDS = int(env("CERES_SLACK_GROUP_SECONDS", "300"))
# SMS through Twilio (docs/sms.md): the account SID and auth token the outbox sends with, and
# the sender: an E.164 number of the account (CERES_TWILIO_FROM) or a Messaging Service (its
# MG… SID wins when both are set). While the SID, the token or a sender is missing, SMS wait in
# the outbox (retried, logged at ERROR). The API address is for tests (a local fake).
CERES_TWILIO_ACCOUNT_SID = env("CERES_TWILIO_ACCOUNT_SID")
CERES_TWILIO_AUTH_TOKEN = env("CERES_TWILIO_AUTH_TOKEN")
CERES_TWILIO_FROM = env("CERES_TWILIO_FROM")
CERES_TWILIO_MESSAGING_SERVICE_SID = env("CERES_TWILIO_MESSAGING_SERVICE_SID")
CERES_TWILIO_API_URL = env("CERES_TWILIO_API_URL", "https://api.twilio.com")
CERES_TWILIO_TIMEOUT = int(env("CERES_TWILIO_TIMEOUT", "15"))
# Job applications are answered with this role's active people in CC (the handbook's Interim
# Head of People).
CERES_JOB_APPLICATION_CC_ROLE = env("CERES_JOB_APPLICATION_CC_ROLE", "head-of-people")

# The customer-questions log (docs/questions-log.md): who gets the weekly digest (a role key),
# and the zone of its Friday 15:00.
CERES_QUESTIONS_DIGEST_ROLE = env("CERES_QUESTIONS_DIGEST_ROLE", "cse")
CERES_QUESTIONS_DIGEST_TIMEZONE = env("CERES_QUESTIONS_DIGEST_TIMEZONE", "UTC")

# GitHub (docs/github.md): the webhook secret every delivery to /integrations/github/webhook is
# verified with; while it is empty, every delivery is refused (401).
CERES_GITHUB_WEBHOOK_SECRET = env("CERES_GITHUB_WEBHOOK_SECRET")
# The token label changes are made with (a fine-grained token or an app installation token with
# issues: write); the REST address (tests point it at a local fake); the logins of bots whose
# comments leave "+" labels on (the team's own logins come from the team directory).
CERES_GITHUB_TOKEN = env("CERES_GITHUB_TOKEN")
CERES_GITHUB_API_URL = env("CERES_GITHUB_API_URL", "https://api.github.com")
CERES_GITHUB_TIMEOUT = int(env("CERES_GITHUB_TIMEOUT", "15"))
CERES_GITHUB_BOTS = [
    login.strip().lower()
    for login in env("CERES_GITHUB_BOTS", "github-actions[bot],dependabot[bot]").split(",")
    if login.strip()
]
# GitHub App authentication, an alternative to the token (docs/github.md): the App's id, its
# private key (the PEM text, or the path of the .pem file) and the installation on the
# organization. When the three are set, changes are made as the App installation (the token is
# then unused); githubkit makes and renews the hour-long installation tokens.
CERES_GITHUB_APP_ID = env("CERES_GITHUB_APP_ID")
CERES_GITHUB_APP_PRIVATE_KEY = env("CERES_GITHUB_APP_PRIVATE_KEY")
CERES_GITHUB_APP_PRIVATE_KEY_FILE = env("CERES_GITHUB_APP_PRIVATE_KEY_FILE")
CERES_GITHUB_APP_INSTALLATION_ID = env("CERES_GITHUB_APP_INSTALLATION_ID")

# The tracker (docs/tracker.md): "builtin" keeps issues inside Ceres (the embedded default: it
# works with no GitHub at all); "github" keeps them on GitHub, mirrored here and synced both ways.
# The public repository gets codenames only (the confidentiality firewall checks every text
# bound for it); the confidential one takes what may not go public.
CERES_TRACKER_BACKEND = env("CERES_TRACKER_BACKEND", "builtin")
CERES_TRACKER_PUBLIC_REPO = env("CERES_TRACKER_PUBLIC_REPO", "public")
CERES_TRACKER_CONFIDENTIAL_REPO = env("CERES_TRACKER_CONFIDENTIAL_REPO", "confidential")
