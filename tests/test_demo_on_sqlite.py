"""`make run` with no configuration: SQLite and the demo data, every page for every role."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_demo_page_renders_for_every_role_on_sqlite(tmp_path):
    # given a newcomer's configuration: nothing set but a scratch data folder
    environment = {
        key: value
        for key, value in os.environ.items()
        if key
        not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    environment["BATON_VAR_DIR"] = str(tmp_path)
    environment["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    # when
    result = subprocess.run(
        [sys.executable, "-m", "tests.demo_smoke"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # then
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "failures=0" in result.stdout
    pages = int(result.stdout.split("pages=")[1].split()[0])
    assert pages >= 40
    assert (tmp_path / "baton.sqlite3").exists()
