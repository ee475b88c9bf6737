"""Settings for the test suite.

The suite runs against whatever DATABASE_URL and REDIS_URL say; `make test` and CI
point them at the machine's PostgreSQL and Redis, and tests/conftest.py refuses to run
on anything else unless BATON_ALLOW_SQLITE_TESTS=1 (a quick local loop).
"""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES

DEBUG = False
SECRET_KEY = "test-secret-key-not-used-anywhere-else-0123456789abcdef"  # noqa: S105 — used by tests only
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SITE_URL = "http://testserver"
# The webhook tests' receivers listen on plain http://127.0.0.1.
BATON_WEBHOOK_ALLOW_HTTP = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATABASES["default"]["CONN_MAX_AGE"] = 0
if "replica" in DATABASES:
    # The replica alias reads the test database itself: pytest-django creates no second one.
    DATABASES["replica"]["CONN_MAX_AGE"] = 0
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# Tests never run collectstatic; whitenoise serves from the finders instead.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
LOGGING = {"version": 1, "disable_existing_loggers": False}
