"""A throwaway PostgreSQL primary and its streaming replica, for tests/test_replica.py.

The machine's own cluster refuses replication connections (its pg_hba.conf), so the
test makes a pair of its own in a temporary folder: `initdb` a primary (trust, including
replication; wal_level=replica), `pg_basebackup -R` it into a second folder, and start that
as a hot standby on another port. PostgreSQL refuses to run as root, which the tests are,
so every server command runs as the `postgres` OS user (runuser), in a folder it owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

BIN_DIR = Path(os.environ.get("BATON_PG_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"
# Speed over durability: the data lives for one test. (full_page_writes stays on: a base
# backup needs it; synchronous_commit too, so that a commit's WAL is flushed — sent to
# the standby — when it returns, as in production.)
SERVER_SETTINGS = ["fsync=off", "listen_addresses=127.0.0.1", "max_wal_senders=4"]


class ClusterError(RuntimeError):
    """A server command failed; the message carries its output and the server's log."""


def missing_tools() -> list[str]:
    """What this machine lacks to run the pair (empty when nothing is missing)."""
    missing = [str(BIN_DIR / name) for name in ("initdb", "pg_ctl", "pg_basebackup") if not (BIN_DIR / name).exists()]
    if shutil.which("runuser") is None:
        missing.append("runuser")
    return missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """One PostgreSQL server (a data folder, a port), run as the postgres OS user."""

    def __init__(self, root: Path, name: str) -> None:
        self.root = root
        self.name = name
        self.data = root / name
        self.log = root / f"{name}.log"
        self.port = free_port()

    def url(self, database: str) -> str:
        return f"postgres://{OS_USER}@127.0.0.1:{self.port}/{database}"

    def run(self, *command: str, timeout: float = 60) -> str:
        """Run a PostgreSQL program as the postgres user; its output, or ClusterError."""
        args = ["runuser", "-u", OS_USER, "--", str(BIN_DIR / command[0]), *command[1:]]
        result = subprocess.run(args, cwd=self.root, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise ClusterError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}\n{self.name}.log:\n{log}")
        return result.stdout

    def initdb(self) -> None:
        self.run("initdb", "-D", str(self.data), "--auth=trust", f"--username={OS_USER}", "--no-sync", "-E", "UTF8")

    def start(self, *extra_settings: str) -> None:
        options = [f"-p {self.port}", f"-k {self.root}"]
        options += [f"-c {setting}" for setting in (*SERVER_SETTINGS, *extra_settings)]
        self.run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "-o", " ".join(options), "start"
        )

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def stop_command(self) -> list[str]:
        """The command that stops this server, for another process to run."""
        return ["runuser", "-u", OS_USER, "--", str(BIN_DIR / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"]

    def kill(self) -> None:
        """SIGKILL the postmaster if it still runs (its children die with it)."""
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return
        with contextlib.suppress(ValueError, ProcessLookupError, OSError):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)


class ReplicatedPair:
    """A primary and its hot standby, on free ports, in a temporary folder."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="baton-replica-"))
        shutil.chown(self.root, user=OS_USER)
        self.root.chmod(0o700)
        self.primary = Cluster(self.root, "primary")
        self.standby = Cluster(self.root, "standby")

    def start_primary(self, database: str) -> None:
        self.primary.initdb()
        self.primary.start("wal_level=replica")
        self.primary.run("createdb", "-h", "127.0.0.1", "-p", str(self.primary.port), "-U", OS_USER, database)

    def start_standby(self) -> None:
        """Copy the primary (a base backup that streams its WAL and writes standby.signal
        and primary_conninfo: -R) and start the copy as a hot standby."""
        self.primary.run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.primary.port),
            "-U",
            OS_USER,
            "-D",
            str(self.standby.data),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
        )
        self.standby.start("hot_standby=on")

    def destroy(self) -> None:
        """Stop both servers however they are, and delete their folder."""
        for cluster in (self.standby, self.primary):
            with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
                cluster.run("pg_ctl", "-D", str(cluster.data), "-m", "immediate", "-w", "-t", "10", "stop")
            cluster.kill()
        shutil.rmtree(self.root, ignore_errors=True)
