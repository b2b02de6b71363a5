"""Which of a user's credentials were used, when, and from where (``GET /api/auditoria/acessos/``).

Read from what is already written, with no write of its own: the API tokens and sessions of the user, and
the audit events of their uses (``api_token_usado``, written at most once a minute per token; ``login`` and
``token_renovado`` of a JWT session; ``login`` with no target for a login to a Django session). A fixed
number of queries, each an index range over one user's credentials and the period asked for.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from django_convites import policy
from django_convites.models import ApiToken, AuditEvent, SessionFamily

#: How far back the history looks when no ``desde`` is given.
DEFAULT_PERIOD = datetime.timedelta(days=30)
#: The uses listed per credential, newest first.
RECENT_USES = 5

#: Credential kind -> the events that record one of its uses (their target is the credential).
USE_EVENTS = {
    ApiToken.audit_target_type: ("api_token_usado",),
    SessionFamily.audit_target_type: ("login", "token_renovado"),
}
#: The kind of the entry that gathers logins to Django sessions (``login`` events with no target).
DJANGO_LOGIN = "login"


@dataclass(frozen=True)
class Use:
    at: datetime.datetime
    ip: str | None
    user_agent: str


@dataclass
class CredentialUses:
    """One credential: an API token, a JWT session, or the user's logins to Django sessions."""

    kind: str
    id: str | None
    name: str = ""
    created_at: datetime.datetime | None = None
    active: bool | None = None
    last_used_at: datetime.datetime | None = None
    uses: int = 0
    recent: list[Use] = field(default_factory=list)


@dataclass(frozen=True)
class AccessHistory:
    user_id: Any
    since: datetime.datetime
    credentials: list[CredentialUses]


def access_history(
    viewer: Any, *, user_id: Any = None, since: datetime.datetime | None = None, limit: int = 50
) -> AccessHistory:
    """The credentials of ``user_id`` (the viewer's own by default) that are live or were used or created since
    ``since`` (30 days ago by default), the most recently used first, at most ``limit``; with each, how many
    uses were recorded since then and the last :data:`RECENT_USES` of them.

    Reading someone else's needs the right to read their audit events (root and admin, within their
    organizations): :class:`~django_convites.exceptions.NotAllowed` otherwise."""
    user_id = viewer.pk if user_id is None else user_id
    policy.require(viewer, policy.Act.READ_AUDIT, policy.Subject(owner_id=user_id))
    now = timezone.now()
    since = since or now - DEFAULT_PERIOD
    credentials = _api_tokens(user_id, since, now, limit) + _sessions(user_id, since, now, limit)
    credentials.sort(key=_last_use, reverse=True)
    del credentials[limit:]
    _attach_uses(credentials, since)
    logins = _django_logins(user_id, since)
    if logins.uses:
        credentials.append(logins)
    credentials.sort(key=_last_use, reverse=True)
    return AccessHistory(user_id=user_id, since=since, credentials=credentials[:limit])


def _last_use(credential: CredentialUses) -> datetime.datetime:
    return (
        credential.last_used_at or credential.created_at or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
    )


def _live(now: datetime.datetime) -> Q:
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def _works(row: ApiToken | SessionFamily, now: datetime.datetime) -> bool:
    """Whether the credential still works: neither revoked nor expired (the row form of :func:`_live`)."""
    return row.revoked_at is None and (row.expires_at is None or row.expires_at > now)


def _recent(model: Any, user_id: Any, since: datetime.datetime, now: datetime.datetime, used: str, limit: int) -> Any:
    """``user_id``'s rows of ``model`` that are live or were used (``used``) or created since ``since``, the
    most recently used first."""
    rows: QuerySet[Any] = (
        model.objects.filter(user_id=user_id)
        .filter(_live(now) | Q(**{f"{used}__gte": since}) | Q(created_at__gte=since))
        .annotate(last_use=Coalesce(used, "created_at"))
        .order_by(F("last_use").desc(), "-id")[:limit]
    )
    return rows


def _api_tokens(user_id: Any, since: datetime.datetime, now: datetime.datetime, limit: int) -> list[CredentialUses]:
    return [
        CredentialUses(
            kind=ApiToken.audit_target_type,
            id=str(token.pk),
            name=token.name,
            created_at=token.created_at,
            active=_works(token, now),
            last_used_at=token.last_used_at,
        )
        for token in _recent(ApiToken, user_id, since, now, "last_used_at", limit)
    ]


def _sessions(user_id: Any, since: datetime.datetime, now: datetime.datetime, limit: int) -> list[CredentialUses]:
    return [
        CredentialUses(
            kind=SessionFamily.audit_target_type,
            id=str(family.pk),
            created_at=family.created_at,
            active=_works(family, now),
            last_used_at=family.last_refreshed_at or family.created_at,
        )
        for family in _recent(SessionFamily, user_id, since, now, "last_refreshed_at", limit)
    ]


def _attach_uses(credentials: list[CredentialUses], since: datetime.datetime) -> None:
    """Fill ``uses`` and ``recent`` of each credential: one query for the counts, one for the last uses."""
    if not credentials:
        return
    wanted = Q()
    for kind, events in USE_EVENTS.items():
        ids = [credential.id for credential in credentials if credential.kind == kind]
        if ids:
            wanted |= Q(target_type=kind, target_id__in=ids, event__in=events)
    uses = AuditEvent.objects.filter(wanted, created_at__gte=since)
    counts = {
        (row["target_type"], row["target_id"]): row["count"]
        for row in uses.order_by().values("target_type", "target_id").annotate(count=Count("id"))
    }
    latest = uses.annotate(
        position=Window(
            RowNumber(),
            partition_by=[F("target_type"), F("target_id")],
            order_by=[F("created_at").desc(), F("id").desc()],
        )
    ).filter(position__lte=RECENT_USES)
    recent: dict[tuple[str, str], list[Use]] = defaultdict(list)
    for event in latest.order_by("-created_at", "-id").values(
        "target_type", "target_id", "created_at", "ip", "user_agent"
    ):
        recent[(event["target_type"], event["target_id"])].append(
            Use(at=event["created_at"], ip=event["ip"], user_agent=event["user_agent"])
        )
    for credential in credentials:
        key = (credential.kind, credential.id or "")
        credential.uses = counts.get(key, 0)
        credential.recent = recent.get(key, [])


def _django_logins(user_id: Any, since: datetime.datetime) -> CredentialUses:
    """The user's logins to Django sessions since ``since`` (``login`` events with no target)."""
    logins = AuditEvent.objects.filter(actor_id=user_id, event="login", target_type="", created_at__gte=since)
    recent = [
        Use(at=event["created_at"], ip=event["ip"], user_agent=event["user_agent"])
        for event in logins.order_by("-created_at", "-id").values("created_at", "ip", "user_agent")[:RECENT_USES]
    ]
    return CredentialUses(
        kind=DJANGO_LOGIN,
        id=None,
        uses=logins.count() if recent else 0,
        recent=recent,
        last_used_at=recent[0].at if recent else None,
    )
