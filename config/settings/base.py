"""Settings shared by every environment, all read from the environment.

With nothing set, Baton runs on a bare machine: SQLite in ./var and a Celery broker
on the local filesystem (kombu's filesystem transport), so the web app, the worker and
beat cooperate without any server. Set DATABASE_URL and REDIS_URL for PostgreSQL and
Redis. production.py and test.py start from here; nothing exists only in production.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from config.env import (
    env_bool,
    env_database,
    env_int,
    env_list,
    env_redis_url,
    env_str,
    env_timezone,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("BATON_VAR_DIR", str(BASE_DIR / "var")))

# A fixed key is fine for a local demo; production.py refuses to start without one.
SECRET_KEY = env_str("SECRET_KEY", "insecure-local-development-key-do-not-use-in-production")
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The absolute address of the site, for links in emails and calendar invites.
SITE_URL = env_str("SITE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    # django.contrib.admin, with a site for superusers signed in with two-factor only.
    "accounts.apps.BatonAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_filters",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Issue 15: login protection (axes), two-factor (django-otp: TOTP devices and one-time
    # backup codes), the Content-Security-Policy (django-csp).
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "accounts",
    "handoffs",
    "followups",
]

MIDDLEWARE = [
    # First, so that every answer under /api/ — even one made by the middleware below it
    # (a bad Host, a crash) — is the API's JSON error body, and a body over 1 MB is
    # refused before anything reads it.
    "accounts.api.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): was this session's sign-in completed with a second factor?
    "django_otp.middleware.OTPMiddleware",
    # Ends a session idle longer than BATON_SESSION_IDLE_SECONDS (on top of the absolute
    # SESSION_COOKIE_AGE), and sends a user who must finish two-factor sign-in (or must
    # enrol, by the organisation's setting) to that step before any other page.
    "accounts.security.sessions.IdleSessionMiddleware",
    "accounts.two_factor.middleware.TwoFactorRequiredMiddleware",
    # After the session and user: an Idempotency-Key belongs to the user who sends it.
    "accounts.api.middleware.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "accounts.middleware.UserTimezoneMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by the backend into the page.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out username or address before any password is
# checked (accounts.security.lockout holds the rest of the login protection).
AUTHENTICATION_BACKENDS = [
    "accounts.security.lockout.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "accounts.context_processors.navigation",
            ],
        },
    },
    # Plain text (e-mail subjects and text bodies): the same templates folder, nothing
    # HTML-escaped, so that "O'Brien" stays O'Brien (followups.emails renders with it).
    {
        "NAME": "text",
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"autoescape": False},
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'baton.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one SQLite file: WAL lets readers work
    # while one writer writes, IMMEDIATE takes the write lock up front so that two
    # writers queue (timeout) instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# A PostgreSQL streaming replica for the read-heavy pages (config.replica: which reads go
# there, and read-your-own-writes). Unset: no second alias, router or middleware at all.
if env_str("DATABASE_REPLICA_URL", ""):
    DATABASES["replica"] = env_database("DATABASE_REPLICA_URL", "")
    if {DATABASES["default"]["ENGINE"], DATABASES["replica"]["ENGINE"]} != {"django.db.backends.postgresql"}:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs PostgreSQL: a streaming replica of the PostgreSQL database of DATABASE_URL."
        )
    # Fail over to the primary within seconds when the replica's host does not answer.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    DATABASE_ROUTERS = ["config.replica.PrimaryReplicaRouter"]
    # Late in the chain, just before axes (which must stay last): it marks a request in
    # process_view, after the middleware above has read the session and the user.
    MIDDLEWARE.insert(MIDDLEWARE.index("axes.middleware.AxesMiddleware"), "config.replica.ReplicaReadsMiddleware")
# After a page or API write, its client reads from the primary this long (0: never).
BATON_REPLICA_STICKY_SECONDS = env_int("BATON_REPLICA_STICKY_SECONDS", 10, minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sessions: an absolute lifetime (SESSION_COOKIE_AGE) and an idle timeout on top of it
# (accounts.security.sessions).
SESSION_COOKIE_AGE = env_int("BATON_SESSION_MAX_SECONDS", 7 * 24 * 3600, minimum=300)
BATON_SESSION_IDLE_SECONDS = env_int("BATON_SESSION_IDLE_SECONDS", 12 * 3600, minimum=60)

# Login protection (django-axes): a username, or an address, with this many failures in a
# row is locked out until the cool-off ends; the state is in the database, shared by every
# web process. Password reset has its own limit (accounts.security.throttle).
AXES_FAILURE_LIMIT = env_int("BATON_LOGIN_FAILURE_LIMIT", 5, minimum=1)
# An address (an office behind one NAT) may fail more often than one username.
BATON_LOGIN_ADDRESS_FAILURE_LIMIT = env_int("BATON_LOGIN_ADDRESS_FAILURE_LIMIT", 20, minimum=1)
AXES_COOLOFF_MINUTES = env_int("BATON_LOGIN_COOLOFF_MINUTES", 15, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=AXES_COOLOFF_MINUTES)
AXES_HANDLER = "accounts.security.lockout.LoginAttemptHandler"
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A correct password clears that username's failures (not the address's: see the handler).
AXES_RESET_ON_SUCCESS = True
# The login page again, status 429, one message whether the username exists or not.
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Failures are counted by address; behind a reverse proxy (or a load balancer) every
# request comes from the proxy's address, so say how many proxies append to
# X-Forwarded-For in front of Baton (0: none, REMOTE_ADDR is the client).
BATON_TRUSTED_PROXY_COUNT = env_int("BATON_TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "accounts.security.lockout.client_address"
AXES_USERNAME_CALLABLE = "accounts.security.lockout.attempted_username"
# A superuser may lift a lockout early in the Django admin (Access attempts → delete), or
# anyone with the shell: `manage.py axes_reset_username <name>` / `axes_reset_ip <addr>`.
AXES_ENABLE_ADMIN = True
BATON_PASSWORD_RESET_LIMIT = env_int("BATON_PASSWORD_RESET_LIMIT", 5, minimum=1)
BATON_PASSWORD_RESET_WINDOW_MINUTES = env_int("BATON_PASSWORD_RESET_WINDOW_MINUTES", 60, minimum=1)

# The Django admin's address, set by configuration (superusers with two-factor only).
BATON_ADMIN_PATH = env_str("BATON_ADMIN_PATH", "django-admin/").strip("/") + "/"
OTP_TOTP_ISSUER = "Baton"

# Content-Security-Policy (django-csp) on every page: nothing inline, nothing from another
# host. Scripts and styles are files under static/ (behaviours as data attributes handled
# in static/js/baton.js; htmx's indicator styles in baton.css). No page needs a nonce or a
# relaxation: Swagger UI (/api/v1/docs/) runs from its vendored bundle, Django's admin has
# no inline code, Chart.js reads its data from json_script (not executed, so not refused).
# tests/browser/test_csp_every_page.py crawls every page as each role and fails on any
# violation; tests/test_csp.py checks the header and every template's source.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_timezone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# The REST API (/api/v1/): its foundation lives in accounts.api — authentication by
# personal token, cursor pagination, one error body — and each app adds its endpoints.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "accounts.api.pagination.BatonCursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "accounts.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Baton API",
    "DESCRIPTION": "Accounts, deals, hand-offs, promises, meetings and check-ins of Baton.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Every operation documents the one error body for its 4xx/5xx answers, and every
    # POST its optional Idempotency-Key header (accounts.api.schema).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.api.schema.add_error_responses",
    ],
    # Choice sets whose field names repeat across the apps ("role", "stage", "status"):
    # each its own name, instead of drf-spectacular's hashed ones (Stage5fbEnum).
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.choices.Role",
        "DealContactRoleEnum": "handoffs.choices.ContactRole",
        "DealStageEnum": "handoffs.choices.Stage",
        "OpenStageEnum": [
            ("qualify", "Qualify"),
            ("discover", "Discover"),
            ("propose", "Propose"),
            ("negotiate", "Negotiate"),
        ],
        "CheckInChannelEnum": "followups.choices.Channel",
        "HandoffStatusEnum": "handoffs.choices.HandoffStatus",
        "CheckInStatusEnum": "followups.choices.CheckInStatus",
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Email. The console backend prints each message where `make run` shows its logs.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Baton <baton@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Celery. Redis when REDIS_URL (or CELERY_BROKER_URL) is set; otherwise the filesystem
# transport, which needs no server. Redis only carries "wake up" messages: reminders
# themselves live in the database outbox (followups.OutboxMessage), so a lost message
# costs latency, never an e-mail.
REDIS_URL = env_redis_url("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "celery-broker"
    # The transport lists this folder on start and fails if it is missing.
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        # Broadcast (remote control) exchanges; kombu's default is ./control in the cwd.
        "control_folder": str(VAR_DIR / "celery-control"),
        "store_processed": False,
    }
elif not CELERY_BROKER_URL.startswith(("redis://", "rediss://", "amqp://", "memory://")):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"CELERY_BROKER_URL={CELERY_BROKER_URL!r} is not a supported broker URL.")
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# The cache holds only counters that every web process must share (the password-reset
# limit): Redis when it is configured, otherwise files under ./var (the embedded default).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "baton",
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILE = str(VAR_DIR / "celerybeat-schedule")

# Outbox tuning (followups.services.outbox). Lease: how long a claimed batch is held
# without renewal; a live worker renews it every third of that while it sends, so a
# dead worker's messages return within it.
BATON_OUTBOX_LEASE_SECONDS = env_int("BATON_OUTBOX_LEASE_SECONDS", 15, minimum=3)
BATON_OUTBOX_BATCH_SIZE = env_int("BATON_OUTBOX_BATCH_SIZE", 100, minimum=1)
BATON_OUTBOX_MAX_ATTEMPTS = env_int("BATON_OUTBOX_MAX_ATTEMPTS", 6, minimum=1)
# How many sender tasks one wake-up may start when a backlog is due (each claims its own
# batches; as many run at once as the worker has processes).
BATON_OUTBOX_SENDERS = env_int("BATON_OUTBOX_SENDERS", 4, minimum=1)
# Webhooks (followups.services.outbox): connect and read timeouts in seconds, short so
# that a dead endpoint costs little; how many endpoints one batch POSTs to at once; and
# whether a plain http:// endpoint may be registered (development, tests, a local bench).
_webhook_timeout = env_list("BATON_WEBHOOK_TIMEOUT", ["3", "5"])
if len(_webhook_timeout) != 2 or not all(value.replace(".", "", 1).isdigit() for value in _webhook_timeout):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"BATON_WEBHOOK_TIMEOUT={_webhook_timeout!r}: give connect,read seconds, e.g. 3,5.")
BATON_WEBHOOK_TIMEOUT = (float(_webhook_timeout[0]), float(_webhook_timeout[1]))
BATON_WEBHOOK_LANES = env_int("BATON_WEBHOOK_LANES", 4, minimum=1)
BATON_WEBHOOK_ALLOW_HTTP = env_bool("BATON_WEBHOOK_ALLOW_HTTP", False)  # DEBUG allows it too
# A token that lets a monitoring system read /health/'s figures without logging in
# (send it as "Authorization: Bearer <token>"); unset, only admins see them.
BATON_HEALTH_TOKEN = env_str("BATON_HEALTH_TOKEN", "")
# The days on which non-urgent reminders go out, for everyone (e.g. mon,tue,wed,thu,fri
# to keep weekends quiet); on other days they wait for the next working day's start.
BATON_WORKING_DAYS = env_list("BATON_WORKING_DAYS", ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
# May a rep (not only a manager) propose the delivery owner of their own hand-off?
BATON_REPS_MAY_PROPOSE_OWNER = env_bool("BATON_REPS_MAY_PROPOSE_OWNER", False)
# How long a customer's status-page link stays valid.
BATON_CUSTOMER_LINK_DAYS = env_int("BATON_CUSTOMER_LINK_DAYS", 90, minimum=1)
# The largest CSV an import accepts (handoffs.imports), in bytes; the upload itself is
# held in memory up to this size (DATA_UPLOAD_MAX_MEMORY_SIZE does not cover files).
BATON_IMPORT_MAX_BYTES = env_int("BATON_IMPORT_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)
# A file with more rows than this has its dry run made by a worker (the page follows its
# progress); a smaller one in the request, which stays well under a second.
BATON_IMPORT_DRY_RUN_SYNC_ROWS = env_int("BATON_IMPORT_DRY_RUN_SYNC_ROWS", 2000, minimum=0)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
