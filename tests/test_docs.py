"""The docs name what ships: settings, checks, the role table, error codes, commands, signals, tox envs.

Each test reads a page of ``docs/`` and compares it with the code it describes, so a change to one without
the other fails here.
"""

from __future__ import annotations

import ast
import configparser
import importlib
import inspect
import re
import textwrap
from pathlib import Path

import pytest
from django.utils.module_loading import import_string
from rest_framework import exceptions as drf_exceptions

import django_convites
from django_convites import checks, conf, signals
from django_convites.api import exceptions as api_exceptions
from django_convites.api.serializers.audit import AuditEventSerializer
from django_convites.exceptions import ConvitesError
from django_convites.models import AuditEvent
from django_convites.roles import POLICY, Action, Role

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE = Path(django_convites.__file__).resolve().parent

#: Codes the errors page must list whatever the code says (docs/errors.rst and the API's plumbing).
REQUIRED_ERROR_CODES = (
    "parse_error",
    "request_too_large",
    "unsupported_media_type",
    "method_not_allowed",
    "not_authenticated",
    "authentication_failed",
    "permission_denied",
    "not_found",
    "throttled",
    "invalid",
    "bad_request",
    "server_error",
)

_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+])\1+$")
_CHECK_ID = re.compile(r"django_convites\.[CEIW]\d{3}")


def read(page: str) -> str:
    return (DOCS / page).read_text(encoding="utf-8")


def sections(text: str) -> dict[str, str]:
    """Section title (without inline-literal backticks) -> the text up to the next title."""
    lines = text.splitlines()
    heads = [
        index
        for index in range(len(lines) - 1)
        if lines[index].strip()
        and not _UNDERLINE.match(lines[index])
        and _UNDERLINE.match(lines[index + 1])
        and len(lines[index + 1]) >= len(lines[index].rstrip())
    ]
    found: dict[str, str] = {}
    for position, head in enumerate(heads):
        end = heads[position + 1] if position + 1 < len(heads) else len(lines)
        title = lines[head].strip().strip("`")
        found[title] = "\n".join(lines[head + 2 : end])
    return found


def code_block_after(text: str, marker: str) -> str:
    """The content of the first ``code-block`` that follows ``marker`` in ``text``."""
    rest = text[text.index(marker) :].splitlines()
    start = next(i for i, line in enumerate(rest) if line.strip().startswith(".. code-block::"))
    body: list[str] = []
    for line in rest[start + 1 :]:
        if line.strip() and not line.startswith("   "):
            break
        if line.strip().startswith(":") and not body:
            continue  # a directive option such as :caption:
        body.append(line)
    return textwrap.dedent("\n".join(body)).strip()


def code_blocks(text: str) -> list[str]:
    blocks = []
    for match in re.finditer(r"^\.\. code-block::", text, flags=re.MULTILINE):
        blocks.append(code_block_after(text[match.start() :], ".. code-block::"))
    return blocks


# -- configuration.rst ---------------------------------------------------------------------------------


def test_every_setting_has_a_section_and_no_section_is_stale() -> None:
    titled = {title for title in sections(read("configuration.rst")) if re.fullmatch(r"[A-Z][A-Z0-9_]+", title)}
    assert titled == set(conf.DEFAULTS)


def documented_default(body: str) -> object:
    line = next(line for line in body.splitlines() if line.startswith(":Default:"))
    inline = re.search(r"``(.+)``", line)
    text = inline.group(1) if inline else code_block_after(body, ":Default:")
    return ast.literal_eval(text)


@pytest.mark.parametrize("key", sorted(conf.DEFAULTS))
def test_setting_section_states_its_default_and_its_check(key: str) -> None:
    body = sections(read("configuration.rst"))[key]
    assert documented_default(body) == conf.DEFAULTS[key]
    check_id = conf.VALIDATORS[key][0]
    assert re.search(rf"^:Check: ``{re.escape(check_id)}``$", body, flags=re.MULTILINE), check_id


@pytest.mark.parametrize(
    "key", sorted(key for key, setting in conf.DECLARATIONS.items() if isinstance(setting, conf.Duration))
)
def test_every_duration_is_documented_as_seconds_or_a_timedelta(key: str) -> None:
    body = sections(read("configuration.rst"))[key]
    type_line = next(line for line in body.splitlines() if line.startswith(":Type:"))
    assert "seconds" in type_line and "timedelta" in type_line, type_line


@pytest.mark.parametrize("key", sorted(conf.DECLARATIONS))
def test_the_entry_of_a_settings_check_names_the_key_that_owns_it(key: str) -> None:
    body = sections(read("checks.rst"))[conf.DECLARATIONS[key].check_id]
    assert body.strip().startswith(f"``{key}``"), body


# -- checks.rst ----------------------------------------------------------------------------------------


def emitted_check_ids() -> set[str]:
    found: set[str] = set()
    for module in (checks, conf):
        found |= set(re.findall(rf'"({_CHECK_ID.pattern})"', inspect.getsource(module)))
    return found


def test_check_ids_are_found_in_the_source() -> None:
    ids = emitted_check_ids()
    assert {check_id for check_id, _ in conf.VALIDATORS.values()} <= ids
    assert {"django_convites.E001", "django_convites.E010", "django_convites.W001"} <= ids


def test_every_check_id_has_an_entry_and_no_entry_is_stale() -> None:
    documented = {title for title in sections(read("checks.rst")) if _CHECK_ID.fullmatch(title)}
    assert documented == emitted_check_ids()


def test_every_check_id_named_anywhere_in_the_docs_exists() -> None:
    ids = emitted_check_ids()
    for page in sorted(DOCS.glob("*.rst")):
        for check_id in _CHECK_ID.findall(page.read_text(encoding="utf-8")):
            assert check_id in ids, f"{page.name} names {check_id}"


# -- roles.rst -----------------------------------------------------------------------------------------


def documented_policy() -> dict[str, dict[str, str]]:
    text = read("roles.rst")
    table = text[text.index(".. begin-policy-table") : text.index(".. end-policy-table")]
    lines = [line for line in table.splitlines()[1:] if line.strip()]
    rulers = [i for i, line in enumerate(lines) if re.fullmatch(r"=+(\s+=+)+", line)]
    assert len(rulers) == 3, "the policy table is a simple table: ruler, header, ruler, rows, ruler"
    spans = [match.span() for match in re.finditer(r"=+", lines[rulers[0]])]

    def cells(line: str) -> list[str]:
        starts = [start for start, _ in spans]
        ends = [end for _, end in spans[:-1]] + [len(line)]
        return [line[start:end].strip() for start, end in zip(starts, ends, strict=True)]

    header = cells(lines[rulers[0] + 1])
    roles = header[1:5]
    policy: dict[str, dict[str, str]] = {}
    for line in lines[rulers[1] + 1 : rulers[2]]:
        row = cells(line)
        action = row[0].strip("`")
        assert action not in policy, f"{action} appears twice"
        policy[action] = dict(zip(roles, row[1:5], strict=True))
    return policy


def test_role_table_matches_the_policy_cell_by_cell() -> None:
    expected = {
        action.value: {role.value: reach.value for role, reach in by_role.items()} for action, by_role in POLICY.items()
    }
    assert documented_policy() == expected


def test_role_table_lists_every_action_and_role() -> None:
    policy = documented_policy()
    assert set(policy) == {action.value for action in Action}
    for row in policy.values():
        assert list(row) == [role.value for role in Role]


# -- errors.rst ----------------------------------------------------------------------------------------


def documented_error_codes() -> dict[str, str]:
    """Code -> the status column of its row in the "Codes" table."""
    body = sections(read("errors.rst"))["Codes"]
    rows = re.findall(r"^\s*\* - (\d{3}(?: or \d{3})?)\n\s+- ``([a-z_]+)``$", body, flags=re.MULTILINE)
    assert rows, "the Codes table has no rows"
    return {code: status for status, code in rows}


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | _subclasses(sub)
    return found


def real_error_codes() -> dict[str, set[int]]:
    """Every code the API can answer today, with its possible statuses, read from the code."""
    codes: dict[str, set[int]] = {}
    for cls in {ConvitesError} | _subclasses(ConvitesError):  # the handlers' errors too (NotFound, ServerError)
        codes.setdefault(cls.code, set()).update({cls.status_code} | cls.other_statuses)
    for module in (drf_exceptions, api_exceptions):
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, drf_exceptions.APIException)
                and obj is not drf_exceptions.APIException
                and obj is not api_exceptions.ConvitesAPIException
            ):
                codes.setdefault(obj.default_code, set()).add(obj.status_code)
    # DRF answers 403 instead of 401 when no authenticator names a WWW-Authenticate scheme.
    for code in ("not_authenticated", "authentication_failed"):
        codes[code].add(403)
    return codes


def test_required_error_codes_are_documented() -> None:
    documented = documented_error_codes()
    missing = [code for code in REQUIRED_ERROR_CODES if code not in documented]
    assert not missing


def test_every_error_code_of_the_code_is_documented_with_its_status() -> None:
    documented = documented_error_codes()
    for code, statuses in real_error_codes().items():
        assert code in documented, code
        assert {int(status) for status in documented[code].split(" or ")} == statuses, code


def test_every_code_named_in_package_source_is_documented() -> None:
    named: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        named |= set(re.findall(r'\b(?:default_)?code\s*=\s*"([a-z_]+)"', source))
    assert "request_too_large" in named
    assert named <= set(documented_error_codes())


def test_no_documented_error_code_is_stale() -> None:
    assert set(documented_error_codes()) <= set(real_error_codes())


# -- quickstart.rst ------------------------------------------------------------------------------------


def quickstart_block(name: str) -> str:
    return next(block for block in code_blocks(read("quickstart.rst")) if name in block)


def test_quickstart_installs_the_required_apps_before_the_app() -> None:
    block = quickstart_block("INSTALLED_APPS")
    apps = re.findall(r'"([\w.]+)"', block[block.index("INSTALLED_APPS") : block.index("]")])
    assert "django_convites" in apps
    for app in checks.REQUIRED_APPS:
        assert app in apps, app
        assert apps.index(app) < apps.index("django_convites"), app


def test_quickstart_adds_the_otp_middleware() -> None:
    assert checks.OTP_MIDDLEWARE in quickstart_block("MIDDLEWARE")


def test_quickstart_urls_and_handlers_exist() -> None:
    block = quickstart_block("urlpatterns")
    for module in re.findall(r'include\("([\w.]+)"\)', block):
        importlib.import_module(module)
    assert {"django_convites.api.urls", "django_convites.urls"} <= set(re.findall(r'include\("([\w.]+)"\)', block))
    named = dict(re.findall(r'^(handler\d{3}) = "([\w.]+)"$', block, flags=re.MULTILINE))
    assert set(named) == {"handler400", "handler403", "handler404", "handler500"}
    for path in named.values():
        assert callable(import_string(path))


# -- everything else -----------------------------------------------------------------------------------


def test_every_dotted_path_in_the_docs_imports() -> None:
    for page in sorted(DOCS.glob("*.rst")):
        for path in set(re.findall(r'"(django_convites\.[\w.]+)"', page.read_text(encoding="utf-8"))):
            if _CHECK_ID.fullmatch(path):
                continue
            try:
                importlib.import_module(path)
            except ImportError:
                import_string(path)


def test_every_management_command_is_documented() -> None:
    text = "\n".join(page.read_text(encoding="utf-8") for page in DOCS.glob("*.rst"))
    commands = [path.stem for path in (PACKAGE / "management" / "commands").glob("*.py") if path.stem != "__init__"]
    assert commands
    for command in commands:
        assert f"``{command}``" in text, command


def test_every_signal_of_the_app_is_documented() -> None:
    text = read("signals.rst")
    for obj in vars(signals).values():
        if isinstance(obj, signals.DomainSignal):
            assert f"``{obj.event}``" in text, obj.event


def test_audit_field_table_matches_the_serializer() -> None:
    body = sections(read("audit.rst"))["The ``AuditEvent`` model"]
    rows = dict(re.findall(r"^\s*\* - ``(\w+)``\n\s+- ``(\w+)``$", body, flags=re.MULTILINE))
    by_attname = {field.attname: field.name for field in AuditEvent._meta.concrete_fields}
    serializer = AuditEventSerializer()
    expected = {}
    for wire, field in serializer.fields.items():
        source = field.source if field.source != "*" else wire
        expected[by_attname.get(source, source)] = wire
    assert rows == expected


def test_glossary_names_every_audit_field() -> None:
    text = read("glossary.rst")
    for field in AuditEvent._meta.concrete_fields:
        assert f"AuditEvent.{field.name}" in text, field.name


def _split_outside_braces(value: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in value:
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char in ",\n" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [part for part in parts if part]


def expand_braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    return [
        name
        for alternative in match.group(1).split(",")
        for name in expand_braces(pattern[: match.start()] + alternative.strip() + pattern[match.end() :])
    ]


def test_contributing_lists_every_tox_environment_and_label() -> None:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini", encoding="utf-8")
    envs = {env for pattern in _split_outside_braces(tox["tox"]["env_list"]) for env in expand_braces(pattern)}
    labels = {}
    for line in tox["tox"].get("labels", "").strip().splitlines():
        name, _, value = line.partition("=")
        labels[name.strip()] = {env for pattern in _split_outside_braces(value) for env in expand_braces(pattern)}
    envs |= set().union(*labels.values())
    assert envs
    literals = re.findall(r"``([^`]+)``", read("contributing.rst"))
    documented = {env for literal in literals for env in expand_braces(literal)}
    assert envs <= documented, sorted(envs - documented)
    assert set(labels) <= documented


def test_changelog_page_includes_the_changelog() -> None:
    assert ".. include:: ../CHANGELOG.md" in read("changelog.rst")
    assert (ROOT / "CHANGELOG.md").is_file()


# -- events.rst ----------------------------------------------------------------------------------------

#: The areas of the event catalogue, in page order.
EVENT_AREAS = (
    "Invites",
    "API tokens",
    "Sessions and logins",
    "Two-factor authentication",
    "Authentication codes",
    "Webhooks",
)
#: Events the test suite declares for itself (tests/urls.py): in the registry, not in the catalogue.
SUITE_EVENTS = frozenset({"teste_feito", "teste_falhou"})

_EVENT_TERM = re.compile(r"^``([^`\s]+)``$")


def app_events() -> dict[str, signals.DomainSignal]:
    """The domain signals the app declares, by event name."""
    return {obj.event: obj for obj in vars(signals).values() if isinstance(obj, signals.DomainSignal)}


def catalogue_entries() -> list[tuple[str, str]]:
    """``(event, the entry's text)`` for every entry of the event catalogue, in page order: each area's
    section is a definition list whose terms are event names in double backticks."""
    found = sections(read("events.rst"))
    assert tuple(title for title in found if title != "Event catalogue") == EVENT_AREAS
    entries: list[tuple[str, str]] = []
    for area in EVENT_AREAS:
        lines = found[area].splitlines()
        starts = [index for index, line in enumerate(lines) if _EVENT_TERM.match(line)]
        assert starts, f"{area} has no entries"
        for position, start in enumerate(starts):
            end = starts[position + 1] if position + 1 < len(starts) else len(lines)
            match = _EVENT_TERM.match(lines[start])
            assert match is not None
            entries.append((match.group(1), "\n".join(lines[start + 1 : end])))
    return entries


def entry_field(entry: str, name: str) -> str:
    """The first line of a field (``:Target:``...) of a catalogue entry."""
    found = re.findall(rf"^    :{name}:(.*)$", entry, flags=re.MULTILINE)
    assert len(found) == 1, f"the entry has {len(found)} {name} fields"
    return str(found[0]).strip()


def documented_details(entry: str) -> set[str]:
    """The keys the ``:Details:`` field lists, one bullet each (``- ``key``: what it holds``)."""
    if entry_field(entry, "Details") == "none":
        return set()
    listed = entry[entry.index("    :Details:") :]
    keys = re.findall(r"^        - ``(\w+)``: \S", listed, flags=re.MULTILINE)
    assert keys, "a Details field that is not 'none' lists its keys"
    assert len(keys) == len(set(keys)), f"a key is listed twice: {keys}"
    return set(keys)


def test_the_catalogue_has_one_entry_per_event_of_the_registry() -> None:
    events = [event for event, _ in catalogue_entries()]
    repeated = sorted({event for event in events if events.count(event) > 1})
    assert not repeated, f"events with more than one entry: {repeated}"
    registry = set(signals.REGISTRY) - SUITE_EVENTS
    assert registry == set(app_events()), "every domain signal of the app is declared in django_convites.signals"
    assert set(events) == registry


@pytest.mark.parametrize("event", sorted(app_events()))
def test_a_catalogue_entry_documents_its_signals_details_keys_and_failure(event: str) -> None:
    entries = dict(catalogue_entries())
    assert event in entries, f"{event} has no entry in docs/events.rst"
    entry, signal = entries[event], signals.REGISTRY[event]
    assert documented_details(entry) == set(signal.details)
    assert entry_field(entry, "Failure event") == ("yes" if signal.failure else "no")
    assert entry_field(entry, "Target")
    assert entry_field(entry, "Actor")


# -- the README and CI ------------------------------------------------------------------------------


def readme_test_command() -> str:
    """The command of the README's "Run the tests" paragraph."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("Run the tests") :]
    match = re.search(r"```bash\n(.+?)\n```", section, flags=re.DOTALL)
    assert match, "the README shows its test command in a bash block"
    return match.group(1).strip()


def test_ci_runs_the_readmes_test_command_word_for_word() -> None:
    command = readme_test_command()
    assert "tox" in command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert command in ci, f".ci/run does not run {command!r}"


def test_the_readme_test_command_runs_the_whole_matrix_and_skips_nothing() -> None:
    tox = configparser.ConfigParser()
    tox.read(ROOT / "tox.ini", encoding="utf-8")
    assert tox["tox"]["skip_missing_interpreters"].strip() == "false"
    env_list = {env for pattern in _split_outside_braces(tox["tox"]["env_list"]) for env in expand_braces(pattern)}
    labels = {
        name.strip(): value
        for name, value in (line.split("=", 1) for line in tox["tox"]["labels"].splitlines() if line.strip())
    }
    ci = {env for pattern in _split_outside_braces(labels["ci"]) for env in expand_braces(pattern)}
    assert env_list == ci, "a plain tox run is what CI runs"
    assert {"py310-dj52-postgres", "py313-dj61-mysql"} <= env_list


#: Words that promise a feature for later: the docs describe what ships.
STALE = re.compile(
    r"later release|not yet|comes? later|come next|coming soon|will be added|future release|\bplanned\b",
    flags=re.IGNORECASE,
)


def test_no_page_promises_for_later_what_ships() -> None:
    pages = [*sorted(DOCS.glob("*.rst")), ROOT / "README.md", ROOT / "example_project" / "README.md"]
    stale = [
        f"{page.name}:{number}: {line.strip()}"
        for page in pages
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1)
        if STALE.search(line)
    ]
    assert stale == []


def test_the_stale_wording_check_finds_a_promise() -> None:
    assert STALE.search("The 2FA pages come next.")
    assert STALE.search("JWT bearer tokens are not yet accepted")
    assert not STALE.search("django-convites is not on PyPI yet")


# -- api-reference.rst -----------------------------------------------------------------------------------


def test_the_api_reference_shows_every_operation_of_the_schema_with_its_answers() -> None:
    pytest.importorskip("drf_spectacular")
    import importlib.util

    from tests.schema import api_schema

    assert re.search(r"^\.\. convites-openapi::$", read("api-reference.rst"), flags=re.MULTILINE)
    # docs/_ext/convites_openapi.py, the Sphinx extension that writes the reference at build time.
    spec = importlib.util.spec_from_file_location("convites_openapi", DOCS / "_ext" / "convites_openapi.py")
    assert spec is not None and spec.loader is not None
    extension = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(extension)
    schema = api_schema()
    page = extension.render(schema)
    sections = re.split(r"^(?=``(?:GET|POST|PUT|PATCH|DELETE) /api/[^`]*``\n~)", page, flags=re.MULTILINE)
    by_title = {section.splitlines()[0]: section for section in sections[1:]}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            title = f"``{method.upper()} /api{path}``"
            assert title in by_title, title
            section = by_title[title].split("\nSchemas\n", 1)[0]
            assert f"``{operation['operationId']}``" in section
            for status, response in operation["responses"].items():
                assert f"``{status}``" in section, (title, status)
                for code in extension.error_codes(response):
                    assert f"``{code}``" in section, (title, status, code)
    for name in schema["components"]["schemas"]:
        assert f".. _convites-openapi-{name.lower()}:" in page, name
