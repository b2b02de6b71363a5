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

``--faults`` adds the fault run (:mod:`benchmarks.load.faults`: a Redis of the run's own stopped and started
again, the workers' PostgreSQL connections cut), ``--clock-skew SECONDS`` two servers, one with libfaketime
that many seconds ahead, ``--pgbouncer`` the normal runs through PgBouncer in transaction pooling mode;
``--no-mixed`` skips the normal runs.

``seed`` and ``check`` are the run's child processes (each needs Django set up on the run's database).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
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
from benchmarks.load.servers import (
    ROOT,
    Gunicorn,
    PgBouncer,
    Postgres,
    RedisServer,
    child_env,
    ensure_redis,
    locust_command,
    run_locust,
    stop_redis,
)

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
STEP = 30  # seconds of a TOTP step
FAULT_MIXED = ["Issuer", "FaultMember", "Newcomer", "TwoFactor"]
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


def seed(args: argparse.Namespace, env: dict[str, str]) -> None:
    """``migrate`` and the run's users on the run's database, written to ``env["LOAD_WORLD"]``."""
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
    bouncer: PgBouncer | None = args.bouncer
    try:
        env = child_env(
            {
                "DATABASE_URL": dataclasses.replace(pg, port=bouncer.port).url(dbname) if bouncer else pg.url(dbname),
                **({"LOAD_PGBOUNCER": "1"} if bouncer else {}),
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_DEBUG": "0",
                "LOAD_REDIS_URL": args.redis,
                "LOAD_CACHE_PREFIX": f"convites-load-{dbname}",
                "LOAD_INVITES_PER_DAY": str(args.quota),
                "LOAD_WORLD": str(folder / f"world_{workers}w.json"),
            }
        )
        print(f"[{workers} worker(s)] migrate and users in {dbname}", flush=True)
        seed(args, env)
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


def cut_connections(pg: Postgres, dbname: str) -> int:
    """Terminate every other backend of ``dbname`` (gunicorn's connections, mid-request or idle): how many."""
    with pg.connect() as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [dbname],
        ).fetchall()
    return sum(1 for (done,) in rows if done)


#: The last line of a Python traceback: the exception and its message.
EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit)\b.*)$", re.MULTILINE)


def run_faults(args: argparse.Namespace, pg: Postgres, folder: Path) -> dict:
    """The mixed load (with :class:`~benchmarks.load.locustfile.FaultMember`) on ``--fault-workers`` gunicorn
    workers, a Redis of the run's own and a database of its own: ``--fault-seconds`` of normal load, Redis
    stopped for as long, started again for as long, then the workers' connections cut ``--cuts`` times
    over as long, and as long again after. What each response was in each stretch
    (:mod:`benchmarks.load.faults`), what the workers logged, and the invariants."""
    from benchmarks.load import faults

    stretch = args.fault_seconds
    workers = args.fault_workers
    dbname = f"convites_load_{os.getpid()}_faults"
    pg.create(dbname)
    own_redis = RedisServer(folder)
    server: Gunicorn | None = None
    locust: subprocess.Popen | None = None
    try:
        client = folder / "client_faults.json"
        env = child_env(
            {
                "DATABASE_URL": pg.url(dbname),
                "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
                "DJANGO_DEBUG": "0",
                "LOAD_REDIS_URL": own_redis.url,
                "LOAD_CACHE_PREFIX": f"convites-load-{dbname}",
                "LOAD_INVITES_PER_DAY": str(args.fault_quota),
                "LOAD_WORLD": str(folder / "world_faults.json"),
                "LOAD_TIMELINE": "1",
                "LOAD_CLIENT_OUT": str(client),
            }
        )
        print(f"[faults] migrate and users in {dbname}; Redis of the run at {own_redis.url}", flush=True)
        seed(args, env)
        server = Gunicorn(workers, env, folder / "gunicorn_faults.log")
        warmup = 3  # locust's start
        seconds = warmup + 5 * stretch
        # Redis stops 3 s before a TOTP step begins: every account's code of that step is refused while
        # it is down (not spent), and accepted once it is back.
        time.sleep((STEP - 3 - (time.time() + warmup + stretch)) % STEP)
        command = locust_command(
            classes=FAULT_MIXED, users=args.users, seconds=seconds, host=server.url, csv=folder / "faults"
        )
        log = (folder / "locust_faults.log").open("w", encoding="utf-8")
        print(f"[faults] {workers} workers, locust {args.users} users, {seconds} s", flush=True)
        locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        marks: dict[str, float] = {}
        time.sleep(warmup + stretch)
        print("[faults] Redis: shutdown nosave", flush=True)
        marks[faults.REDIS_DOWN] = time.time()
        own_redis.stop()
        time.sleep(stretch)
        own_redis.start()
        marks[faults.REDIS_BACK] = time.time()
        print("[faults] Redis started again", flush=True)
        time.sleep(stretch)
        marks[faults.DB_CUT] = time.time()
        cut = []
        for n in range(args.cuts):
            cut.append(cut_connections(pg, dbname))
            if n < args.cuts - 1:
                time.sleep(stretch / args.cuts)
        print(f"[faults] cut the workers' connections {args.cuts} times: {cut} backends", flush=True)
        time.sleep(1)  # the requests that were running when the last cut came
        marks[faults.AFTER] = time.time()
        try:
            locust.wait(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            locust.kill()
            locust.wait()
        log.close()
        server.stop()
        output = server.output_path.read_text(encoding="utf-8", errors="replace")
        gunicorn_log = server.log.read_text(encoding="utf-8", errors="replace")
        server = None
        print("[faults] invariants", flush=True)
        child("check", "--client", str(client), "--out", str(folder / "findings_faults.json"), env=env)
        seen = json.loads(client.read_text(encoding="utf-8")) if client.exists() else {}
        windows = faults.classify(seen.get("timeline") or [], marks)
        exceptions = Counter(match.group(1)[:160] for match in EXCEPTION_LINE.finditer(output))
        return {
            "windows": windows,
            "checks": faults.verdict(windows),
            "findings": json.loads((folder / "findings_faults.json").read_text(encoding="utf-8")),
            "cut": cut,
            "exceptions": exceptions,
            "worker_timeouts": gunicorn_log.count("WORKER TIMEOUT"),
            "workers": workers,
            "stretch": stretch,
        }
    finally:
        if locust is not None and locust.poll() is None:
            locust.kill()
            locust.wait()
        if server is not None:
            server.stop()
        own_redis.stop()
        if not args.keep:
            pg.drop(dbname)


def command_line() -> str:
    return " ".join(["python -m benchmarks.load", *sys.argv[1:]])


def faults_report(result: dict, args: argparse.Namespace) -> list[str]:
    from benchmarks.load.faults import fault_table, verdict_table

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    s = result["stretch"]
    exceptions = result["exceptions"]
    logged = "; ".join(f"`{line}` ×{n}" for line, n in exceptions.most_common(8)) or "nothing"
    return [
        "**Faults: Redis stopped, database connections cut**",
        "",
        f"Measured {now} with `{command_line()}` (`--fault-workers {result['workers']} --fault-seconds {s} "
        f"--cuts {args.cuts} --fault-quota {args.fault_quota} --users {args.users}`).",
        "",
        f"{result['workers']} gunicorn workers, PostgreSQL, a Redis server of the run's own; {args.users} locust users "
        f"with the mixed load (members also log in again now and then; a quota of {args.fault_quota} invites a day, so "
        "that invites are issued and used throughout). After 3 s of start and "
        f"{s} s of load, Redis is shut down (`redis-cli shutdown nosave`) for {s} s, started again (empty) for {s} s; "
        f"then every PostgreSQL backend of the run's database is terminated (`pg_terminate_backend`) {args.cuts} "
        f"times over {s} s ({', '.join(map(str, result['cut']))} backends), and the load goes on {s} s more. "
        "Each response is counted in the stretch of time it arrived in.",
        "",
        "**Responses by stretch**",
        "",
        *fault_table(result["windows"]),
        "",
        "**Checks**",
        "",
        *verdict_table(result["checks"]),
        "",
        f"What the workers logged (the last line of each traceback): {logged}. gunicorn worker timeouts: "
        f"{result['worker_timeouts']}.",
        "",
        "**Invariants, read from the database after the faults**",
        "",
        *findings_table({result["workers"]: result["findings"]}),
        "",
    ]


def _call(url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read() or b"{}")
        except ValueError:
            return error.code, {}


def run_clock_skew(args: argparse.Namespace, pg: Postgres, folder: Path) -> list[dict]:
    """Two gunicorns on one database and one Redis, one of them under libfaketime ``--clock-skew`` seconds
    ahead: access tokens minted by each, used on the other (``GET /api/auth/sessoes/``), and refresh tokens
    of each refreshed on the other, with ``JWT_LEEWAY`` 0 (the default) and then the skew plus 10 s."""
    import glob

    # libfaketime preloaded into gunicorn itself (not the faketime wrapper, which would stand between the
    # run and gunicorn's master and keep the TERM that stops it from reaching it).
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob("/usr/lib/faketime/libfaketime.so.1"))
    if not found:
        sys.exit("--clock-skew needs libfaketime (apt-get install faketime)")
    dbname = f"convites_load_{os.getpid()}_skew"
    pg.create(dbname)
    own_redis = RedisServer(folder)
    rows = []
    try:
        base = {
            "DATABASE_URL": pg.url(dbname),
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_DEBUG": "0",
            "LOAD_REDIS_URL": own_redis.url,
            "LOAD_CACHE_PREFIX": f"convites-load-{dbname}",
            "LOAD_WORLD": str(folder / "world_skew.json"),
        }
        child(
            "seed",
            "--out",
            base["LOAD_WORLD"],
            "--issuers",
            "1",
            "--members",
            "10",
            "--totp-users",
            "0",
            env=child_env(base),
        )
        members = json.loads(Path(base["LOAD_WORLD"]).read_text(encoding="utf-8"))["members"]
        for leeway in (0, args.clock_skew + 10):
            env = child_env({**base, "LOAD_JWT_LEEWAY": str(leeway)})
            fast_env = {**env, "LD_PRELOAD": found[0], "FAKETIME": f"+{args.clock_skew}s"}
            true = Gunicorn(1, env, folder / f"gunicorn_skew_true_{leeway}.log")
            ahead = Gunicorn(1, fast_env, folder / f"gunicorn_skew_ahead_{leeway}.log")
            try:
                for minted, used, label in ((ahead, true, "ahead → true"), (true, ahead, "true → ahead")):
                    seen: Counter[str] = Counter()
                    refreshed: Counter[str] = Counter()
                    for me in members:
                        status, pair = _call(
                            f"{minted.url}/api/auth/token/", {"username": me["username"], "password": me["password"]}
                        )
                        if status != 200:
                            seen[f"login {status}"] += 1
                            continue
                        status, body = _call(f"{used.url}/api/auth/sessoes/", token=pair["access"])
                        seen[f"{status} {body.get('code', '')}".strip()] += 1
                        status, body = _call(f"{used.url}/api/auth/token/refresh/", {"refresh": pair["refresh"]})
                        refreshed[f"{status} {body.get('code', '')}".strip()] += 1
                    rows.append(
                        {"leeway": leeway, "direction": label, "access": dict(seen), "refresh": dict(refreshed)}
                    )
            finally:
                true.stop()
                ahead.stop()
    finally:
        own_redis.stop()
        if not args.keep:
            pg.drop(dbname)
    return rows


def skew_report(rows: list[dict], args: argparse.Namespace) -> list[str]:
    def counts(c: dict) -> str:
        return ", ".join(f"{k} ×{n}" for k, n in sorted(c.items()))

    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "**Clock skew between two servers**",
        "",
        f"Measured {now} with `{command_line()}`. "
        f"Two gunicorns (1 worker each) on one database and one Redis, one under libfaketime `FAKETIME=+{args.clock_skew}s`; "
        "10 members log in on one, then use the access token on the other (`GET /api/auth/sessoes/`) and "
        "refresh there.",
        "",
        "| `JWT_LEEWAY` | minted on → used on | access token | refresh |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['leeway']} s | {row['direction']} | {counts(row['access'])} | {counts(row['refresh'])} |")
    return [*lines, ""]


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
    parser.add_argument(
        "--faults", action="store_true", help="also run the fault scenario: Redis stopped, connections cut"
    )
    parser.add_argument("--no-mixed", action="store_true", help="skip the normal runs (with --faults)")
    parser.add_argument("--fault-workers", type=int, default=2, help="gunicorn workers of the fault run (2)")
    parser.add_argument("--fault-seconds", type=int, default=8, help="each stretch of the fault run (8 s)")
    parser.add_argument(
        "--fault-quota", type=int, default=1000, help="INVITES_PER_DAY of the fault run: invites to use throughout"
    )
    parser.add_argument("--cuts", type=int, default=3, help="times the fault run cuts the connections (3)")
    parser.add_argument(
        "--clock-skew",
        type=int,
        default=0,
        metavar="SECONDS",
        help="also run two gunicorns, one under faketime SECONDS ahead, and use the tokens of each on the other",
    )
    parser.add_argument(
        "--pgbouncer", action="store_true", help="the normal runs through PgBouncer in transaction pooling mode"
    )
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
    counts = [] if args.no_mixed else [int(n) for n in args.workers.split(",") if n.strip()]
    started_redis = ensure_redis(args.redis) if counts else False
    mixed: dict[int, Phase] = {}
    compared: dict[int, dict[str, list[Phase]]] = {}
    findings: dict[int, list[dict]] = {}
    fault: dict | None = None
    text = ""
    args.bouncer = None
    try:
        with tempfile.TemporaryDirectory(prefix="convites-load-") as tmp:
            if args.pgbouncer and counts:
                args.bouncer = PgBouncer(pg, Path(tmp))
            try:
                for workers in counts:
                    mixed[workers], compared[workers], findings[workers] = measure(workers, args, pg, Path(tmp))
            finally:
                if args.bouncer:
                    args.bouncer_version = args.bouncer.version()
                    args.bouncer.stop()
            if counts:
                text = report(mixed, compared, findings, args, pg)
            if args.faults:
                fault = run_faults(args, pg, Path(tmp))
                text += ("\n" if text else "") + "\n".join(faults_report(fault, args))
            if args.clock_skew:
                text += ("\n" if text else "") + "\n".join(skew_report(run_clock_skew(args, pg, Path(tmp)), args))
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
    if fault is not None:
        failed += [item["name"] for item in fault["findings"] if not item["ok"]]
        failed += [what for what, ok, _ in fault["checks"] if not ok]
    if failed or unexpected:
        print(f"FAILED: {len(failed)} check(s) {failed}, {unexpected} unexpected response(s)", file=sys.stderr)
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
        f"{args.compare_seconds} --compare-rounds {args.compare_rounds} --users {args.users}"
        f"{' --pgbouncer' if args.pgbouncer else ''}`.",
        "",
        versions(pg) + ".",
        "",
        *(
            [
                f"Through {getattr(args, 'bouncer_version', 'PgBouncer')} in transaction pooling mode "
                "(`--pgbouncer`: `pool_mode = transaction`, `default_pool_size = 10`; Django with "
                '`DISABLE_SERVER_SIDE_CURSORS` and `OPTIONS["prepare_threshold"] = None`).',
                "",
            ]
            if args.pgbouncer
            else []
        ),
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
