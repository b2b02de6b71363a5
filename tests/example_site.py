"""The example project run in subprocesses: its environment, its ``manage.py`` and a ``runserver``.

Shared by the tests of the example project, the browser tests and the API fuzzer (``tests/fuzz/run.py``,
which runs outside pytest, so nothing here imports it). Each subprocess uses the example project's
settings on the SQLite file it is given and imports the same ``django_convites`` as the caller.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import django_convites

REPO_ROOT = Path(__file__).resolve().parent.parent
MANAGE_PY = REPO_ROOT / "example_project" / "manage.py"
PACKAGE_PARENT = Path(django_convites.__file__).resolve().parent.parent
#: Seconds ``runserver`` has to answer on its port.
SERVER_START_TIMEOUT = 30


class ServerDidNotStart(RuntimeError):
    """``runserver`` exited, or did not answer in time; the message holds its output."""


def example_env(database: Path, *, pythonpath: Iterable[Path] = (), **extra: str) -> dict[str, str]:
    """The environment of a subprocess: the example project's settings on ``database``, nothing inherited
    that would change them. ``pythonpath`` comes after the package the caller imports; ``extra`` is added
    last."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name not in {"DATABASE_URL", "EMAIL_FILE_PATH", "PYTHONPATH"}
    }
    paths = [str(PACKAGE_PARENT), *(str(path) for path in pythonpath), os.environ.get("PYTHONPATH")]
    env.update(
        DJANGO_SETTINGS_MODULE="example_project.settings",
        DATABASE_URL=f"sqlite:///{database}",
        PYTHONPATH=os.pathsep.join(filter(None, paths)),
        PYTHONIOENCODING="utf-8",
    )
    env.update(extra)
    return env


def run_manage(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``manage.py *args`` of the example project with ``env``; its output is captured, its status is not
    checked."""
    return subprocess.run(
        [sys.executable, str(MANAGE_PY), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serving(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """``runserver`` on a free loopback port with ``env``, its output in ``log_path``; yields its base URL
    and stops it afterwards. ``--insecure``: the static files (the pages' stylesheet) are served with debug
    off too."""
    port = free_port()
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE_PY), "runserver", f"127.0.0.1:{port}", "--noreload", "--insecure"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while True:
                if process.poll() is not None:
                    message = f"runserver exited with {process.returncode}:\n{log_path.read_text('utf-8')}"
                    raise ServerDidNotStart(message)
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        message = (
                            f"runserver did not answer in {SERVER_START_TIMEOUT} s:\n{log_path.read_text('utf-8')}"
                        )
                        raise ServerDidNotStart(message) from None
                    time.sleep(0.1)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
