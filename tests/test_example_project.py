"""The example project runs: each test drives ``example_project/manage.py`` in a subprocess.

The subprocesses use the example project's settings and a temporary SQLite file through ``DATABASE_URL``;
they import the same ``django_convites`` these tests import.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import re
import shutil
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.example_site import (
    example_env,
    run_manage,
    serving,
)
from tests.invites import INVITE_FIELDS

COMMAND_TIMEOUT = 60
#: The environment of a site with debug off: it needs a key of its own (the demo's is public).
DEBUG_OFF = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "example-project-tests-" + "k" * 40}
DEMO_USERS = {"root", "admin", "gestor", "usuario"}

COUNTS = """
import json
import re
import shutil
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from demo.models import Nucleo, Organizacao
print(json.dumps({
    "users": get_user_model().objects.count(),
    # Other tests of the module add users to the shared site (in any order): the demo's own are these.
    "demo_users": get_user_model().objects.filter(username__in=["root", "admin", "gestor", "usuario"]).count(),
    "groups": Group.objects.count(),
    "organizations": Organizacao.objects.count(),
    "nuclei": Nucleo.objects.count(),
}))
"""


@dataclass(frozen=True)
class ExampleSite:
    env: dict[str, str]
    demo_output: str


def manage(env: dict[str, str], *args: str) -> str:
    """Run ``manage.py *args``; fail with its output unless it succeeds; return its stdout."""
    result = run_manage(env, *args, timeout=COMMAND_TIMEOUT)
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def shell_json(env: dict[str, str], code: str) -> Any:
    """Run ``code`` in ``manage.py shell``; it prints one JSON document as its last line."""
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ExampleSite:
    env = example_env(tmp_path_factory.mktemp("example_project") / "db.sqlite3")
    output = manage(env, "demo", "--noserve", "--addrport", "0.0.0.0:8123")
    return ExampleSite(env=env, demo_output=output)


def test_system_checks_pass(site: ExampleSite) -> None:
    assert "System check identified no issues" in manage(site.env, "check")


def test_system_checks_pass_with_debug_off(site: ExampleSite) -> None:
    # The throttles count in the database cache, which every server process shares: no W004.
    assert "System check identified no issues" in manage({**site.env, **DEBUG_OFF}, "check")


def test_with_debug_off_it_refuses_to_start_without_a_secret_key_of_its_own(site: ExampleSite) -> None:
    unset = {name: value for name, value in site.env.items() if name != "DJANGO_SECRET_KEY"}
    debug_off = {**unset, "DJANGO_DEBUG": "0"}
    demo_key = "django-insecure-example-project-demo-only-never-use-in-production"
    for env, args in (
        (debug_off, ("check",)),
        (debug_off, ("demo", "--noserve")),
        ({**debug_off, "DJANGO_SECRET_KEY": " "}, ("check",)),
        ({**debug_off, "DJANGO_SECRET_KEY": demo_key}, ("check",)),  # the published key, given explicitly
    ):
        result = run_manage(env, *args)
        assert result.returncode != 0, result.stdout
        assert "ImproperlyConfigured: Set DJANGO_SECRET_KEY" in result.stderr, result.stderr
    # With debug on (the README's `manage.py demo`) the demo key serves.
    code = "import json\nfrom django.conf import settings\nprint(json.dumps([settings.DEBUG, settings.SECRET_KEY]))"
    assert shell_json(unset, code) == [True, demo_key]


def test_sqlite_runs_in_wal_mode_with_immediate_transactions_and_a_busy_timeout(site: ExampleSite) -> None:
    sqlite = shell_json(
        site.env,
        "import json\n"
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    journal = cursor.execute('PRAGMA journal_mode').fetchone()[0]\n"
        "    synchronous = cursor.execute('PRAGMA synchronous').fetchone()[0]\n"
        "print(json.dumps({'journal': journal, 'synchronous': synchronous, 'mode': connection.transaction_mode,"
        " 'timeout': connection.settings_dict['OPTIONS']['timeout']}))",
    )
    assert sqlite == {"journal": "wal", "synchronous": 1, "mode": "IMMEDIATE", "timeout": 20}  # 1: NORMAL


def test_demo_creates_the_users_and_an_organization_with_two_nuclei(site: ExampleSite) -> None:
    data = shell_json(
        site.env,
        "import json\n"
        "from django.contrib.auth import get_user_model\n"
        "from demo.models import Organizacao\n"
        "users = {u.username: [u.is_superuser, u.is_staff, sorted(u.groups.values_list('name', flat=True))]"
        " for u in get_user_model().objects.filter(username__in=['root', 'admin', 'gestor', 'usuario'])}\n"
        "orgs = {o.nome: sorted(o.nucleos.values_list('nome', flat=True)) for o in Organizacao.objects.all()}\n"
        "print(json.dumps({'users': users, 'orgs': orgs}))",
    )
    assert data["users"] == {
        "root": [True, True, []],
        "admin": [False, True, ["admin"]],
        "gestor": [False, False, ["gestor"]],
        "usuario": [False, False, []],
    }
    assert data["orgs"] == {"Organização Demo": ["Núcleo Norte", "Núcleo Sul"]}


def test_demo_prints_how_to_log_in(site: ExampleSite) -> None:
    output = site.demo_output
    assert "demo12345" in output
    for username in DEMO_USERS:
        assert username in output
    # An unspecified bind address becomes a URL a local browser can open.
    assert "http://127.0.0.1:8123/accounts/login/" in output
    assert "curl" in output
    assert "http://127.0.0.1:8123/api/" in output


def test_demo_data_is_idempotent_and_resets_passwords(site: ExampleSite) -> None:
    before = shell_json(site.env, COUNTS)
    manage(site.env, "demo_data", "--password", "outra-senha")
    after = shell_json(site.env, COUNTS)
    assert after == before
    assert {key: value for key, value in after.items() if key != "users"} == {
        "demo_users": 4,
        "groups": 2,
        "organizations": 1,
        "nuclei": 2,
    }
    passwords = shell_json(
        site.env,
        "import json\n"
        "from django.contrib.auth import get_user_model\n"
        "print(json.dumps({u.username: u.check_password('outra-senha') for u in get_user_model().objects.filter(username__in=['root', 'admin', 'gestor', 'usuario'])}))",
    )
    assert passwords == dict.fromkeys(DEMO_USERS, True)


#: What a second run of demo_data must leave alone: row counts, password hashes, the sessions.
STATE = """
import json
from django.contrib.auth import get_user, get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory
from demo.models import Nucleo, Organizacao
from django_convites.models import AuditEvent, SessionFamily
from django_convites.services import sessions
key, family = %(session)r, %(family)r
if key is None:  # log the gestor in: a Django session and a JWT session
    client = Client()
    assert client.login(username="gestor", password="demo12345")
    key = client.cookies["sessionid"].value
    family = str(sessions.login(username="gestor", password="demo12345").family.pk)
request = RequestFactory().get("/")
request.session = SessionStore(key)
print(json.dumps({
    "session": key,
    "family": family,
    "rows": [get_user_model().objects.count(), Group.objects.count(), Organizacao.objects.count(),
             Nucleo.objects.count()],
    "hashes": {u.username: u.password for u in get_user_model().objects.all()},
    "family_revoked": SessionFamily.objects.get(pk=family).revoked_at is not None,
    "session_user": get_user(request).get_username(),
    "sessions_ended": AuditEvent.objects.filter(event="sessao_revogada").count(),
}))
"""


def test_a_second_demo_data_run_changes_nothing_and_ends_no_session(site: ExampleSite) -> None:
    manage(site.env, "demo_data")  # another test changes the demo password
    before = shell_json(site.env, STATE % {"session": None, "family": None})
    assert (before["family_revoked"], before["session_user"]) == (False, "gestor")
    assert "nothing new to create" in manage(site.env, "demo_data")
    after = shell_json(site.env, STATE % before)
    # Nothing new, no password re-hashed, and both sessions go on.
    assert after == before


def test_demo_users_have_one_role_each(site: ExampleSite) -> None:
    roles = shell_json(
        site.env,
        "import json\n"
        "from django.contrib.auth import get_user_model\n"
        "from django_convites.roles import role_of\n"
        "print(json.dumps({u.username: role_of(u).value for u in get_user_model().objects.filter(username__in=['root', 'admin', 'gestor', 'usuario'])}))",
    )
    assert roles == {"root": "root", "admin": "admin", "gestor": "gestor", "usuario": "usuario"}


def read_mail(path: Path) -> email.message.EmailMessage:
    """The first message of a file Django's file-based mail backend wrote, decoded as a mail client would
    (Django 6.1 writes UTF-8 text quoted-printable, so the raw file breaks long lines such as links)."""
    raw = path.read_text(encoding="utf-8").split("\n" + "-" * 79 + "\n")[0]
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_mail_goes_to_files_in_email_file_path(site: ExampleSite, tmp_path: Path) -> None:
    mail_dir = tmp_path / "sent_emails"
    env = {**site.env, "EMAIL_FILE_PATH": str(mail_dir)}
    manage(
        env,
        "shell",
        "-c",
        "from django.core.mail import send_mail\n"
        "send_mail('Convite', 'Seu convite chegou.', None, ['alguem@example.com'])",
    )
    files = list(mail_dir.iterdir())
    assert len(files) == 1
    message = read_mail(files[0])
    assert (message["Subject"], message.get_content().strip()) == ("Convite", "Seu convite chegou.")


def test_mail_goes_to_the_console_by_default(site: ExampleSite) -> None:
    output = manage(
        site.env,
        "shell",
        "-c",
        "from django.core.mail import send_mail\n"
        "send_mail('Convite', 'Seu convite chegou.', None, ['alguem@example.com'])",
    )
    assert "Subject: Convite" in output


def get(url: str) -> tuple[int, str, bytes]:
    """GET ``url``: status, content type and body, for error statuses too."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - http://127.0.0.1 only
            return response.status, response.headers.get_content_type(), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_content_type(), error.read()


@pytest.fixture
def server(site: ExampleSite, tmp_path: Path) -> Iterator[str]:
    """The example project served by ``runserver`` on a free port; yields its base URL."""
    # Debug off: with DEBUG on, Django answers an unmatched URL with its technical 404 page and never
    # calls handler404. Debug off needs a secret key of its own.
    with serving({**site.env, **DEBUG_OFF}, tmp_path / "runserver.log") as base:
        yield base


def test_runserver_serves_the_json_api_and_json_errors(server: str) -> None:
    status, content_type, body = get(f"{server}/api/")
    assert (status, content_type) == (200, "application/json")
    assert isinstance(json.loads(body), dict)

    status, content_type, body = get(f"{server}/api/does-not-exist/")
    assert (status, content_type) == (404, "application/json")
    error = json.loads(body)
    assert error["code"] == "not_found"
    assert error["detail"]

    status, content_type, body = get(f"{server}/")
    assert (status, content_type) == (200, "text/html")
    assert b"django-convites" in body


def test_demo_convite_walks_an_invite_through_its_life(site: ExampleSite) -> None:
    output = manage(site.env, "demo_convite", "--username", "convidada")
    assert "1. gestor issued an invite for 'associado'" in output
    assert "2. an anonymous visitor validated the code" in output
    assert "3. the new account 'convidada' used the invite." in output
    assert "4. a second use is refused: invite_used." in output
    member = shell_json(
        site.env,
        "import json\n"
        "from django.contrib.auth import get_user_model\n"
        "from django_convites.roles import role_of\n"
        "u = get_user_model().objects.get(username='convidada')\n"
        "print(json.dumps({'orgs': [o.slug for o in u.organizacoes.all()],"
        " 'nuclei': sorted(n.nome for n in u.nucleos.all()), 'role': role_of(u).value}))",
    )
    assert member == {"orgs": ["organizacao-demo"], "nuclei": ["Núcleo Norte", "Núcleo Sul"], "role": "usuario"}


def test_demo_convite_with_an_address_mails_the_invite_to_email_file_path(site: ExampleSite, tmp_path: Path) -> None:
    mail_dir = tmp_path / "sent_emails"
    env = {**site.env, "EMAIL_FILE_PATH": str(mail_dir)}
    output = manage(env, "demo_convite", "--email", "nova@example.com", "--base-url", "http://127.0.0.1:8123")
    (mail_file,) = mail_dir.iterdir()
    assert f"2. the mail is in {mail_file}." in output
    message = read_mail(mail_file)
    assert message["To"] == "nova@example.com"
    (code,) = re.findall(r"http://127\.0\.0\.1:8123/tokens/convites/aceitar/(cvi_\w+)/", message.get_content())
    assert code not in output  # the command leaves the code to the mail
    state = shell_json(
        env,
        "import json\n"
        "from django_convites.models import Invite\n"
        "print(json.dumps([[i.email, i.state().value] for i in Invite.objects.filter(email='nova@example.com')]))",
    )
    assert state == [["nova@example.com", "novo"]]


SIGNUP_12345 = """
import json
from django.contrib.auth import get_user_model
from django_convites.exceptions import InvalidFields
from demo.models import Organizacao
from django_convites.services import invites, signup
gestor = get_user_model().objects.get(username="gestor")
organization = Organizacao.objects.get(slug="organizacao-demo")
code = invites.issue_invite(actor=gestor, target_type="associado", organization=organization.pk).code
answer = {}
try:
    signup.sign_up_with_invite(code, data={"username": "fraca", "email": "fraca@example.com", "password": "12345"})
except InvalidFields as error:
    answer["refused"] = error.errors
answer["created"] = get_user_model().objects.filter(username="fraca").exists()
made = signup.sign_up_with_invite(
    code, data={"username": "forte", "email": "forte@example.com", "password": "uma senha longa e boa 42"}
)
answer["member_of"] = [o.slug for o in made.user.organizacoes.all()]
print(json.dumps(answer))
"""


def test_the_example_project_refuses_a_sign_up_with_12345(site: ExampleSite) -> None:
    answer = shell_json(site.env, SIGNUP_12345)
    assert answer["created"] is False
    assert set(answer["refused"]) == {"password"}
    assert len(answer["refused"]["password"]) == 3  # too short, too common, entirely numeric
    assert answer["member_of"] == ["organizacao-demo"]  # a valid password then signs up, and the receiver runs


def curl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, timeout=20, check=True)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_seed_curl_for_invite_creation_gets_201(site: ExampleSite, server: str) -> None:
    manage(site.env, "demo_data")  # another test changes the demo password
    login = curl(
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"username":"gestor","password":"demo12345"}',
        f"{server}/api/auth/token/",
    )
    jwt = json.loads(login.stdout)["access"]
    # The seed's command, word for word but for the host.
    result = curl(
        "-X",
        "POST",
        "-H",
        f"Authorization: Bearer {jwt}",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{"tipo_destino":"associado"}',
        "-D",
        "-",
        f"{server}/api/tokens/",
    )
    head, _, body = result.stdout.partition("\n\n")
    assert head.startswith("HTTP/1.1 201"), result.stdout
    assert re.search(r"^X-Convites-Restantes: [0-4]$", head, flags=re.MULTILINE), head
    assert "Cache-Control: no-store" in head
    invite = json.loads(body)
    assert set(invite) == {*INVITE_FIELDS, "codigo"}
    assert (invite["tipo_destino"], invite["estado"], invite["organizacao"]) == ("associado", "novo", None)
    validated = curl(
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        json.dumps({"codigo": invite["codigo"]}),
        f"{server}/api/tokens/validate/",
    )
    assert json.loads(validated.stdout)["valido"] is True
    # The seed's other commands: revoke by code, list API tokens, read an invite's logs.
    revoked = curl(
        "-X", "POST", "-H", f"Authorization: Bearer {jwt}", f"{server}/api/tokens/{invite['codigo']}/revogar/"
    )
    assert json.loads(revoked.stdout)["estado"] == "revogado"
    listed = curl("-H", f"Authorization: Bearer {jwt}", f"{server}/api/api-tokens/")
    assert json.loads(listed.stdout)["results"] == []
    logs = curl("-H", f"Authorization: Bearer {jwt}", f"{server}/api/tokens/{invite['id']}/logs/")
    assert [row["evento"] for row in json.loads(logs.stdout)["results"]] == [
        "convite_revogado",
        "convite_validado",
        "convite_gerado",
    ]


def test_the_openapi_schema_documents_every_endpoint_without_warnings(site: ExampleSite, tmp_path: Path) -> None:
    schema_file = tmp_path / "schema.json"
    manage(
        site.env, "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(schema_file)
    )
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    schemes = schema["components"]["securitySchemes"]
    assert {
        name: (scheme["type"], scheme.get("scheme"), scheme.get("bearerFormat")) for name, scheme in schemes.items()
    } == {
        "convitesJWT": ("http", "bearer", "JWT"),
        "convitesApiToken": ("http", "bearer", "cvp_..."),
        "cookieAuth": ("apiKey", None, None),
    }
    paths = set(schema["paths"])
    for path in (
        "/api/tokens/",
        "/api/tokens/validate/",
        "/api/tokens/{ref}/",
        "/api/tokens/{ref}/use/",
        "/api/tokens/{ref}/revogar/",
        "/api/tokens/{ref}/logs/",
        "/api/api-tokens/",
        "/api/api-tokens/{token_id}/",
        "/api/api-tokens/{token_id}/rotacionar/",
        "/api/api-tokens/{token_id}/logs/",
        "/api/auditoria/",
        "/api/auth/token/",
        "/api/auth/token/refresh/",
        "/api/auth/token/revoke/",
        "/api/auth/sessoes/",
        "/api/auth/sessoes/{family_id}/",
        "/api/2fa/",
        "/api/2fa/totp/",
        "/api/2fa/totp/confirmar/",
        "/api/2fa/desativar/",
        "/api/codigos/",
        "/api/codigos/validar/",
    ):
        assert path in paths, path
    created = schema["paths"]["/api/tokens/"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert created == {"$ref": "#/components/schemas/IssuedInvite"}
    assert "codigo" in schema["components"]["schemas"]["IssuedInvite"]["properties"]
    assert "codigo" not in schema["components"]["schemas"]["Invite"]["properties"]


def test_the_swagger_page_works_offline(site: ExampleSite, tmp_path: Path) -> None:
    # Swagger UI's files come from drf-spectacular-sidecar, served by the site (debug on: runserver serves
    # static files), not from a CDN: /api/docs/ works without the internet and calls no other site.
    pytest.importorskip("drf_spectacular_sidecar")
    with serving(site.env, tmp_path / "runserver.log") as base:
        status, content_type, body = get(f"{base}/api/docs/")
        assert (status, content_type) == (200, "text/html")
        page = body.decode("utf-8")
        external = [url for url in re.findall(r"(?:https?:)?//[\w.-]+(?::\d+)?", page) if not url.endswith(base[5:])]
        assert external == [], external
        assert '"validatorUrl": null' in page  # no badge fetched from swagger.io's validator
        assets = re.findall(r'<(?:script|link)[^>]*\b(?:src|href)="([^"]+)"', page)
        assert len(assets) >= 4, assets  # the CSS, the favicon and the two scripts
        for asset in [*assets, re.search(r'url: "([^"]+)"', page).group(1)]:  # type: ignore[union-attr]
            assert asset.startswith("/"), asset
            status, _, content = get(f"{base}{asset}")
            assert status == 200 and content, asset


PARALLEL_USERS = 10  # runserver queues at most 10 connections (request_queue_size)

JWTS = """
import json
from django.contrib.auth import get_user_model
from django_convites.services import sessions
tokens = []
for i in range(COUNT):
    user, _ = get_user_model().objects.get_or_create(username=f"paralelo{i}")
    user.set_password("x")
    user.save()
    tokens.append(sessions.login(username=user.username, password="x").access)
print(json.dumps(tokens))
""".replace("COUNT", str(PARALLEL_USERS))


def test_parallel_two_factor_enrolments_on_sqlite_never_fail(site: ExampleSite, server: str) -> None:
    # Ten users enrol at once through runserver's threads. On SQLite's defaults most of them got 500
    # "database is locked"; WAL, IMMEDIATE transactions and the busy timeout serialize them.
    tokens = shell_json({**site.env, **DEBUG_OFF}, JWTS)  # signed with the server's key
    barrier = threading.Barrier(len(tokens))
    statuses: list[int | str] = []

    def enrol(token: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            f"{server}/api/2fa/totp/",
            data=b"{}",
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        barrier.wait(timeout=30)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - http://127.0.0.1 only
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
        except OSError as error:
            statuses.append(repr(error))

    threads = [threading.Thread(target=enrol, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [201] * len(tokens)


def test_the_environment_names_a_webhook_and_the_worker_delivers_to_it(site: ExampleSite) -> None:
    import hashlib
    import hmac
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[tuple[dict[str, str], bytes]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = "example-webhook-secret-0123456789"
    env = {
        **site.env,
        "CONVITES_WEBHOOK_URL": f"http://127.0.0.1:{server.server_port}/convites",
        "CONVITES_WEBHOOK_SECRET": secret,
        "CONVITES_WEBHOOK_EVENTOS": "convite_gerado, convite_usado",
    }
    try:
        manage(env, "check")
        manage(env, "demo_convite", "--username", "webhook_convidada")
        output = manage(env, "convites_deliver_webhooks")
    finally:
        server.shutdown()
        server.server_close()
    assert "Delivered 2, failed 0" in output, output
    assert sorted(json.loads(body)["evento"] for _, body in received) == ["convite_gerado", "convite_usado"]
    for headers, body in received:
        fields = dict(part.split("=", 1) for part in headers["X-Convites-Assinatura"].split(","))
        expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(fields["v1"], expected)


def test_demo_convite_works_on_every_run_root_issuing_once_gestors_quota_is_spent(tmp_path: Path) -> None:
    env = example_env(tmp_path / "db.sqlite3")
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "demo_data", "--verbosity", "0")
    outputs = [manage(env, "demo_convite") for _ in range(6)]  # INVITES_PER_DAY is 5
    assert all("3. the new account" in output and "invite_used" in output for output in outputs)
    assert [output.splitlines()[0].split(" ", 2)[1] for output in outputs[:5]] == ["gestor"] * 5
    assert "root, whom the quota does not bind, issues this one" in outputs[5]
    assert "1. root issued an invite" in outputs[5]


def test_demo_refuses_a_busy_port_before_saying_the_site_is_ready(site: ExampleSite) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_manage(site.env, "demo", "--addrport", f"127.0.0.1:{port}", timeout=COMMAND_TIMEOUT)
    assert done.returncode == 1
    assert f"Cannot serve the demo on 127.0.0.1:{port}" in done.stderr
    assert "--addrport 127.0.0.1:8001" in done.stderr
    assert "is ready" not in done.stdout
