"""The example project under load, then what the database says about it. One command, from the repository
root (``benchmarks/README.md``, "The example project under load"):

    python -m benchmarks.load                                     # about 3 minutes on 2 cores
    python -m benchmarks.load --workers 1,2,4 --seconds 60 --output benchmarks/load_results.md

For each number of gunicorn workers (1, then 4): a fresh PostgreSQL database (``convites_load_<pid>_<n>w``,
dropped at the end unless ``--keep``), ``migrate`` and the users (:mod:`benchmarks.load.world`), gunicorn
serving the example project with :mod:`benchmarks.load.settings` (PostgreSQL, Redis as the cache, debug
off), locust headless with the mixed load for ``--seconds``, then the invariants
(:mod:`benchmarks.load.invariants`) read from the database; then gunicorn again, and the same tiny view
behind DRF's ``TokenAuthentication``, our API token and our JWT, each alone for ``--compare-seconds``, in
``--compare-rounds`` rounds. Redis is started
on loopback when none answers at ``--redis`` (and stopped at the end). Exit status 1 when an invariant
fails or a request got a status the load does not expect. A missing tool (gunicorn, locust, redis-py,
psycopg) is installed first into the running environment (``pip install -e ".[postgres,example]" --group
load``); with ``--no-install`` the command stops with status 2 instead.

``seed`` and ``check`` are the run's child processes (each needs Django set up on the run's database).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

from benchmarks.load.report import (
    Phase,
    compare_table,
    database_table,
    findings_table,
    mixed_table,
    outcomes_table,
    read_stats,
)
from benchmarks.load.servers import ROOT, Gunicorn, Postgres, child_env, ensure_redis, run_locust, stop_redis

#: What the run imports (module: the package that brings it).
NEEDED = {
    "django": "django",
    "rest_framework": "djangorestframework",
    "dj_database_url": "dj-database-url",
    "gunicorn": "gunicorn",
    "locust": "locust",
    "redis": "redis",
    "psycopg": "psycopg[binary]",
}
MIXED = ["Issuer", "Member", "Newcomer", "TwoFactor"]
COMPARE = ["CompareDrfToken", "CompareApiToken", "CompareJwt"]


def seed_main(args: argparse.Namespace) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    from benchmarks.load.world import build_world

    call_command("migrate", verbosity=0)
    world = build_world(issuers=args.issuers, members=args.members, totp_users=args.totp_users)
    Path(args.out).write_text(json.dumps(world), encoding="utf-8")


def check_main(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from benchmarks.load.invariants import check_all

    client = json.loads(Path(args.client).read_text(encoding="utf-8")) if Path(args.client).exists() else None
    findings = check_all(client)
    Path(args.out).write_text(
        json.dumps([{"name": f.name, "ok": f.ok, "detail": f.detail} for f in findings]), encoding="utf-8"
    )


def child(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "benchmarks.load", *args], cwd=ROOT, env=env, check=True)


def missing_tools() -> list[str]:
    return [package for module, package in NEEDED.items() if importlib.util.find_spec(module) is None]


def install_tools(missing: list[str]) -> None:
    """Install the ``load`` dependency group (and the package with its PostgreSQL and example extras) into
    the running interpreter's environment, with a pip that reads dependency groups."""
    print("Installing " + ", ".join(missing) + " (the load dependency group) ...", file=sys.stderr, flush=True)
    root = Path(__file__).resolve().parents[2]
    for command in (
        [sys.executable, "-m", "pip", "install", "--quiet", "pip>=25.1"],
        [sys.executable, "-m", "pip", "install", "--quiet", "-e", ".[postgres,example]", "--group", "load"],
    ):
        subprocess.run(command, cwd=root, check=True)
    importlib.invalidate_caches()


def run_phase(
    label: str,
    classes: list[str],
    workers: int,
    seconds: int,
    args: argparse.Namespace,
    env: dict[str, str],
    folder: Path,
    server: Gunicorn,
) -> Phase:
    """locust with ``classes`` for ``seconds`` against ``server``: its stats, and what the client saw (the
    statuses, the statements each response said it ran)."""
    print(f"[{workers} worker(s)] {label}: locust, {args.users} users, {seconds} s", flush=True)
    client = folder / f"client_{workers}w_{label}.json"
    run_locust(
        classes=classes,
        users=args.users,
        seconds=seconds,
        host=server.url,
        csv=folder / f"{label}_{workers}w",
        env={**env, "LOAD_CLIENT_OUT": str(client)},
        log=folder / f"locust_{workers}w_{label}.log",
    )
    phase = Phase(read_stats(folder / f"{label}_{workers}w_stats.csv"))
    if client.exists():
        seen = json.loads(client.read_text(encoding="utf-8"))
        phase.outcomes = seen.get("outcomes", {})
        phase.queries = seen.get("queries", {})
    return phase


def measure(
    workers: int, args: argparse.Namespace, pg: Postgres, folder: Path
) -> tuple[Phase, dict[str, list[Phase]], list[dict]]:
    dbname = f"convites_load_{os.getpid()}_{workers}w"
    pg.create(dbname)
    try:
        env = child_env(
            {
                "DATABASE_URL": pg.url(dbname),
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_DEBUG": "0",
                "LOAD_REDIS_URL": args.redis,
                "LOAD_CACHE_PREFIX": f"convites-load-{dbname}",
                "LOAD_INVITES_PER_DAY": str(args.quota),
                "LOAD_WORLD": str(folder / f"world_{workers}w.json"),
            }
        )
        print(f"[{workers} worker(s)] migrate and users in {dbname}", flush=True)
        child(
            "seed",
            "--out",
            env["LOAD_WORLD"],
            "--issuers",
            str(args.issuers),
            "--members",
            str(args.members),
            "--totp-users",
            str(args.totp_users),
            env=env,
        )
        before = pg.counters(dbname)
        server = Gunicorn(workers, env, folder / f"gunicorn_{workers}w_mixed.log")
        try:
            mixed = run_phase("mixed", MIXED, workers, args.seconds, args, env, folder, server)
        finally:
            server.stop()
        time.sleep(1)  # gunicorn's connections have closed: their statistics are flushed
        after = pg.counters(dbname)
        mixed.transactions = after["transactions"] - before["transactions"]
        mixed.rows_read = after["returned"] + after["fetched"] - before["returned"] - before["fetched"]
        mixed.rows_written = after["written"] - before["written"]
        print(f"[{workers} worker(s)] invariants", flush=True)
        client = folder / f"client_{workers}w_mixed.json"
        child("check", "--client", str(client), "--out", str(folder / f"findings_{workers}w.json"), env=env)
        compared: dict[str, list[Phase]] = {name: [] for name in COMPARE}
        server = Gunicorn(workers, env, folder / f"gunicorn_{workers}w_compare.log")
        try:
            for round_ in range(args.compare_rounds):
                order = COMPARE[round_ % len(COMPARE) :] + COMPARE[: round_ % len(COMPARE)]
                for name in order:
                    phase = run_phase(
                        f"{name}_{round_}", [name], workers, args.compare_seconds, args, env, folder, server
                    )
                    compared[name].append(phase)
        finally:
            server.stop()
        findings = json.loads((folder / f"findings_{workers}w.json").read_text(encoding="utf-8"))
        return mixed, compared, findings
    finally:
        if not args.keep:
            pg.drop(dbname)


def versions(pg: Postgres) -> str:
    import redis

    server = redis.Redis.from_url(os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/0"))
    try:
        redis_version = server.info().get("redis_version", "?")
    except redis.RedisError:
        redis_version = "?"
    names = ["django", "djangorestframework", "django-otp", "pyjwt", "psycopg", "gunicorn", "locust", "redis"]
    packages = ", ".join(f"{name} {version(name)}" for name in names)
    return (
        f"Python {platform.python_version()}, {packages}; PostgreSQL {pg.version()}, Redis server {redis_version}; "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs (gunicorn, PostgreSQL, Redis and locust share them)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    seed = sub.add_parser("seed")
    seed.add_argument("--out", required=True)
    seed.add_argument("--issuers", type=int, default=10)
    seed.add_argument("--members", type=int, default=40)
    seed.add_argument("--totp-users", type=int, default=30)
    check = sub.add_parser("check")
    check.add_argument("--client", required=True)
    check.add_argument("--out", required=True)
    parser.add_argument("--workers", default="1,4", help="gunicorn worker counts, comma-separated (default 1,4)")
    parser.add_argument("--seconds", type=int, default=30, help="the mixed load per worker count (default 30)")
    parser.add_argument("--compare-seconds", type=int, default=5, help="each run of each authentication (default 5)")
    parser.add_argument(
        "--compare-rounds", type=int, default=3, help="runs of each authentication, in turn (default 3)"
    )
    parser.add_argument("--users", type=int, default=24, help="concurrent locust users (default 24)")
    parser.add_argument("--issuers", type=int, default=10)
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--totp-users", type=int, default=30)
    parser.add_argument("--quota", type=int, default=40, help="INVITES_PER_DAY of the run (default 40)")
    parser.add_argument("--redis", default=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--no-install", action="store_true", help="stop (status 2) instead of installing a missing tool"
    )
    parser.add_argument("--output", help="also write the report to this Markdown file")
    args = parser.parse_args()
    if args.command == "seed":
        return seed_main(args)
    if args.command == "check":
        return check_main(args)

    missing = missing_tools()
    if missing and not args.no_install:
        install_tools(missing)
        missing = missing_tools()
    if missing:
        print(
            "Missing: " + ", ".join(missing) + ". Install them with\n"
            '    python -m pip install -e ".[postgres,example]" --group load\n'
            "(pip 25.1 or later reads dependency groups; or: python -m pip install " + " ".join(missing) + ")",
            file=sys.stderr,
        )
        sys.exit(2)
    pg = Postgres()
    started_redis = ensure_redis(args.redis)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    mixed: dict[int, Phase] = {}
    compared: dict[int, dict[str, list[Phase]]] = {}
    findings: dict[int, list[dict]] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="convites-load-") as tmp:
            for workers in counts:
                mixed[workers], compared[workers], findings[workers] = measure(workers, args, pg, Path(tmp))
            text = report(mixed, compared, findings, args, pg)
    finally:
        if started_redis:
            stop_redis(args.redis)
    print(text)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    failed = [item["name"] for items in findings.values() for item in items if not item["ok"]]
    unexpected = sum(phase.total.failures for phase in mixed.values()) + sum(
        phase.total.failures for runs in compared.values() for phases in runs.values() for phase in phases
    )
    if failed or unexpected:
        print(f"FAILED: {len(failed)} invariant(s), {unexpected} unexpected response(s)", file=sys.stderr)
        sys.exit(1)


def report(
    mixed: dict[int, Phase],
    compared: dict[int, Phase],
    findings: dict[int, list[dict]],
    args: argparse.Namespace,
    pg: Postgres,
) -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {now} with `python -m benchmarks.load --workers {args.workers} --seconds {args.seconds} --compare-seconds "
        f"{args.compare_seconds} --compare-rounds {args.compare_rounds} --users {args.users}`.",
        "",
        versions(pg) + ".",
        "",
        f"gunicorn sync workers, PostgreSQL, Redis cache, debug off; {args.users} locust users with no wait "
        f"for {args.seconds} s per worker count; {args.issuers} issuers with a quota of "
        f"{args.quota} invites a day, {args.members} members, {args.totp_users} users with TOTP. Latencies in ms, "
        "as locust measures them (it shares the CPUs with the server).",
        "",
        "**Mixed load, per endpoint**",
        "",
        *mixed_table(mixed),
        "",
        "What the database did (`pg_stat_database` of the run's database, from gunicorn's start to its end; "
        "a transaction is one statement in autocommit or one `atomic` block, so it counts queries from below):",
        "",
        *database_table(mixed, "mixed"),
        "",
        "Responses by status (the client's count; 409, 410, 429 and 401 `otp_invalid` are what racing clients must get):",
        "",
        *outcomes_table(mixed),
        "",
        "**Invariants, read from the database after the mixed load**",
        "",
        *findings_table(findings),
        "",
        "**The same tiny view behind three authentications**",
        "",
        f'`GET` of a view that returns `{{"ok": true}}`, each authentication alone with {args.users} locust users '
        f"for {args.compare_seconds} s, one after the other on the same gunicorn; {args.compare_rounds} rounds of the "
        "three in turn (the order rotates). The median over the rounds, and in brackets the lowest and highest; "
        "SQL statements per request as the server counted them (`X-Load-Queries`):",
        "",
        *compare_table(compared),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
