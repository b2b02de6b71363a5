"""What must hold in the database after any load, however the requests raced: read from the rows, not from
the responses. Each check returns a :class:`Finding`; :func:`check_all` runs them all.

Needs only Django set up with django-convites installed (no locust, no gunicorn): ``tests/test_load_invariants.py``
runs every check against hand-made rows that break it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDate

#: The most offending ids a finding names.
SHOWN = 5


@dataclass(frozen=True)
class Finding:
    """One invariant: its name, whether it held, what was checked (or what broke it)."""

    name: str
    ok: bool
    detail: str


def _events(event: str, target_type: str) -> Counter[str]:
    """How many ``event`` rows name each target id of ``target_type``."""
    from django_convites.models import AuditEvent

    rows = AuditEvent.objects.filter(event=event, target_type=target_type).values_list("target_id", flat=True)
    return Counter(rows)


def _shown(ids: Iterable[Any]) -> str:
    ids = sorted(str(i) for i in ids)
    more = f" (+{len(ids) - SHOWN} more)" if len(ids) > SHOWN else ""
    return ", ".join(ids[:SHOWN]) + more


def _one_event_each(name: str, event: str, target_type: str, changed: set[str], unit: str) -> Finding:
    """Each id in ``changed`` has exactly one ``event`` naming it, and no ``event`` names any other id."""
    counts = _events(event, target_type)
    missing = {i for i in changed if counts[i] == 0}
    repeated = {i for i in changed if counts[i] > 1}
    phantom = set(counts) - changed
    problems = []
    if missing:
        problems.append(f"{len(missing)} {unit} without {event}: {_shown(missing)}")
    if repeated:
        problems.append(f"{len(repeated)} {unit} with several {event}: {_shown(repeated)}")
    if phantom:
        problems.append(f"{len(phantom)} {event} for {unit} that did not change: {_shown(phantom)}")
    if problems:
        return Finding(name, False, "; ".join(problems))
    return Finding(name, True, f"{len(changed)} {unit}, {sum(counts.values())} {event} events")


def invites_used_once() -> Finding:
    """No invite used twice: each used invite has exactly one ``convite_usado``, no other invite has one."""
    from django_convites.models import Invite

    used = {str(pk) for pk in Invite.objects.filter(used_at__isnull=False).values_list("pk", flat=True)}
    return _one_event_each(
        "no invite used twice; one convite_usado per use", "convite_usado", "convite", used, "used invites"
    )


def invites_generated_once() -> Finding:
    """Each invite has exactly one ``convite_gerado``, and none names an invite that does not exist."""
    from django_convites.models import Invite

    issued = {str(pk) for pk in Invite.objects.values_list("pk", flat=True)}
    return _one_event_each("one convite_gerado per invite", "convite_gerado", "convite", issued, "invites")


def _is_root(user_id: Any, cache: dict[Any, bool]) -> bool:
    if user_id not in cache:
        from django.contrib.auth import get_user_model

        from django_convites import roles

        user = get_user_model().objects.filter(pk=user_id).first()
        cache[user_id] = user is not None and roles.role_of(user) is roles.Role.ROOT
    return cache[user_id]


def quota_held() -> Finding:
    """No issuer but root created more than ``INVITES_PER_DAY`` invites on one day of ``TIME_ZONE``, and each
    day's counter (:class:`~django_convites.models.InviteQuota`) equals the invites that day."""
    from django_convites.conf import app_settings
    from django_convites.models import Invite, InviteQuota

    limit = app_settings.INVITES_PER_DAY
    zone = ZoneInfo(settings.TIME_ZONE)
    per_day = {
        (row["issued_by"], row["day"]): row["n"]
        for row in Invite.objects.filter(issued_by__isnull=False)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("issued_by", "day")
        .annotate(n=Count("pk"))
    }
    roots: dict[Any, bool] = {}
    problems = []
    if limit is not None:
        over = {f"{user}@{day}={n}" for (user, day), n in per_day.items() if n > limit and not _is_root(user, roots)}
        if over:
            problems.append(f"{len(over)} issuer-days over {limit}: {_shown(over)}")
        counters = {(q.issuer_id, q.day): q.count for q in InviteQuota.objects.all()}
        wrong = {
            f"{user}@{day}: counter {counters.get((user, day), 0)}, invites {n}"
            for (user, day), n in per_day.items()
            if not _is_root(user, roots) and counters.get((user, day), 0) != n
        }
        if wrong:
            problems.append(f"{len(wrong)} quota counters that disagree with the invites: {_shown(wrong)}")
    if problems:
        return Finding("no issuer over the daily quota", False, "; ".join(problems))
    busiest = max(per_day.values(), default=0)
    return Finding(
        "no issuer over the daily quota",
        True,
        f"{len(per_day)} issuer-days, the busiest {busiest} invites (limit {limit}); counters agree",
    )


def one_live_refresh_per_family() -> Finding:
    """No session family with two live heads: at most one unspent refresh token per family, and (with no
    ``REFRESH_GRACE_PERIOD``) no refresh token replaced twice."""
    from django_convites.conf import app_settings
    from django_convites.models import RefreshToken

    heads = (
        RefreshToken.objects.filter(used_at__isnull=True)
        .values("family")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list("family", flat=True)
    )
    problems = []
    two_heads = set(heads)
    if two_heads:
        problems.append(f"{len(two_heads)} families with several unspent refresh tokens: {_shown(two_heads)}")
    if not app_settings.REFRESH_GRACE_PERIOD:
        forks = set(
            RefreshToken.objects.filter(parent__isnull=False)
            .values("parent")
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .values_list("parent", flat=True)
        )
        if forks:
            problems.append(f"{len(forks)} refresh tokens replaced more than once: {_shown(forks)}")
    name = "no refresh family with two live heads"
    if problems:
        return Finding(name, False, "; ".join(problems))
    families = RefreshToken.objects.values("family").distinct().count()
    return Finding(name, True, f"{families} families, each with at most one unspent token")


def one_event_per_rotation() -> Finding:
    """Each family has as many ``token_renovado`` events as refresh tokens that replaced another."""
    from django_convites.models import RefreshToken

    rotations = Counter(
        str(family) for family in RefreshToken.objects.filter(parent__isnull=False).values_list("family", flat=True)
    )
    events = _events("token_renovado", "sessao")
    wrong = {
        f"{family}: {rotations[family]} rotations, {events[family]} events"
        for family in set(rotations) | set(events)
        if rotations[family] != events[family]
    }
    name = "one token_renovado per rotation"
    if wrong:
        return Finding(name, False, f"{len(wrong)} families disagree: {_shown(wrong)}")
    return Finding(name, True, f"{sum(rotations.values())} rotations, {sum(events.values())} events")


def one_login_per_family() -> Finding:
    """Each session family (a login or a sign-up) has exactly one ``login`` event naming it."""
    from django_convites.models import SessionFamily

    families = {str(pk) for pk in SessionFamily.objects.values_list("pk", flat=True)}
    return _one_event_each("one login event per session", "login", "sessao", families, "sessions")


def auth_codes_spent_once() -> Finding:
    """Each spent authentication code has exactly one ``codigo_validado``; no unspent code has one."""
    from django_convites.models import AuthCode

    spent = {str(pk) for pk in AuthCode.objects.filter(used_at__isnull=False).values_list("pk", flat=True)}
    return _one_event_each("no auth code spent twice", "codigo_validado", "codigo", spent, "spent codes")


def totp_steps_once(accepted: Iterable[tuple[str, int]] | None) -> Finding:
    """No TOTP code accepted twice: the client's record of each accepted (user, time step) has no repeat,
    and the sessions opened with a second factor are as many as the client saw accepted."""
    from django.contrib.auth import get_user_model

    from django_convites.models import SessionFamily

    name = "no TOTP code accepted twice"
    if accepted is None:
        return Finding(name, True, "no client record: not checked")
    accepted = list(accepted)
    repeats = {f"{user}@{step}" for (user, step), n in Counter(accepted).items() if n > 1}
    users = {user for user, _ in accepted}
    username = get_user_model().USERNAME_FIELD
    in_db = Counter(SessionFamily.objects.filter(two_factor=True).values_list(f"user__{username}", flat=True))
    seen = Counter(user for user, _ in accepted)
    wrong = {
        f"{user}: {in_db[user]} sessions, {seen[user]} accepted"
        for user in users | set(in_db)
        if in_db[user] != seen[user]
    }
    problems = []
    if repeats:
        problems.append(f"{len(repeats)} (user, step) accepted twice: {_shown(repeats)}")
    if wrong:
        problems.append(f"{len(wrong)} users whose 2FA sessions differ from the codes accepted: {_shown(wrong)}")
    if problems:
        return Finding(name, False, "; ".join(problems))
    return Finding(name, True, f"{len(accepted)} codes accepted for {len(users)} users, each (user, step) once")


def client_uses_once(used: Mapping[str, int] | None) -> Finding:
    """The client saw each invite used at most once (every 200 of ``use`` and ``registrar``), and every one it
    saw is used in the database."""
    from django_convites.models import Invite

    name = "each invite succeeded once for the client"
    if used is None:
        return Finding(name, True, "no client record: not checked")
    twice = {invite for invite, n in used.items() if n > 1}
    in_db = {str(pk) for pk in Invite.objects.filter(used_at__isnull=False).values_list("pk", flat=True)}
    lost = set(used) - in_db
    problems = []
    if twice:
        problems.append(f"{len(twice)} invites the client used twice: {_shown(twice)}")
    if lost:
        problems.append(f"{len(lost)} invites the client used that are not used: {_shown(lost)}")
    if problems:
        return Finding(name, False, "; ".join(problems))
    return Finding(name, True, f"{len(used)} uses seen by the client, {len(in_db)} used invites")


def check_all(client: Mapping[str, Any] | None = None) -> list[Finding]:
    """Every check, in order. ``client``: what the load client recorded (``accepted_totp``: a list of
    ``[username, step]``; ``used_invites``: invite id -> times it got 200), or None."""
    client = client or {}
    accepted = client.get("accepted_totp")
    return [
        invites_used_once(),
        client_uses_once(client.get("used_invites")),
        invites_generated_once(),
        quota_held(),
        one_live_refresh_per_family(),
        one_event_per_rotation(),
        one_login_per_family(),
        totp_steps_once(None if accepted is None else [(str(u), int(s)) for u, s in accepted]),
        auth_codes_spent_once(),
    ]
