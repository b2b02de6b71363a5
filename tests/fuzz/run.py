"""Fuzz the JSON API with schemathesis against the example project, as each kind of client.

Run it from the repository root (``tox -e fuzz`` does)::

    python tests/fuzz/run.py [--max-examples 15] [--phase-timeout 240] [--seed 20251207] [--keep]

What it does:

1. Makes a fresh SQLite database in a temporary folder and fills it as the demo does (``migrate``,
   ``demo_data``): the users ``root``, ``admin``, ``gestor`` and ``usuario`` (password ``demo12345``), an
   organization and its nuclei.
2. For each phase, serves the example project with ``runserver --noreload`` on a free loopback port, with
   debug off (so errors are the API's JSON, never Django's debug pages), a secret key of its own, and mail
   written to files; fetches the OpenAPI schema it serves (``/api/schema/``) and runs ``schemathesis run``
   against it. The phases: anonymously, then authenticated as each role with ``Authorization: Bearer`` and
   a JWT access token got from ``POST /api/auth/token/``. Every operation, every schemathesis test phase
   (examples, coverage, fuzzing, stateful, which follows the schema's links from a new invite or API token
   to the operations on it), positive and negative data, and the checks ``not_a_server_error``,
   ``status_code_conformance``, ``content_type_conformance`` and ``response_schema_conformance``: no 5xx
   but the documented 503s, and every answer's status, content type and body as the schema says.
3. The anonymous phase runs on the example project's own settings, its rate limits included, so the 429
   answers are fuzzed too. The authenticated phases run on ``tests/fuzz/settings.py``, the same site with
   the rate limits and the daily invite quota off: otherwise most of their requests would be answered 429
   before any logic runs.
4. Before each phase, puts the demo data back (``demo_data``: passwords, groups) and empties the cache (the
   throttles' counters), and the phase logs in anew: what a phase did (ending its own session, revoking
   tokens, locking a two-factor code, spending a throttle's budget) does not reach the next one.

Nothing is excluded: no operation and no check of the four. The budget is fixed: ``--max-examples`` test
cases per operation and test phase, and ``--phase-timeout`` seconds at most per phase (a phase that runs past
it fails). A fixed ``--seed`` makes a run repeatable. JUnit reports and the server's log are kept in the work
folder when a phase fails (or with ``--keep``). The exit status is 0 when every phase passed.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Last on the path: the django_convites that is installed is imported first, as the server will.
sys.path.append(str(REPO_ROOT))

from tests.example_site import example_env, run_manage, serving  # noqa: E402 - needs the path above

#: The demo's users, one per role, and their password (demo_data).
ROLES = ("root", "admin", "gestor", "usuario")
PASSWORD = "demo12345"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"

#: The settings of the anonymous phase and of the authenticated ones.
STOCK_SETTINGS = "example_project.settings"
FUZZ_SETTINGS = "tests.fuzz.settings"

#: Puts the demo data back (passwords, groups, organization) and empties the cache, which holds the
#: throttles' counters (the example project's cache is a database table, shared with the server).
RESET = """
from django.core.cache import cache
from django.core.management import call_command
call_command("demo_data", verbosity=0)
cache.clear()
"""


def site_env(work: Path) -> dict[str, str]:
    """The example project's settings on a database in ``work``, debug off, a secret key of its own, mail
    written to files, and the repository importable (``tests.fuzz.settings``)."""
    return example_env(
        work / "db.sqlite3",
        pythonpath=[REPO_ROOT],
        EMAIL_FILE_PATH=str(work / "mail"),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
    )


def manage(env: dict[str, str], *args: str) -> None:
    done = run_manage(env, *args, timeout=120)
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args[:1])} failed:\n{done.stdout}\n{done.stderr}")


def fetch(url: str, body: dict[str, str] | None = None) -> bytes:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - http://127.0.0.1 only
        content: bytes = response.read()
        return content


def access_token(base: str, username: str) -> str:
    """A JWT access token of a new session of ``username`` (``POST /api/auth/token/``)."""
    answer = json.loads(fetch(f"{base}/api/auth/token/", {"username": username, "password": PASSWORD}))
    token: str = answer["access"]
    return token


@dataclass
class Outcome:
    phase: str
    passed: bool
    seconds: float
    summary: str


def schemathesis(
    schema_path: Path, base: str, phase: str, headers: list[str], options: argparse.Namespace, work: Path
) -> Outcome:
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        str(schema_path),
        "--url",
        base,
        "--checks",
        CHECKS,
        "--mode",
        "all",
        "--max-examples",
        str(options.max_examples),
        "--seed",
        str(options.seed),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(work / f"junit-{phase}.xml"),
    ]
    for header in headers:
        command += ["--header", header]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            cwd=work,
            capture_output=True,
            text=True,
            timeout=options.phase_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as expired:
        output = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else (expired.stdout or "")
        (work / f"schemathesis-{phase}.log").write_text(output, encoding="utf-8")
        return Outcome(phase, False, time.monotonic() - started, f"ran past {options.phase_timeout} s")
    seconds = time.monotonic() - started
    (work / f"schemathesis-{phase}.log").write_text(done.stdout + done.stderr, encoding="utf-8")
    if done.returncode != 0:
        print(done.stdout[-20000:], done.stderr[-5000:], sep="\n")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    return Outcome(phase, done.returncode == 0, seconds, lines[-1].strip("= ") if lines else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=15, help="test cases per operation and test phase")
    parser.add_argument("--phase-timeout", type=int, default=240, help="seconds a phase may take at most")
    parser.add_argument("--seed", type=int, default=20251207, help="schemathesis's random seed")
    parser.add_argument("--phases", default=",".join(("anonymous", *ROLES)), help="anonymous and roles, in order")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (database, logs, reports)")
    options = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="convites-fuzz-"))
    env = site_env(work)
    outcomes: list[Outcome] = []
    started = time.monotonic()
    try:
        manage(env, "migrate", "--verbosity", "0")
        for phase in options.phases.split(","):
            phase_env = {**env, "DJANGO_SETTINGS_MODULE": STOCK_SETTINGS if phase == "anonymous" else FUZZ_SETTINGS}
            manage(phase_env, "shell", "-c", RESET)
            with serving(phase_env, work / f"runserver-{phase}.log") as base:
                schema_path = work / f"schema-{phase}.json"
                schema_path.write_bytes(fetch(f"{base}/api/schema/?format=json"))
                headers = [] if phase == "anonymous" else [f"Authorization: Bearer {access_token(base, phase)}"]
                outcome = schemathesis(schema_path, base, phase, headers, options, work)
            state = "passed" if outcome.passed else "FAILED"
            print(f"{phase:<10} {state} in {outcome.seconds:5.0f} s  {outcome.summary}", flush=True)
            outcomes.append(outcome)
    finally:
        failed = [outcome.phase for outcome in outcomes if not outcome.passed]
        if options.keep or failed or len(outcomes) < len(options.phases.split(",")):
            print(f"The work folder (database, server log, reports) is kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"The run took {time.monotonic() - started:.0f} s.")
    print(f"fuzz: {len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
