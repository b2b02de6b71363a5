"""Per-request cost of DRF authentication schemes, ours and the peers', measured in one run.

Every scheme guards the same tiny DRF view. Requests go straight to Django's WSGI handler with a prebuilt
environ (what gunicorn calls, minus sockets), so the harness adds almost nothing of its own. Cases are
interleaved in chunks, so that the machine's speed changes hit every case alike; the table reports the
median per request, its overhead above the floor (no authentication), and the queries per request.

Run it from the repository root, in a virtualenv with the peers installed (see ``benchmarks/README.md``):

    python benchmarks/auth.py [--n 3000] [--rounds 5] [--chunk 100] [--output benchmarks/results.md]
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FILLER = 1000


def configure(database: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="benchmark-only",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        ROOT_URLCONF=__name__,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database, "CONN_MAX_AGE": None}},
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "rest_framework",
            "rest_framework.authtoken",
            "knox",
            "rest_framework_api_key",
            "django_otp",
            "django_otp.plugins.otp_totp",
            "django_convites",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        REST_FRAMEWORK={
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
            "UNAUTHENTICATED_USER": None,
        },
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        SIMPLE_JWT={
            "SIGNING_KEY": "benchmark-only-signing-key-of-32-bytes!!",
            "ACCESS_TOKEN_LIFETIME": timedelta(hours=2),
        },
        DJANGO_CONVITES={"ACCESS_TOKEN_LIFETIME": 7200},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    )
    django.setup()


def views() -> dict[str, Callable]:
    from knox.auth import TokenAuthentication as KnoxAuthentication
    from rest_framework.authentication import TokenAuthentication
    from rest_framework.permissions import AllowAny, IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.views import APIView
    from rest_framework_api_key.permissions import HasAPIKey
    from rest_framework_simplejwt.authentication import JWTAuthentication

    from django_convites.api.authentication import BearerAuthentication
    from django_convites.api.permissions import HasScope

    def guarded(authentication: list, permissions: list) -> Callable:
        class View(APIView):
            authentication_classes = authentication
            permission_classes = permissions

            def get(self, request):
                return Response({"ok": True})

        return View.as_view()

    return {
        "floor": guarded([], [AllowAny]),
        "drf": guarded([TokenAuthentication], [IsAuthenticated]),
        "knox": guarded([KnoxAuthentication], [IsAuthenticated]),
        "apikey": guarded([], [HasAPIKey]),
        "simplejwt": guarded([JWTAuthentication], [IsAuthenticated]),
        "convites": guarded([BearerAuthentication], [IsAuthenticated, HasScope]),
        "convites_jwt": guarded([BearerAuthentication], [IsAuthenticated, HasScope]),
    }


urlpatterns: list = []


def build_urls() -> None:
    from django.urls import path

    urlpatterns.extend(path(f"{name}/", view) for name, view in views().items())


def make_data() -> dict[str, dict[str, str]]:
    """Filler rows for every scheme, and the headers of its cases: ``{scheme: {credential: header}}``, a
    valid and a wrong one for every scheme, and for django-convites the refused ones too (revoked,
    expired, from an address outside the allow-list; the access token of a revoked session)."""
    import secrets

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone as django_timezone
    from knox.models import AuthToken
    from rest_framework.authtoken.models import Token
    from rest_framework_api_key.models import APIKey
    from rest_framework_simplejwt.tokens import AccessToken

    from django_convites import jwt_codec, tokens
    from django_convites.models import ApiToken, SessionFamily
    from django_convites.services import api_tokens

    call_command("migrate", verbosity=0)
    users = get_user_model().objects.bulk_create(
        [get_user_model()(username=f"user{n}", password="x") for n in range(FILLER)]
    )
    Token.objects.bulk_create([Token(user=user, key=secrets.token_hex(20)) for user in users])
    for user in users[:FILLER]:
        AuthToken.objects.create(user=user)
        APIKey.objects.create_key(name=user.username)
        api_tokens.create_api_token(user=user, scope="write")
        SessionFamily.objects.create(user=user)
    user = users[FILLER // 2]
    family = SessionFamily.objects.create(user=user)
    access, _ = jwt_codec.encode(user.pk, family.pk, django_timezone.now())
    _, knox_token = AuthToken.objects.create(user=user)
    _, api_key = APIKey.objects.create_key(name="bench")
    convites = api_tokens.create_api_token(user=user, scope="write").secret
    revoked = api_tokens.create_api_token(user=user, scope="write")
    api_tokens.revoke_api_token(revoked.token.pk, actor=user)
    expired = api_tokens.create_api_token(user=user, scope="write")
    ApiToken.objects.filter(pk=expired.token.pk).update(
        created_at=django_timezone.now() - timedelta(days=2), expires_at=django_timezone.now() - timedelta(days=1)
    )
    elsewhere = api_tokens.create_api_token(user=user, scope="write", allowed_ips=["192.0.2.0/24"]).secret
    ended = SessionFamily.objects.create(user=user, revoked_at=django_timezone.now(), revoked_reason="logout")
    ended_access, _ = jwt_codec.encode(user.pk, ended.pk, django_timezone.now())
    wrong_jwt = AccessToken.for_user(user)
    wrong_jwt.set_exp(lifetime=None)

    def pair(valid: str, wrong: str) -> dict[str, str]:
        return {"valid": valid, "wrong": wrong}

    return {
        "floor": {"valid": ""},
        "drf": pair(f"Token {Token.objects.get(user=user).key}", f"Token {secrets.token_hex(20)}"),
        "knox": pair(f"Token {knox_token}", f"Token {secrets.token_hex(32)}"),
        "apikey": pair(f"Api-Key {api_key}", f"Api-Key {secrets.token_urlsafe(6)}.{secrets.token_urlsafe(24)}"),
        "simplejwt": pair(f"Bearer {AccessToken.for_user(user)}", "Bearer " + _resign(str(wrong_jwt))),
        "convites": {
            **pair(f"Bearer {convites}", f"Bearer {tokens.generate(tokens.Kind.API_TOKEN)}"),
            "revoked": f"Bearer {revoked.secret}",
            "expired": f"Bearer {expired.secret}",
            "wrong IP": f"Bearer {elsewhere}",
        },
        "convites_jwt": {
            **pair(f"Bearer {access}", "Bearer " + _resign(access)),
            "revoked session": f"Bearer {ended_access}",
        },
    }


def _resign(token: str) -> str:
    """The same claims, signed with another key: well formed, and wrong."""
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(claims, "another-key-of-at-least-thirty-two-bytes", algorithm="HS256")


def environ(path: str, header: str) -> dict:
    env = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if header:
        env["HTTP_AUTHORIZATION"] = header
    return env


def call(handler: Callable, env: dict) -> str:
    status = []
    request = dict(env, **{"wsgi.input": io.BytesIO()})
    response = handler(request, lambda s, h, e=None: status.append(s))
    b"".join(response)
    response.close()
    return status[0]


def queries(handler: Callable, env: dict) -> float:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        for _ in range(5):
            call(handler, env)
    return len(captured.captured_queries) / 5


def run(n: int, rounds: int, chunk: int, warmup: int) -> tuple[list[dict], dict]:
    from django.core.handlers.wsgi import WSGIHandler

    build_urls()
    headers = make_data()
    handler = WSGIHandler()
    cases = [(name, kind) for name, kinds in headers.items() for kind in kinds]
    envs = {(name, kind): environ(f"/{name}/", headers[name][kind]) for name, kind in cases}
    statuses = {case: call(handler, env) for case, env in envs.items()}
    for env in envs.values():
        for _ in range(warmup):
            call(handler, env)
    counts = {case: queries(handler, env) for case, env in envs.items()}
    samples: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
    round_medians: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
    gc.freeze()
    clock = time.perf_counter_ns
    for _ in range(rounds):
        gc.collect()
        this_round: dict[tuple[str, str], list[float]] = {case: [] for case in cases}
        for _ in range(0, n, chunk):
            for case in cases:
                env = envs[case]
                for _ in range(5):
                    call(handler, env)
                timings = this_round[case]
                for _ in range(chunk):
                    start = clock()
                    call(handler, env)
                    timings.append((clock() - start) / 1000)
        for case in cases:
            samples[case] += this_round[case]
            round_medians[case].append(statistics.median(this_round[case]))
    floor = statistics.median(samples[("floor", "valid")])
    rows = []
    for case in cases:
        median = statistics.median(samples[case])
        paired = statistics.median(
            [m - f for m, f in zip(round_medians[case], round_medians[("floor", "valid")], strict=True)]
        )
        rows.append(
            {
                "scheme": case[0],
                "credential": case[1],
                "median_us": median,
                "overhead_us": median - floor,
                "paired_overhead_us": paired,
                "x_floor": median / floor,
                "queries": counts[case],
                "status": statuses[case].split()[0],
            }
        )
    about = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "n": n,
        "rounds": rounds,
        "chunk": chunk,
        "versions": {
            name: version(name)
            for name in (
                "django",
                "djangorestframework",
                "django-rest-knox",
                "djangorestframework-api-key",
                "djangorestframework-simplejwt",
                "django-convites",
            )
        },
    }
    return rows, about


LABELS = {
    "floor": "no authentication, `AllowAny` (the floor)",
    "drf": "DRF `TokenAuthentication`",
    "knox": "django-rest-knox `TokenAuthentication`",
    "apikey": "djangorestframework-api-key `HasAPIKey`",
    "simplejwt": "simplejwt `JWTAuthentication`",
    "convites": "django-convites `BearerAuthentication` (API token)",
    "convites_jwt": "django-convites `BearerAuthentication` (JWT access token)",
}


def table(rows: list[dict], about: dict) -> str:
    drf = next(r for r in rows if r["scheme"] == "drf" and r["credential"] == "valid")["overhead_us"]
    lines = [
        f"Measured {about['date']}, Python {about['python']}, {about['machine']}, SQLite; "
        f"{about['n']} requests x {about['rounds']} rounds per case, interleaved in chunks of {about['chunk']}.",
        "Versions: " + ", ".join(f"{name} {value}" for name, value in about["versions"].items()) + ".",
        "",
        "| scheme | credential | median µs | overhead µs (paired) | overhead ÷ DRF Token | queries | status |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {LABELS[row['scheme']]} | {row['credential']} | {row['median_us']:.1f} | "
            f"{row['overhead_us']:.1f} ({row['paired_overhead_us']:.1f}) | {row['overhead_us'] / drf:.2f} | "
            f"{row['queries']:g} | {row['status']} |"
        )
    lines += [
        "",
        REFUSED_NOTE,
        "",
        "| scheme | credential | median ÷ valid | overhead ÷ valid's |",
        "|---|---|---:|---:|",
    ]
    for scheme in ("convites", "convites_jwt"):
        valid = next(r for r in rows if r["scheme"] == scheme and r["credential"] == "valid")
        for row in rows:
            if row["scheme"] == scheme and row["credential"] != "valid":
                lines.append(
                    f"| {LABELS[scheme]} | {row['credential']} | {row['median_us'] / valid['median_us']:.2f} | "
                    f"{row['overhead_us'] / valid['overhead_us']:.2f} |"
                )
    return "\n".join(lines)


#: Under the table: what the refused rows measure.
REFUSED_NOTE = (
    "A refused credential is replayed like the others, so all but the first refusal of each minute fall in a "
    "window already recorded (one `api_token_negado` event per token, reason and minute, docs/audit.rst). "
    "Its cost against the valid credential's of the same scheme (the target: at most 1.5):"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=3000, help="timed requests per case per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=100, help="requests per case before moving to the next")
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--output", type=Path, help="also write the table (Markdown) to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        configure(str(Path(folder) / "bench.sqlite3"))
        rows, about = run(args.n, args.rounds, args.chunk, args.warmup)
    result = table(rows, about)
    print(result)
    if args.output:
        args.output.write_text(result + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
