"""The objects both databases hold, the same rows with the same ids: users and their roles' groups, API
tokens, JWT sessions and invites, drawn once from a seed; and the user kept alike, whose credentials and
events are the same at both sizes."""

from __future__ import annotations

import bisect
import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

N_USERS = 1000
N_ROOT, N_ADMIN, N_GESTOR = 3, 10, 40
N_INVITES = 5000
N_TOKENS = 2000
N_SESSIONS = 30000
N_IPS = 3000

USER_AGENTS = (
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36", 35),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", 20),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15", 12),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 8),
    ("python-requests/2.32.3", 15),
    ("curl/8.5.0", 6),
    ("convites-app/3.4 (Android 14)", 4),
)

#: The user kept alike: its API tokens (name, scope, created days ago, revoked days ago, uses a day), its
#: JWT sessions and its logins to Django sessions over the last :data:`STEADY_DAYS` days, from addresses
#: (documentation ranges) that no other user has.
STEADY_TOKENS = (
    ("backup script", "read", 150, None, 6.0),
    ("laptop", "write", 90, None, 1.5),
    ("old integration", "write", 200, 12, 1.0),
)
STEADY_USER = N_USERS  # its index, after the world's users: user id N_USERS + 1
STEADY_SESSIONS = 9
STEADY_DJANGO_LOGINS = 25
STEADY_DAYS = 45
STEADY_HOME_IP, STEADY_PHONE_IP, STEADY_SERVER_IP = "198.51.100.23", "2001:db8::23", "198.51.100.80"


class Picker:
    """Draws an index with the given weights (bisect over the cumulative sums)."""

    def __init__(self, weights: list[float], rng: random.Random) -> None:
        self.cumulative: list[float] = []
        total = 0.0
        for weight in weights:
            total += weight
            self.cumulative.append(total)
        self.total = total
        self.rng = rng

    def __call__(self) -> int:
        return bisect.bisect(self.cumulative, self.rng.random() * self.total)


@dataclass
class Steady:
    """The user kept alike (the user index after the world's users): credentials nobody else's events
    name, and events drawn once, as :func:`~benchmarks.audit_scale.fill.generate_events` draws its own (write
    time, event, actor index, target type, target id, IP, user agent, time, details)."""

    user: int
    tokens: list[dict[str, Any]]
    sessions: list[dict[str, Any]]
    events: list[tuple]


@dataclass
class World:
    """The objects both databases hold, and what the events are drawn from. Times are epoch seconds."""

    now: float
    roles: list[str]  # by user index; user id = index + 1
    activity: list[float]
    home_ips: list[tuple[str, str]]
    user_agent: list[str]
    ips: list[str]
    steady: Steady
    tokens: list[dict[str, Any]] = field(default_factory=list)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    invites: list[dict[str, Any]] = field(default_factory=list)


def make_ips(rng: random.Random) -> list[str]:
    ips = []
    prefixes = [(rng.randrange(11, 223), rng.randrange(256)) for _ in range(40)]
    while len(ips) < N_IPS:
        if rng.random() < 0.1:
            ips.append(f"2804:{rng.randrange(0x10000):x}:{rng.randrange(0x10000):x}::{rng.randrange(1, 0x10000):x}")
        else:
            a, b = rng.choice(prefixes)
            ips.append(f"{a}.{b}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
    return list(dict.fromkeys(ips))


def build_world(seed: int, now: float) -> World:
    from django_convites import tokens

    rng = random.Random(seed)
    year = 365 * 86400.0
    roles = ["root"] * N_ROOT + ["admin"] * N_ADMIN + ["gestor"] * N_GESTOR
    roles += ["usuario"] * (N_USERS - len(roles))
    ranks = list(range(N_USERS))
    rng.shuffle(ranks)  # a user's place in the activity ranking, whatever their role
    activity = [1.0 / (rank + 1) for rank in ranks]  # Zipf: a few users far more active than the rest
    ips = make_ips(rng)
    ip_pick = Picker([1.0 / (n + 1) ** 0.8 for n in range(len(ips))], rng)
    agents = [agent for agent, _ in USER_AGENTS]
    agent_pick = Picker([weight for _, weight in USER_AGENTS], rng)
    world = World(
        now=now,
        roles=roles,
        activity=activity,
        home_ips=[(ips[ip_pick()], ips[ip_pick()]) for _ in range(N_USERS)],
        user_agent=[agents[agent_pick()] for _ in range(N_USERS)],
        ips=ips,
        steady=build_steady(seed, now),
    )
    by_activity = sorted(range(N_USERS), key=lambda user: -activity[user])
    # API tokens: one for each of the 50 most active users (their integrations), the rest by activity, less
    # skewed: a busy user holds a few dozen tokens, most hold none or one.
    owner_pick = Picker([weight**0.5 for weight in activity], rng)
    owners = by_activity[:50] + [owner_pick() for _ in range(N_TOKENS - 50)]
    for n, owner in enumerate(owners):
        created = now - rng.uniform(2 * 86400, year)
        expires = created + rng.uniform(90, 400) * 86400 if rng.random() < 0.3 else None
        revoked = created + rng.uniform(0.2, 1.0) * (now - created) if rng.random() < 0.15 else None
        end = min(value for value in (expires, revoked, now) if value is not None)
        secret = tokens.generate(tokens.Kind.API_TOKEN)
        role = roles[owner]
        scope = rng.choice(["read", "read", "write", "write", "admin" if role in ("root", "admin") else "write"])
        world.tokens.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "owner": owner,
                "name": f"integration {n}",
                "scope": scope,
                "digest": tokens.digest(secret),
                "prefix": tokens.display_prefix(secret),
                "created": created,
                "expires": expires,
                "revoked": revoked,
                "end": max(end, created + 60),
                "last_used": None,
            }
        )
    # JWT sessions: people log in a bounded number of times, so the owners are less skewed than the actors.
    session_owner = Picker([weight**0.5 for weight in activity], rng)
    for _ in range(N_SESSIONS):
        owner = session_owner()
        created = now - rng.uniform(60, year)
        active_for = min(rng.expovariate(1 / (3 * 86400)), 30 * 86400, now - created)
        revoked = created + active_for + rng.uniform(0, 3600) if rng.random() < 0.4 else None
        if revoked is not None and revoked > now:
            revoked = None
        world.sessions.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "owner": owner,
                "created": created,
                "last": created + active_for,
                "revoked": revoked,
            }
        )
    # Invites, issued by root, admin and gestor users.
    issuers = [user for user in range(N_USERS) if roles[user] != "usuario"]
    ordinary = [user for user in range(N_USERS) if roles[user] == "usuario"]
    issuer_pick = Picker([activity[user] for user in issuers], rng)
    for n in range(N_INVITES):
        created = now - rng.uniform(60, year)
        expires = created + 7 * 86400
        used = revoked = None
        chance = rng.random()
        if chance < 0.55:
            used = rng.uniform(created + 1, min(expires, now - 1))
        elif chance < 0.63:
            revoked = rng.uniform(created + 1, min(expires, now - 1))
        world.invites.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "issuer": issuers[issuer_pick()],
                "target_type": rng.choice(["associado", "associado", "nucleado", "convidado", "coordenador"]),
                "digest": hashlib.sha256(f"bench-invite-{seed}-{n}".encode()).hexdigest(),
                "created": created,
                "expires": expires,
                "used": used,
                "used_by": rng.choice(ordinary) if used is not None else None,
                "revoked": revoked,
            }
        )
    return world


def build_steady(seed: int, now: float) -> Steady:
    """The user kept alike, of role usuario, drawn from its own seed: the API tokens of
    :data:`STEADY_TOKENS`, used at their rates over the last :data:`STEADY_DAYS` days (until revoked); a JWT
    session every few days, each with its login, a few refreshes and, for most, a logout; logins to Django
    sessions; a few failed logins. About 300 uses in the last 30 days."""
    from django_convites import tokens

    rng = random.Random(seed - 1)
    day = 86400.0
    user = STEADY_USER
    start = now - STEADY_DAYS * day
    steady = Steady(user=user, tokens=[], sessions=[], events=[])

    def add(name: str, target_type: str, target_id: str, when: float, ip: str, agent: str, details: str) -> None:
        steady.events.append((when + rng.uniform(0, 30), name, user, target_type, target_id, ip, agent, when, details))

    browser, script = USER_AGENTS[0][0], "python-requests/2.32.3"
    for name, scope, created_days, revoked_days, per_day in STEADY_TOKENS:
        created = now - created_days * day
        revoked = now - revoked_days * day if revoked_days is not None else None
        end = revoked or now - 60
        uses = sorted(rng.uniform(start, end) for _ in range(round(per_day * (end - start) / day)))
        secret = tokens.generate(tokens.Kind.API_TOKEN)
        token = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "owner": user,
            "name": name,
            "scope": scope,
            "digest": tokens.digest(secret),
            "prefix": tokens.display_prefix(secret),
            "created": created,
            "expires": None,
            "revoked": revoked,
            "last_used": uses[-1],
        }
        steady.tokens.append(token)
        target = str(token["id"])
        details = json.dumps({"scope": scope, "nome": name, "expira_em": None})
        add("api_token_gerado", "api_token", target, created, STEADY_HOME_IP, browser, details)
        ip, agent = (STEADY_SERVER_IP, script) if name != "laptop" else (STEADY_HOME_IP, browser)
        for when in uses:
            add("api_token_usado", "api_token", target, when, ip, agent, "{}")
        if revoked is not None:
            add("api_token_revogado", "api_token", target, revoked, STEADY_HOME_IP, browser, "{}")
    for created in sorted(rng.uniform(start, now - 3600) for _ in range(STEADY_SESSIONS)):
        last = min(created + rng.uniform(2 * 3600, 3 * day), now - 60)
        revoked = last + rng.uniform(60, 3600) if rng.random() < 0.7 else None
        if revoked is not None and revoked > now:
            revoked = None
        ip = rng.choice((STEADY_HOME_IP, STEADY_PHONE_IP))
        session = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "owner": user,
            "created": created,
            "last": last,
            "revoked": revoked,
            "ip": ip,
            "agent": browser,
        }
        steady.sessions.append(session)
        target = str(session["id"])
        add("login", "sessao", target, created, ip, browser, "{}")
        for when in sorted(rng.uniform(created, last) for _ in range(rng.randint(3, 10))):
            add("token_renovado", "sessao", target, when, ip, browser, "{}")
        if revoked is not None:
            add("sessao_revogada", "sessao", target, revoked, ip, browser, '{"motivo": "logout"}')
    for when in (rng.uniform(start, now - 60) for _ in range(STEADY_DJANGO_LOGINS)):
        add("login", "", "", when, STEADY_HOME_IP, browser, '{"via": "django"}')
    for when in (rng.uniform(start, now - 60) for _ in range(3)):
        details = json.dumps({"motivo": "invalid_credentials", "usuario_informado": f"user{user + 1:04d}"})
        add("login_falhou", "", "", when, STEADY_HOME_IP, browser, details)
    return steady


def aware(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, timezone.utc)


def write_objects(alias: str, world: World) -> None:
    """Users (with their roles' groups), invites, API tokens and JWT sessions into ``alias``, the user kept
    alike and its credentials among them."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management.color import no_style
    from django.db import connections

    from django_convites.models import ApiToken, Invite, SessionFamily

    user_model = get_user_model()
    password = make_password("x")
    joined = aware(world.now - 400 * 86400)
    steady = world.steady
    users = [
        user_model(
            id=index + 1,
            username=f"user{index + 1:04d}",
            email=f"user{index + 1:04d}@example.com",
            password=password,
            is_superuser=role == "root",
            is_staff=role in ("root", "admin"),
            date_joined=joined,
        )
        for index, role in enumerate([*world.roles, "usuario"])  # the user kept alike is the last one
    ]
    user_model.objects.using(alias).bulk_create(users, batch_size=1000)
    groups = {
        name: Group.objects.using(alias).create(id=n + 1, name=name) for n, name in enumerate(("admin", "gestor"))
    }
    through = user_model.groups.through
    through.objects.using(alias).bulk_create(
        through(user_id=index + 1, group_id=groups[role].id) for index, role in enumerate(world.roles) if role in groups
    )
    with connections[alias].cursor() as cursor:
        for sql in connections[alias].ops.sequence_reset_sql(no_style(), [user_model, Group]):
            cursor.execute(sql)
    ApiToken.objects.using(alias).bulk_create(
        (
            ApiToken(
                id=token["id"],
                user_id=token["owner"] + 1,
                name=token["name"],
                scope=token["scope"],
                digest=token["digest"],
                prefix=token["prefix"],
                created_at=aware(token["created"]),
                expires_at=aware(token["expires"]),
                revoked_at=aware(token["revoked"]),
                last_used_at=aware(token["last_used"]),
            )
            for token in world.tokens + steady.tokens
        ),
        batch_size=2000,
    )
    sessions = [
        (session, world.home_ips[session["owner"]][0], world.user_agent[session["owner"]]) for session in world.sessions
    ]
    sessions += [(session, session["ip"], session["agent"]) for session in steady.sessions]
    SessionFamily.objects.using(alias).bulk_create(
        (
            SessionFamily(
                id=session["id"],
                user_id=session["owner"] + 1,
                created_at=aware(session["created"]),
                last_refreshed_at=aware(session["last"]) if session["last"] > session["created"] else None,
                expires_at=aware(session["created"] + 30 * 86400),
                ip=ip,
                user_agent=agent,
                revoked_at=aware(session["revoked"]),
                revoked_reason="logout" if session["revoked"] is not None else "",
            )
            for session, ip, agent in sessions
        ),
        batch_size=5000,
    )
    Invite.objects.using(alias).bulk_create(
        (
            Invite(
                id=invite["id"],
                code_digest=invite["digest"],
                target_type=invite["target_type"],
                issued_by_id=invite["issuer"] + 1,
                created_at=aware(invite["created"]),
                expires_at=aware(invite["expires"]),
                used_at=aware(invite["used"]),
                used_by_id=None if invite["used_by"] is None else invite["used_by"] + 1,
                revoked_at=aware(invite["revoked"]),
                revoked_by_id=invite["issuer"] + 1 if invite["revoked"] is not None else None,
            )
            for invite in world.invites
        ),
        batch_size=2000,
    )
