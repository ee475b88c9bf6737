"""Start-up configuration: bad environment values stop start-up naming the variable,
and production settings pass Django's deployment checklist."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config import env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_manage(*args: str, **environment: str) -> subprocess.CompletedProcess:
    base_environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base_environment, **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("helper", "name", "value"),
    [
        (lambda: env.env_bool("DEBUG", False), "DEBUG", "maybe"),
        (lambda: env.env_int("EMAIL_PORT", 25), "EMAIL_PORT", "twenty-five"),
        (lambda: env.env_timezone("TIME_ZONE", "UTC"), "TIME_ZONE", "Mars/Olympus"),
        (lambda: env.env_database("DATABASE_URL", "sqlite://"), "DATABASE_URL", "nosuchdb://x"),
        (lambda: env.env_redis_url("REDIS_URL"), "REDIS_URL", "http://127.0.0.1:6379"),
    ],
)
def test_it_names_the_variable_with_a_bad_value(monkeypatch, helper, name, value):
    # given
    monkeypatch.setenv(name, value)
    # when / then
    with pytest.raises(ImproperlyConfigured, match=name):
        helper()


def test_start_up_stops_with_a_message_naming_the_bad_variable():
    result = run_manage("check", DJANGO_SETTINGS_MODULE="config.settings.base", DEBUG="perhaps")
    assert result.returncode != 0
    assert "DEBUG='perhaps' is not a boolean" in result.stderr


def test_production_settings_pass_the_deployment_checklist_without_warnings():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x" * 20 + "production-secret-key-for-the-check-0123456789",
        ALLOWED_HOSTS="baton.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_real_secret_key():
    result = run_manage(
        "check",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="short",
        ALLOWED_HOSTS="baton.example.com",
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_bare_machine_defaults_use_sqlite_and_the_filesystem_broker(tmp_path):
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)",
        DJANGO_SETTINGS_MODULE="config.settings.base",
        BATON_VAR_DIR=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    # Django 5.2's shell first reports what it imported automatically; our line is the last.
    assert result.stdout.strip().splitlines()[-1].split() == ["django.db.backends.sqlite3", "filesystem://"]


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("postgres://postgres@127.0.0.1:5432/baton", "-c jit=off"),
        (
            "postgres://postgres@127.0.0.1:5432/baton?options=-c%20statement_timeout%3D5000",
            "-c statement_timeout=5000 -c jit=off",
        ),
        # the operator's own choice stands
        ("postgres://postgres@127.0.0.1:5432/baton?options=-c%20jit%3Don", "-c jit=on"),
        # a setting whose value merely contains the word is not a choice about JIT
        (
            "postgres://postgres@127.0.0.1:5432/baton?options=-c%20application_name%3Djitter",
            "-c application_name=jitter -c jit=off",
        ),
    ],
)
def test_postgresql_connections_run_without_jit_unless_the_url_says_so(monkeypatch, url, options):
    # given
    monkeypatch.setenv("DATABASE_URL", url)
    # when
    config = env.env_database("DATABASE_URL", "sqlite://")
    # then
    assert config["OPTIONS"]["options"] == options


@pytest.mark.django_db
def test_the_suites_postgresql_connection_has_jit_off():
    # given: the suite's own connection, made from DATABASE_URL by the settings
    from django.db import connection

    # when
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        (jit,) = cursor.fetchone()
    # then: the planner's cost estimates never start a compile of a short statement
    assert jit == "off"
