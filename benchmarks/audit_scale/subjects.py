"""Whom and what the cases ask about: the subjects of the filters, picked from the filled logs, the user kept
alike, and the API tokens the requests authenticate with."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from benchmarks.audit_scale.databases import AUDIT_TABLE, LARGE, SMALL
from benchmarks.audit_scale.world import STEADY_USER, World


def counts(alias: str, sql: str, params: list | None = None) -> dict[Any, int]:
    from django.db import connections

    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params or [])
        return dict(cursor.fetchall())


def busiest(column: str, where: str = "TRUE", params: list | None = None) -> tuple[Any, int, int]:
    """The value of ``column`` with the most events in the large log among those the small log has too: the
    subject a case asks for exists at both sizes. The events of the user kept alike, the same at both sizes, are
    left out."""
    sql = (
        f"SELECT {column}, count(*) FROM {AUDIT_TABLE} WHERE {where} AND {column} IS NOT NULL "
        f"AND actor_id IS DISTINCT FROM {STEADY_USER + 1} GROUP BY 1"
    )
    small, large = counts(SMALL, sql, params), counts(LARGE, sql, params)
    value = max(large, key=lambda key: (key in small, large[key]))
    return value, small.get(value, 0), large[value]


@dataclass
class Subjects:
    root_id: int
    user_id: int
    user_token: str
    invite: str
    target: str
    ip: str
    steady_id: int  # the user kept alike
    root_header: str = ""
    user_header: str = ""
    steady_header: str = ""
    notes: dict[str, str] = field(default_factory=dict)


def choose_subjects(world: World) -> Subjects:
    ordinary = [index + 1 for index, role in enumerate(world.roles) if role == "usuario"]
    owners = {token["owner"] + 1 for token in world.tokens}
    candidates = [user for user in ordinary if user in owners]
    user_id, user_small, user_large = busiest("actor_id", "actor_id = ANY(%s)", [candidates])
    tokens = [str(token["id"]) for token in world.tokens if token["owner"] + 1 == user_id]
    user_token, token_small, token_large = busiest(
        "target_id", "target_type = 'api_token' AND target_id = ANY(%s)", [tokens]
    )
    invite, invite_small, invite_large = busiest("target_id", "target_type = 'convite'")
    target, target_small, target_large = busiest("target_id", "target_id <> ''")
    ip, ip_small, ip_large = busiest("host(ip)")
    steady_id = world.steady.user + 1
    sql = f"SELECT actor_id, count(*) FROM {AUDIT_TABLE} WHERE actor_id = %s GROUP BY 1"
    steady_small, steady_large = (counts(alias, sql, [steady_id])[steady_id] for alias in (SMALL, LARGE))
    return Subjects(
        root_id=1,
        user_id=user_id,
        user_token=user_token,
        invite=invite,
        target=target,
        ip=ip,
        steady_id=steady_id,
        notes={
            "user": f"user {user_id} (role usuario): {user_small:,} / {user_large:,} events",
            "token": f"their busiest API token: {token_small:,} / {token_large:,} events",
            "invite": f"the busiest invite: {invite_small:,} / {invite_large:,} events",
            "target": f"the busiest target id: {target_small:,} / {target_large:,} events",
            "ip": f"the busiest IP address: {ip_small:,} / {ip_large:,} events",
            "steady": f"the user kept alike: user {steady_id}, {steady_small:,} / {steady_large:,} events",
        },
    )


def mint_tokens(subjects: Subjects, now: datetime) -> None:
    """An ``admin`` API token for root and a ``read`` one for the ordinary user and for the user kept alike, the
    same rows in both databases. Their ``last_used_at`` is a day ahead, so authentication never writes while
    it is measured (it writes at most once a minute per token, when ``last_used_at`` is a minute old)."""
    from django_convites import tokens
    from django_convites.models import ApiToken

    headers = []
    for user_id, scope in ((subjects.root_id, "admin"), (subjects.user_id, "read"), (subjects.steady_id, "read")):
        secret = tokens.generate(tokens.Kind.API_TOKEN)
        token_id = uuid.uuid4()
        for alias in (SMALL, LARGE):
            ApiToken.objects.using(alias).create(
                id=token_id,
                user_id=user_id,
                name=f"benchmark {scope}",
                scope=scope,
                digest=tokens.digest(secret),
                prefix=tokens.display_prefix(secret),
                created_at=now,
                last_used_at=now + timedelta(days=1),
            )
        headers.append(f"Bearer {secret}")
    subjects.root_header, subjects.user_header, subjects.steady_header = headers
