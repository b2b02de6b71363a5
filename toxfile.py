"""The project's tox plugin (tox loads ``toxfile.py`` by itself): find the Pythons the matrix needs.

The matrix runs on Python 3.10 to 3.13. Where they come from pyenv, only the selected version is on
``PATH`` (pyenv's shims answer for the others with an error), so ``tox`` would find one or two
interpreters and skip the rest. Before tox looks for interpreters, this puts the ``bin`` folder of the
newest installed pyenv version of each minor Python the matrix needs in front of ``PATH``. A Python that
is still missing is named at the start of the run, with how to get it; tox then fails the environments that
need it (``skip_missing_interpreters = false`` in tox.ini), so a run never passes while skipping any.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tox.plugin import impl

#: The minor Pythons of the matrix (tox.ini's env_list and base_python).
PYTHONS = ("3.10", "3.11", "3.12", "3.13")


def _pyenv_versions() -> dict[str, Path]:
    """Minor version -> the ``bin`` folder of the newest pyenv installation of it."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    newest: dict[str, tuple[int, Path]] = {}
    for folder in root.glob("3.*") if root.is_dir() else ():
        match = re.fullmatch(r"(3\.\d+)\.(\d+)", folder.name)
        if match and match[1] in PYTHONS and (folder / "bin" / f"python{match[1]}").exists():
            patch = int(match[2])
            if match[1] not in newest or patch > newest[match[1]][0]:
                newest[match[1]] = (patch, folder / "bin")
    return {minor: path for minor, (_, path) in newest.items()}


def _runs(minor: str) -> bool:
    """Whether ``python<minor>`` on PATH starts (a pyenv shim of an unselected version does not)."""
    found = shutil.which(f"python{minor}")
    if found is None:
        return False
    done = subprocess.run([found, "-c", ""], capture_output=True, check=False)  # noqa: S603
    return done.returncode == 0


@impl
def tox_add_option(parser: Any) -> None:
    """The first hook tox calls, before it looks for any interpreter."""
    folders = [str(path) for minor, path in sorted(_pyenv_versions().items()) if not _runs(minor)]
    if folders:
        os.environ["PATH"] = os.pathsep.join([*folders, os.environ.get("PATH", "")])
    missing = [minor for minor in PYTHONS if not _runs(minor)]
    if missing:
        names = ", ".join(f"Python {minor}" for minor in missing)
        print(
            f"tox: {names} not found: the environments that need {'it' if len(missing) == 1 else 'them'} "
            f"will fail. Install {'it' if len(missing) == 1 else 'them'} (for example `pyenv install "
            f"{missing[0]}`, or `uv python install {' '.join(missing)}`) and put the interpreter on PATH.",
            file=sys.stderr,
        )
