"""Reading settings from the environment, failing loudly on bad values.

Every setting Baton reads from the environment goes through these helpers so that a
typo in a deployment stops start-up with a message naming the variable, instead of
running with a silently wrong value.
"""

from __future__ import annotations

import os
import re
import zoneinfo

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"The environment variable {name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use true/false, 1/0, yes/no or on/off.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_timezone(name: str, default: str) -> str:
    value = env_str(name, default)
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImproperlyConfigured(f"{name}={value!r} is not a known time zone (e.g. Europe/Paris).") from None
    return value


def env_database(name: str, default: str) -> dict:
    value = env_str(name, default)
    try:
        config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}={value!r} is not a database URL: {error}") from None
    if not config.get("ENGINE"):
        raise ImproperlyConfigured(f"{name}={value!r} names no supported database engine.")
    if config["ENGINE"] == "django.db.backends.postgresql":
        _without_jit(config.setdefault("OPTIONS", {}))
    return config


def _without_jit(options: dict) -> None:
    """Turn PostgreSQL's JIT compiler off for Baton's connections (unless the URL's own
    `options` says otherwise). Baton's statements are short; JIT starts on the planner's
    cost estimate, and estimates over correlated columns (a check-in's status and due
    date) are off by ten: the reminder scan spent 1.6 s compiling a statement that ran in
    60 ms, the account page 130-400 ms, the deal export 1.9 s."""
    given = options.get("options", "")
    if not re.search(r"\bjit\s*=", given):
        options["options"] = f"{given} -c jit=off".strip()


def env_redis_url(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    if not value.startswith(("redis://", "rediss://")):
        raise ImproperlyConfigured(f"{name}={value!r} must start with redis:// or rediss://.")
    return value
