"""Follow docs/quickstart.rst word for word on a fresh site (run by ``tox -e package``).

Every ``console`` block of the page's numbered steps is run, in order, in one bash shell started in an
empty folder, so the variables one step sets are there for the next; every ``python`` block whose caption
names a file (``mysite/settings.py (add at the end)``) is appended to that file. The output a block shows
under a command is checked against what the command printed, ``...`` standing for anything. Then the site
passes ``manage.py check --deploy`` with no message of the app's, and README.md's "Add it to your site"
holds the very blocks of steps 3 and 4.

Only three things differ from what a reader types, each for a reason the reader does not share:

- ``git clone <the project's URL>`` copies this checkout instead (CI has no network but the registries,
  and must test this tree, not the published one);
- the server listens on a free port instead of 8000 (CI runs other servers at the same time), and every
  ``127.0.0.1:8000`` of the page is changed to it;
- ``OTP=123456  # the six digits your authenticator app shows now`` computes the code from ``$SECRET``,
  as the reader's authenticator app does.

Usage: ``python tests/packaging/quickstart.py [WORK_DIR]`` (a temporary folder by default).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "quickstart.rst"
README = ROOT / "README.md"
#: The steps the test follows: the page's numbered sections; what follows them is reference.
LAST_STEP_END = "Going further\n-------------"
CLONE = re.compile(r"^git clone \S+django-convites(?:\.git)?$")
OTP_LINE = "OTP=123456  # the six digits your authenticator app shows now"
#: The TOTP code of $SECRET now, computed as an authenticator app does (RFC 6238, 30 s, 6 digits, SHA-1).
TOTP = (
    'OTP=$(SECRET="$SECRET" python -c \'import base64, hashlib, hmac, os, struct, time; key = base64.b32decode(os.environ["SECRET"]); '
    'mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest(); o = mac[-1] & 15; '
    'print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))\')'
)
TIMEOUT = 600


@dataclass
class Command:
    text: str
    shown: list[str] = field(default_factory=list)


@dataclass
class Block:
    kind: str  # "console" or "python"
    caption: str
    lines: list[str]


def blocks(text: str) -> list[Block]:
    """The ``code-block`` directives of ``text``, in order: their language, caption and body."""
    found: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = re.match(r"^\.\. code-block:: (\w+)\s*$", lines[index])
        index += 1
        if not match:
            continue
        caption = ""
        while index < len(lines) and lines[index].startswith("   :"):
            option = re.match(r"^   :caption: (.+)$", lines[index])
            caption = option.group(1) if option else caption
            index += 1
        body: list[str] = []
        while index < len(lines) and (not lines[index].strip() or lines[index].startswith("   ")):
            body.append(lines[index][3:])
            index += 1
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        found.append(Block(match.group(1), caption, body))
    return found


def steps() -> list[Block]:
    text = PAGE.read_text(encoding="utf-8")
    return blocks(text[: text.index(LAST_STEP_END)])


def commands(block: Block) -> list[Command]:
    parsed: list[Command] = []
    for line in block.lines:
        if line.startswith("$ "):
            parsed.append(Command(line[2:]))
        elif parsed and line.strip():
            parsed[-1].shown.append(line)
    return parsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_run(command: str, port: int) -> str:
    """The line the shell runs for ``command`` of the page."""
    if CLONE.match(command):
        ignore = "--exclude=.tox --exclude=.venv --exclude=.git --exclude=*.sqlite3 --exclude=__pycache__"
        return (
            f"mkdir django-convites && tar -C {shlex.quote(str(ROOT))} {ignore} -cf - . | tar -C django-convites -xf -"
        )
    if command == OTP_LINE:
        return TOTP
    command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    if command == "python manage.py runserver":
        return (
            f"python manage.py runserver 127.0.0.1:{port} --noreload > runserver.log 2>&1 & SERVER=$!\n"
            f"for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:{port}/api/ && break; sleep 0.2; done"
        )
    return command


def matches(shown: list[str], printed: str) -> bool:
    """Whether what the command printed is what the page shows, ``...`` standing for anything."""
    pattern = ".*".join(re.escape(part) for part in "\n".join(shown).split("..."))
    return re.fullmatch(pattern, printed.strip(), flags=re.DOTALL) is not None


def script(port: int) -> tuple[str, list[Command]]:
    """One bash script for every step, and the commands whose output it marks for checking."""
    lines = ["set -euo pipefail", "SERVER=", 'trap \'[ -z "$SERVER" ] || kill "$SERVER" 2>/dev/null || true\' EXIT']
    checked: list[Command] = []
    for block in steps():
        if block.kind == "python":
            target = block.caption.split(" ", 1)[0]
            assert target.endswith(".py") and "add at the end" in block.caption, block.caption
            body = "\n".join(block.lines)
            lines.append(f"printf '\\n%s\\n' {shlex.quote(body)} >> {shlex.quote(target)}")
            continue
        assert block.kind == "console", block.kind
        for command in commands(block):
            if command.shown:
                lines.append(f"echo '@@begin {len(checked)}@@'")
                lines.append(as_run(command.text, port))
                lines.append(f"echo; echo '@@end {len(checked)}@@'")
                checked.append(command)
            else:
                lines.append(as_run(command.text, port))
    # Django's own deploy checks find a development site here (DEBUG, the console mail backend...): only the
    # app's messages count.
    lines.append("python manage.py check --deploy > check-deploy.txt 2>&1 || true")
    return "\n".join(lines) + "\n", checked


def readme_snippets() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Add it to your site") :]
    section = section[: section.index("\n## ", 1)]
    return [body.strip() for body in re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)]


def main() -> None:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="quickstart-"))
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    body, checked = script(port)
    (work / "quickstart.sh").write_text(body)
    env = {name: value for name, value in os.environ.items() if not name.startswith(("DJANGO", "VIRTUAL_ENV"))}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(
        ["bash", "quickstart.sh"], cwd=work, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if done.returncode != 0:
        server_log = work / "mysite" / "runserver.log"
        log = server_log.read_text() if server_log.exists() else ""
        sys.exit(
            f"the quickstart failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}\n{log[-4000:]}"
        )
    wrong = []
    for number, command in enumerate(checked):
        printed = done.stdout.split(f"@@begin {number}@@\n", 1)[1].split(f"@@end {number}@@", 1)[0]
        if not matches(command.shown, printed):
            wrong.append(
                f"$ {command.text}\n  the page shows: {command.shown}\n  it printed:     {printed.strip()[:500]}"
            )
    if wrong:
        sys.exit("the quickstart's output differs from the page:\n" + "\n".join(wrong))
    deploy = (work / "mysite" / "check-deploy.txt").read_text()
    ours = [line for line in deploy.splitlines() if "django_convites." in line]
    if ours:
        sys.exit("manage.py check --deploy reports the app's checks on the quickstart's site:\n" + "\n".join(ours))
    snippets = ["\n".join(block.lines) for block in steps() if block.kind == "python"]
    if readme_snippets() != snippets:
        sys.exit("README.md's 'Add it to your site' is not the quickstart's settings and URLs, block for block.")
    print(f"The quickstart ran word for word in {work}: {len(checked)} outputs as shown, check --deploy clean.")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
