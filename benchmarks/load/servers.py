"""The servers a run uses, all on loopback: a PostgreSQL database of its own on the running server, Redis
(started when none answers), gunicorn serving the example project, and locust driving it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REDIS_COMMAND = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "--port",
    "{port}",
    "--save",
    "",
    "--appendonly",
    "no",
]


@dataclass(frozen=True)
class Postgres:
    host: str = os.environ.get("PGHOST", "127.0.0.1")
    port: int = int(os.environ.get("PGPORT", "5432"))
    user: str = os.environ.get("PGUSER", "postgres")
    password: str = os.environ.get("PGPASSWORD", "")

    def connect(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password or None,
            dbname=dbname,
            autocommit=True,
        )

    def url(self, dbname: str) -> str:
        auth = self.user + (f":{self.password}" if self.password else "")
        return f"postgres://{auth}@{self.host}:{self.port}/{dbname}"

    def create(self, dbname: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
            conn.execute(f'CREATE DATABASE "{dbname}"')

    def drop(self, dbname: str) -> None:
        with self.connect() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')

    def counters(self, dbname: str) -> dict[str, int]:
        """``pg_stat_database`` of ``dbname``: transactions and rows read and written so far."""
        with self.connect() as conn:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            row = conn.execute(
                "SELECT xact_commit + xact_rollback, tup_returned, tup_fetched, "
                "tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = %s",
                [dbname],
            ).fetchone()
        assert row is not None
        return dict(zip(("transactions", "returned", "fetched", "written"), map(int, row), strict=True))

    def version(self) -> str:
        with self.connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"


def ensure_redis(url: str) -> bool:
    """Make sure Redis answers at ``url``; start ``redis-server`` on loopback if it does not. True when this
    run started it (and so stops it at the end)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.ping()
        return False
    except redis.ConnectionError:
        pass
    port = client.connection_pool.connection_kwargs.get("port", 6379)
    if shutil.which("redis-server") is None:
        sys.exit(f"Redis does not answer at {url} and redis-server is not installed.")
    subprocess.run([part.format(port=port) for part in REDIS_COMMAND], check=True)
    for _ in range(50):
        try:
            client.ping()
            return True
        except redis.ConnectionError:
            time.sleep(0.1)
    sys.exit(f"redis-server did not answer at {url}")


def stop_redis(url: str) -> None:
    import redis

    with contextlib.suppress(redis.ConnectionError):  # shutting down closes the connection
        redis.Redis.from_url(url).shutdown(nosave=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment of every child: this one, the repository and the example project on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVITES_WEBHOOK")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "example_project"), env.get("PYTHONPATH", "")])
    env["DJANGO_SETTINGS_MODULE"] = "benchmarks.load.settings"
    env.update(extra)
    return env


class Gunicorn:
    """``gunicorn example_project.wsgi`` with ``workers`` sync workers on a free loopback port."""

    def __init__(self, workers: int, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "example_project.wsgi:application",
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--error-logfile",
                str(log),
                "--log-level",
                "warning",
                "--max-requests",
                "0",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
        )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"gunicorn ended at start; see {self.log}")
            try:
                urllib.request.urlopen(f"{self.url}/api/", timeout=2)
                return
            except urllib.error.HTTPError:
                return  # it answered
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit(f"gunicorn did not answer in 30 s; see {self.log}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def run_locust(
    *, classes: list[str], users: int, seconds: int, host: str, csv: Path, env: dict[str, str], log: Path
) -> int:
    """locust headless over ``host`` for ``seconds``; its stats in ``<csv>_stats.csv``. Its exit status."""
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(ROOT / "benchmarks" / "load" / "locustfile.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--host",
        host,
        "--csv",
        str(csv),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
        *classes,
    ]
    with log.open("w", encoding="utf-8") as handle:
        return subprocess.run(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT).returncode
