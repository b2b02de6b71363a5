"""The load: locust users over the example project (``python -m benchmarks.load`` runs this file headless).

``LOAD_WORLD`` names the JSON of :func:`benchmarks.load.world.build_world`; ``LOAD_CLIENT_OUT`` the JSON this
file writes at the end: what the client saw (each status per endpoint, each invite it used, each TOTP step
accepted), for the invariants. Statuses a racing client must expect (409 for an invite someone else used
first, 429 past the quota, 401 ``otp_invalid`` for a TOTP code already spent) count as successes under
their own name; anything else is a failure.

The mixed load is :class:`Issuer`, :class:`Member`, :class:`Newcomer` and :class:`TwoFactor`; the
side-by-side of the three authentications is :class:`CompareDrfToken`, :class:`CompareApiToken` and
:class:`CompareJwt`, one at a time.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import time
from collections import Counter, deque
from typing import Any

import gevent
from locust import FastHttpUser, constant, events, task

from benchmarks.load.world import current_step, totp

WORLD: dict[str, Any] = json.loads(open(os.environ["LOAD_WORLD"], encoding="utf-8").read())  # noqa: SIM115
#: Invites issued and not yet known to be used: ``(codigo, id)``.
POOL: deque[tuple[str, str]] = deque(maxlen=2000)
#: Invite id -> times the client got 200/201 using it.
USED: Counter[str] = Counter()
#: ``[username, step]`` of each TOTP code the server accepted.
ACCEPTED: list[list[Any]] = []
OUTCOMES: Counter[str] = Counter()
#: Endpoint name -> [statements, responses that said how many] (the X-Load-Queries header).
QUERIES: dict[str, list[int]] = {}
#: The TOTP accounts, in turn, and the last step each was tried at.
TOTP_ACCOUNTS: deque[dict[str, str]] = deque(WORLD["totp"])
LAST_STEP: dict[str, int] = {me["username"]: me["confirmed_step"] for me in WORLD["totp"]}
#: Share of uses that put the code back in the pool, so that another user races for the same invite.
CONTESTED = 0.3

#: With ``LOAD_TIMELINE`` set (the fault run): every response as ``[time, endpoint, status, code, JSON body,
#: Retry-After given]``, for :func:`benchmarks.load.faults.classify`.
TIMELINE: list[list[Any]] | None = [] if os.environ.get("LOAD_TIMELINE") else None

_issuers = itertools.cycle(WORLD["issuers"])
_members = itertools.cycle(WORLD["members"])


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _count_queries(response: Any, name: str) -> None:
    header = response.headers.get("X-Load-Queries") if response.headers else None
    if header is not None:
        total = QUERIES.setdefault(name, [0, 0])
        total[0] += int(header)
        total[1] += 1


def _check(response: Any, name: str, expected: dict[int, str]) -> bool:
    """Success when the status is expected, with the error ``code`` given for it (if any); counts the
    outcome. True for the first expected status."""
    status = response.status_code
    _count_queries(response, name)
    code = ""
    is_json = False
    if status >= 400:
        try:
            code = " " + str(response.json().get("code", ""))
            is_json = True
        except (ValueError, AttributeError, TypeError):
            code = ""
    if TIMELINE is not None:
        retry_after = bool(response.headers and response.headers.get("Retry-After"))
        TIMELINE.append([time.time(), name, status, code.strip(), is_json, retry_after])
    OUTCOMES[f"{name} -> {status}{code}".rstrip()] += 1
    if status in expected and (not expected[status] or code.strip() == expected[status]):
        response.success()
        return status == next(iter(expected))
    response.failure(f"unexpected {status}: {response.text[:200]}")
    return False


class Issuer(FastHttpUser):
    """A gestor with an API token: creates invites (up to the daily quota) and lists their own."""

    weight = 2
    wait_time = constant(0)

    def on_start(self) -> None:
        self.me = next(_issuers)

    @task(3)
    def issue(self) -> None:
        name = "POST /api/tokens/"
        with self.client.post(
            "/api/tokens/",
            json={"tipo_destino": "convidado"},
            headers=_bearer(self.me["api_token"]),
            name=name,
            catch_response=True,
        ) as response:
            if _check(response, name, {201: "", 429: "invite_quota_exceeded"}):
                body = response.json()
                POOL.append((body["codigo"], body["id"]))

    @task(1)
    def list_own(self) -> None:
        name = "GET /api/tokens/?estado=novo"
        with self.client.get(
            "/api/tokens/?estado=novo", headers=_bearer(self.me["api_token"]), name=name, catch_response=True
        ) as response:
            _check(response, name, {200: ""})


class Member(FastHttpUser):
    """An ordinary user: a JWT session it keeps refreshing, API-token reads, invites validated and used."""

    weight = 4
    wait_time = constant(0)

    def on_start(self) -> None:
        self.me = next(_members)
        self.login()

    def login(self) -> None:
        name = "POST /api/auth/token/"
        with self.client.post(
            "/api/auth/token/",
            json={"username": self.me["username"], "password": self.me["password"]},
            name=name,
            catch_response=True,
        ) as response:
            if _check(response, name, {200: ""}):
                self.pair = response.json()

    @task(3)
    def refresh(self) -> None:
        if not hasattr(self, "pair"):
            return self.login()
        name = "POST /api/auth/token/refresh/"
        with self.client.post(
            "/api/auth/token/refresh/", json={"refresh": self.pair["refresh"]}, name=name, catch_response=True
        ) as response:
            if _check(response, name, {200: ""}):
                self.pair = response.json()

    @task(3)
    def read_with_api_token(self) -> None:
        name = "GET /api/api-tokens/ (API token)"
        with self.client.get(
            "/api/api-tokens/", headers=_bearer(self.me["api_token"]), name=name, catch_response=True
        ) as response:
            _check(response, name, {200: ""})

    @task(2)
    def read_with_jwt(self) -> None:
        if not hasattr(self, "pair"):
            return self.login()
        name = "GET /api/auth/sessoes/ (JWT)"
        with self.client.get(
            "/api/auth/sessoes/", headers=_bearer(self.pair["access"]), name=name, catch_response=True
        ) as response:
            _check(response, name, {200: ""})

    @task(2)
    def validate(self) -> None:
        if not POOL:
            return
        code, _ = random.choice(POOL)
        name = "POST /api/tokens/validate/"
        with self.client.post(
            "/api/tokens/validate/", json={"codigo": code}, name=name, catch_response=True
        ) as response:
            _check(response, name, {200: "", 410: "invite_used"})

    @task(2)
    def use(self) -> None:
        if not POOL:
            return
        code, invite_id = POOL.popleft()
        if random.random() < CONTESTED:
            POOL.appendleft((code, invite_id))
        name = "POST /api/tokens/<ref>/use/"
        with self.client.post(
            f"/api/tokens/{invite_id}/use/",
            json={"codigo": code},
            headers=_bearer(self.me["api_token"]),
            name=name,
            catch_response=True,
        ) as response:
            if _check(response, name, {200: "", 409: "invite_used"}):
                USED[invite_id] += 1


class FaultMember(Member):
    """:class:`Member` for the fault run: it also logs in again now and then (so that JWT logins, which spend
    the login limits, go on while Redis is down), and after a refresh refused (its session revoked by a
    failure in the middle) it logs in again."""

    def relogin(self) -> None:
        self.login()

    def refresh_or_login(self) -> None:
        if not hasattr(self, "pair"):
            return self.login()
        name = "POST /api/auth/token/refresh/"
        with self.client.post(
            "/api/auth/token/refresh/", json={"refresh": self.pair["refresh"]}, name=name, catch_response=True
        ) as response:
            if _check(response, name, {200: "", 401: ""}):
                self.pair = response.json()
            elif response.status_code == 401:
                self.login()

    tasks = {
        refresh_or_login: 3,
        Member.read_with_api_token: 3,
        Member.read_with_jwt: 2,
        Member.validate: 2,
        Member.use: 2,
        relogin: 1,
    }


class Newcomer(FastHttpUser):
    """Someone without an account signing up with an invite's code."""

    weight = 1
    wait_time = constant(0)

    @task
    def sign_up(self) -> None:
        if not POOL:
            return
        code, invite_id = POOL.popleft()
        if random.random() < CONTESTED:
            POOL.appendleft((code, invite_id))
        username = f"new_{secrets.token_hex(6)}"
        name = "POST /api/tokens/<ref>/registrar/"
        with self.client.post(
            f"/api/tokens/{code}/registrar/",
            json={"username": username, "email": f"{username}@load.example", "password": secrets.token_urlsafe(18)},
            name=name,
            catch_response=True,
        ) as response:
            if _check(response, name, {201: "", 409: "invite_used"}):
                USED[invite_id] += 1


class TwoFactor(FastHttpUser):
    """A user with TOTP logging in with the code of the current step, computed from the enrolment secret.

    The accounts are shared in turn by every :class:`TwoFactor` user; an account whose code of this step was
    accepted waits for the next step. After each accepted code, half the time, the same code is sent again
    at once: a replay, which must get 401 ``otp_invalid``."""

    weight = 1
    wait_time = constant(0)

    @task
    def login_with_otp(self) -> None:
        for _ in range(len(TOTP_ACCOUNTS)):
            me = TOTP_ACCOUNTS[0]
            TOTP_ACCOUNTS.rotate(-1)
            if LAST_STEP.get(me["username"], -1) < current_step():
                break
        else:
            gevent.sleep(0.5)  # every account has spent this step's code
            return
        step = current_step()
        LAST_STEP[me["username"]] = step
        body = {"username": me["username"], "password": me["password"], "otp": totp(me["secret"], step)}
        name = "POST /api/auth/token/ (TOTP)"
        with self.client.post("/api/auth/token/", json=body, name=name, catch_response=True) as response:
            accepted = _check(response, name, {200: ""})
            if response.status_code == 503:  # refused before it was tried: the code is not spent
                LAST_STEP[me["username"]] = step - 1
        if accepted:
            ACCEPTED.append([me["username"], step])
            if random.random() < 0.5:
                name = "POST /api/auth/token/ (TOTP replayed)"
                with self.client.post("/api/auth/token/", json=body, name=name, catch_response=True) as response:
                    _check(response, name, {401: "otp_invalid"})


def _get(user: FastHttpUser, path: str, headers: dict[str, str], name: str) -> None:
    with user.client.get(path, headers=headers, name=name, catch_response=True) as response:
        _check(response, name, {200: ""})


class _Compare(FastHttpUser):
    """The same tiny view, ``GET`` as fast as it answers, behind one authentication per class; the run measures
    one class at a time."""

    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        self.me = next(_members)


class CompareDrfToken(_Compare):
    """DRF's ``TokenAuthentication``: ``Authorization: Token <key>``."""

    @task
    def drf_token(self) -> None:
        _get(
            self,
            "/load/drf-token/",
            {"Authorization": f"Token {self.me['drf_token']}"},
            "tiny view: DRF TokenAuthentication",
        )


class CompareApiToken(_Compare):
    """django-convites' ``BearerAuthentication`` with an API token."""

    @task
    def api_token(self) -> None:
        _get(self, "/load/api-token/", _bearer(self.me["api_token"]), "tiny view: our API token")


class CompareJwt(_Compare):
    """django-convites' ``BearerAuthentication`` with a JWT access token (made with the users, an hour long)."""

    @task
    def jwt(self) -> None:
        _get(self, "/load/jwt/", _bearer(self.me["access"]), "tiny view: our JWT")


@events.quitting.add_listener
def _write_client_record(environment: Any, **kwargs: Any) -> None:
    out = os.environ.get("LOAD_CLIENT_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "used_invites": dict(USED),
                    "accepted_totp": ACCEPTED,
                    "outcomes": dict(OUTCOMES),
                    "queries": QUERIES,
                    "timeline": TIMELINE,
                },
                handle,
            )
