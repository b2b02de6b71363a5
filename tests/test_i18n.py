from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.utils import translation

from django_convites.exceptions import RequestTooLarge

LOCALE = Path(__file__).resolve().parents[1] / "django_convites" / "locale"


def entries(po: Path) -> list[tuple[str, str]]:
    """(msgid, msgstr) of every entry, with strings continued over several lines joined up; for a plural
    entry, msgstr is its first form."""
    found = []
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        parts: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            match = re.match(r'^(msgid|msgid_plural|msgstr(?:\[0\])?) "(.*)"$', line)
            if match:
                key = match.group(1).replace("[0]", "")
                parts[key] = match.group(2)
            elif key and line.startswith('"'):
                parts[key] += line[1:-1]
        if "msgid" in parts:
            found.append((parts["msgid"], parts.get("msgstr", "")))
            if "msgid_plural" in parts:
                PLURALS[parts["msgid"]] = parts["msgid_plural"]
    return found


#: msgid -> msgid_plural of the plural entries seen by :func:`entries`.
PLURALS: dict[str, str] = {}


def translated(catalog: gettext.GNUTranslations, msgid: str) -> bool:
    if msgid in PLURALS:
        return catalog.ngettext(msgid, PLURALS[msgid], 1) != msgid
    return catalog.gettext(msgid) != msgid


def test_every_portuguese_message_is_translated_and_not_fuzzy():
    po = LOCALE / "pt_BR" / "LC_MESSAGES" / "django.po"
    untranslated = [msgid for msgid, msgstr in entries(po) if msgid and not msgstr]
    assert untranslated == []
    assert "#, fuzzy" not in po.read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["pt_BR", "en"])
def test_compiled_catalogs_match_their_sources(language):
    folder = LOCALE / language / "LC_MESSAGES"
    assert (folder / "django.mo").stat().st_size > 0
    # Every translated id of the .po is in the .mo: the catalog was compiled after the last edit.
    with (folder / "django.mo").open("rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)
    ids = {msgid for msgid, _ in entries(folder / "django.po") if msgid}
    if language == "pt_BR":
        assert {msgid for msgid in ids if translated(catalog, msgid)} >= ids - {"Convites", "user agent", "admin"}


def test_errors_speak_portuguese():
    with translation.override("pt-br"):
        assert str(RequestTooLarge().detail) == "O corpo da requisição é grande demais."
    with translation.override("en"):
        assert str(RequestTooLarge().detail) == "The request body is too large."


@pytest.mark.django_db
def test_api_error_in_portuguese(client, convites_settings):
    convites_settings(MAX_BODY_SIZE=1024)
    response = client.generic(
        "POST", "/api/t/echo/", "[" + "1," * 1000 + "1]", content_type="application/json", HTTP_ACCEPT_LANGUAGE="pt-br"
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "O corpo da requisição é grande demais.", "code": "request_too_large"}


def test_the_catalogs_hold_every_message_of_the_source(tmp_path):
    """``makemessages`` over a copy of the package finds no message the catalogs lack: a string added to
    the code without its Portuguese translation fails here, before a Brazilian user sees English."""
    import os
    import shutil
    import subprocess
    import sys

    package = Path(__file__).resolve().parents[1] / "django_convites"
    copy = tmp_path / "django_convites"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "pt_BR", "--no-location", "--no-obsolete"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(package.parent)},
    )
    ours = {msgid for msgid, _ in entries(package / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po")}
    found = {msgid for msgid, _ in entries(copy / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po")}
    assert sorted(found - ours) == []
    assert sorted(ours - found) == []  # no stale entry either
