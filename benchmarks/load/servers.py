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
        #: What the workers print (Django's ``django.request`` errors, with their tracebacks).
        self.output_path = log.with_suffix(".out")
        self.output = self.output_path.open("w", encoding="utf-8")
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
            stdout=self.output,
            stderr=subprocess.STDOUT,
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
        self.output.close()


def locust_command(*, classes: list[str], users: int, seconds: int, host: str, csv: Path) -> list[str]:
    return [
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


def run_locust(
    *, classes: list[str], users: int, seconds: int, host: str, csv: Path, env: dict[str, str], log: Path
) -> int:
    """locust headless over ``host`` for ``seconds``; its stats in ``<csv>_stats.csv``. Its exit status."""
    command = locust_command(classes=classes, users=users, seconds=seconds, host=host, csv=csv)
    with log.open("w", encoding="utf-8") as handle:
        return subprocess.run(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT).returncode


class RedisServer:
    """A ``redis-server`` of the run's own on a free loopback port (no persistence), that the fault run stops
    and starts again; never the Redis other things use."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("redis-server") is None:
            sys.exit("The fault run needs redis-server (apt-get install redis-server).")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.pidfile = folder / f"redis_{self.port}.pid"
        self.start()

    def start(self) -> None:
        import redis

        command = [part.format(port=self.port) for part in REDIS_COMMAND] + ["--pidfile", str(self.pidfile)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        for _ in range(50):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        sys.exit(f"redis-server did not answer at {self.url}")

    def stop(self) -> None:
        """``redis-cli shutdown nosave``, or the same through redis-py when redis-cli is missing."""
        if shutil.which("redis-cli"):
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        else:
            stop_redis(self.url)
        deadline = time.monotonic() + 10
        while self.pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


class PgBouncer:
    """PgBouncer in transaction pooling mode on a free loopback port, in front of ``postgres`` (any database
    of it: ``* = host=... port=...``), with its config, log and socket in ``folder``. Run as the ``postgres``
    user when started as root (PgBouncer refuses root)."""

    def __init__(self, postgres: Postgres, folder: Path, pool_size: int = 10) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            sys.exit("--pgbouncer needs pgbouncer (apt-get install pgbouncer).")
        self.port = free_port()
        self.folder = folder / "pgbouncer"
        self.folder.mkdir()
        users = self.folder / "users.txt"
        users.write_text(f'"{postgres.user}" "{postgres.password}"\n', encoding="utf-8")
        config = self.folder / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = host={postgres.host} port={postgres.port}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\n"
            f"unix_socket_dir = {self.folder}\n"
            "auth_type = trust\n"
            f"auth_file = {users}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 200\n"
            f"logfile = {self.folder / 'pgbouncer.log'}\n"
            "ignore_startup_parameters = extra_float_digits,options\n",
            encoding="utf-8",
        )
        command = [binary, str(config)]
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam("postgres")
            os.chown(folder, entry.pw_uid, entry.pw_gid)
            for path in (self.folder, users, config):
                os.chown(path, entry.pw_uid, entry.pw_gid)
            command = [binary, "-u", "postgres", str(config)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"pgbouncer ended at start; see {self.folder / 'pgbouncer.log'}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.1)
        self.stop()
        sys.exit("pgbouncer did not listen in 10 s")

    def version(self) -> str:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=False).stdout
        return out.splitlines()[0] if out else "PgBouncer ?"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
