"""Locust load for one page of the bench plan (bench/run.sh runs it once per page).

Every simulated user logs in through the real login form as its own bench user, waits
until all users are logged in (so that password hashing does not colour the figures),
then loads the page back to back (no think time) for BENCH_SECONDS. Response times are
kept raw, in milliseconds, and written to BENCH_RAW_OUT when the run ends.

Besides wall-clock latency it records the CPU time spent per request by the gunicorn
processes (BENCH_WEB_PID: the master; its workers are its children) and by the
PostgreSQL backends of the bench database (BENCH_DB_NAME), and the machine's load
average: on a shared machine those say whether other work coloured the figures.

Environment: BENCH_PLAN (from bench/queries.py), BENCH_PAGE (a label of the plan),
BENCH_SECONDS (default 30), BENCH_WARMUP_SECONDS (default 3), BENCH_USERS (default 8),
BENCH_RAW_OUT, BENCH_WEB_PID, BENCH_DB_NAME.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from http.cookiejar import DefaultCookiePolicy

import gevent
import psutil
from gevent.event import Event
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

PLAN = json.loads(open(os.environ["BENCH_PLAN"]).read())  # noqa: SIM115 — read once at import
PAGE = next(page for page in PLAN["pages"] if page["label"] == os.environ["BENCH_PAGE"])
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
WARMUP_SECONDS = float(os.environ.get("BENCH_WARMUP_SECONDS", "3"))
USERS = int(os.environ.get("BENCH_USERS", "8"))
WEB_PID = int(os.environ.get("BENCH_WEB_PID", "0"))
DB_NAME = os.environ.get("BENCH_DB_NAME", "")
RAW_OUT = os.environ["BENCH_RAW_OUT"]
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def web_processes() -> list[psutil.Process]:
    """The gunicorn master and its workers."""
    try:
        master = psutil.Process(WEB_PID)
        return [master, *master.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def database_processes() -> list[psutil.Process]:
    """The PostgreSQL backends of the bench database: they show it in their process
    title ("postgres: 15/main: postgres baton_bench 127.0.0.1(43614) idle")."""
    backends = []
    for process in psutil.process_iter(["cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if title.startswith("postgres: ") and f" {DB_NAME} " in title:
            backends.append(process)
    return backends


class CpuMeter:
    """CPU seconds (user + system) a changing set of processes spent while measuring.

    Processes come and go (a web worker reconnects once its connection is older than
    CONN_MAX_AGE), so the meter samples every second and keeps each process's last
    reading; a process first seen after the start counts from zero.
    """

    def __init__(self, find_processes) -> None:
        self.find_processes = find_processes
        self.baseline: dict[int, float] = {}
        self.latest: dict[int, float] = {}
        self.started = False

    def sample(self) -> None:
        for process in self.find_processes():
            try:
                times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            used = times.user + times.system
            if not self.started:
                self.baseline[process.pid] = used
            self.latest[process.pid] = used

    def start(self) -> None:
        self.sample()
        self.started = True

    def seconds(self) -> float | None:
        if not self.latest:
            return None
        return sum(used - self.baseline.get(pid, 0.0) for pid, used in self.latest.items())


class Measurement:
    """What one run measured: raw response times of the page while the clock ran."""

    def __init__(self) -> None:
        self.user_numbers = itertools.count()
        self.logged_in = 0
        self.login_failures: list[str] = []
        self.all_logged_in = Event()
        self.measuring = False
        self.started_at = 0.0
        self.stopped_at = 0.0
        self.response_times: list[float] = []
        self.failures = 0
        self.failure_samples: list[str] = []
        self.web_cpu = CpuMeter(web_processes) if WEB_PID else None
        self.database_cpu = CpuMeter(database_processes) if DB_NAME else None
        self.load_average_at_start: float | None = None

    def user_ready(self, environment) -> None:
        self.logged_in += 1
        if self.logged_in + len(self.login_failures) >= USERS and not self.all_logged_in.is_set():
            self.all_logged_in.set()
            gevent.spawn(self._run_the_clock, environment)

    def _run_the_clock(self, environment) -> None:
        # A warm-up first: each gunicorn worker compiles the page's templates and
        # fills its caches on its first requests.
        gevent.sleep(WARMUP_SECONDS)
        meters = [meter for meter in (self.web_cpu, self.database_cpu) if meter is not None]
        for meter in meters:
            meter.start()
        self.load_average_at_start = os.getloadavg()[0]
        self.started_at = time.perf_counter()
        self.measuring = True
        deadline = self.started_at + SECONDS
        while (left := deadline - time.perf_counter()) > 0:
            gevent.sleep(min(1.0, left))
            for meter in meters:
                meter.sample()
        self.measuring = False
        self.stopped_at = time.perf_counter()
        environment.runner.quit()

    def write(self) -> None:
        duration = (self.stopped_at or time.perf_counter()) - self.started_at if self.started_at else 0.0
        times = sorted(self.response_times)

        def per_request_ms(meter: CpuMeter | None) -> float | None:
            seconds = meter.seconds() if meter is not None else None
            if not times or seconds is None:
                return None
            return round(seconds * 1000 / len(times), 2)

        web_cpu_per_request = per_request_ms(self.web_cpu)
        database_cpu_per_request = per_request_ms(self.database_cpu)

        def percentile(share: float) -> float | None:
            if not times:
                return None
            return round(times[min(len(times) - 1, int(share * len(times)))], 2)

        result = {
            "label": PAGE["label"],
            "users": USERS,
            "logged_in": self.logged_in,
            "login_failures": self.login_failures,
            "seconds": round(duration, 2),
            "requests": len(times),
            "failures": self.failures,
            "failure_samples": self.failure_samples[:5],
            "requests_per_second": round(len(times) / duration, 1) if duration else None,
            "p50_ms": percentile(0.50),
            "p95_ms": percentile(0.95),
            "p99_ms": percentile(0.99),
            "max_ms": round(times[-1], 2) if times else None,
            "mean_ms": round(sum(times) / len(times), 2) if times else None,
            "web_cpu_ms_per_request": web_cpu_per_request,
            "database_cpu_ms_per_request": database_cpu_per_request,
            "load_average_1min": [self.load_average_at_start, round(os.getloadavg()[0], 2)],
        }
        with open(RAW_OUT, "w") as out:
            json.dump(result, out, indent=2)


measurement = Measurement()


@events.request.add_listener
def on_request(name, response_time, exception, **kwargs) -> None:
    if name != PAGE["label"] or not measurement.measuring:
        return
    if exception is not None:
        measurement.failures += 1
        if len(measurement.failure_samples) < 5:
            measurement.failure_samples.append(str(exception)[:200])
        return
    measurement.response_times.append(response_time)


@events.quitting.add_listener
def on_quitting(environment, **kwargs) -> None:
    measurement.write()


class BenchUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        number = next(measurement.user_numbers)
        login = PAGE["logins"][number % len(PAGE["logins"])]
        self.urls = itertools.cycle(login["urls"])
        # Production cookies are Secure; the bench talks plain HTTP on loopback only,
        # so let this client send them back over http.
        self.client.cookiejar.set_policy(DefaultCookiePolicy(secure_protocols=("https", "wss", "http")))
        try:
            self._log_in(login["username"])
        except AssertionError as error:
            measurement.login_failures.append(f"{login['username']}: {error}")
            measurement.user_ready(self.environment)
            raise StopUser() from error
        measurement.user_ready(self.environment)
        measurement.all_logged_in.wait()

    def _log_in(self, username: str) -> None:
        form = self.client.get("/login/", name="login form")
        match = CSRF_INPUT.search(form.text or "")
        assert match, f"no CSRF token on the login page (HTTP {form.status_code})"
        with self.client.post(
            "/login/",
            data={"username": username, "password": PLAN["password"], "csrfmiddlewaretoken": match.group(1)},
            headers={"Referer": f"{self.host}/login/"},
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            location = response.headers.get("Location", "")
            if response.status_code != 302 or "/login/" in location:
                response.failure(f"login refused (HTTP {response.status_code})")
                raise AssertionError(f"login refused (HTTP {response.status_code})")
            response.success()

    @task
    def load_page(self) -> None:
        with self.client.get(
            next(self.urls), name=PAGE["label"], allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
