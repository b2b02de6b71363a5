"""What the invite tests share besides the factories of ``tests/factories.py``: the invite endpoints, the
check of an error answer, and what a refused sign-up must leave behind (nothing)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from django_convites.models import AuditEvent, Invite, SessionFamily

URL = "/api/tokens/"
VALIDATE = "/api/tokens/validate/"
#: The fields of an invite on the wire, in their order (``GET /api/tokens/<ref>/``; the 201 adds ``codigo``).
INVITE_FIELDS = (
    "id",
    "tipo_destino",
    "organizacao",
    "nucleos",
    "estado",
    "email",
    "data_expiracao",
    "criado_em",
    "gerado_por",
    "usado_em",
    "usado_por",
    "revogado_em",
    "revogado_por",
)


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body  # type: ignore[no-any-return]


def new_users() -> Any:
    """The users that sign-ups made: everyone but those of the ``users`` fixture."""
    return get_user_model()._default_manager.exclude(username__in=["root", "admin", "gestor", "usuario"])


def assert_nothing_written(invite: Invite) -> None:
    """A refused sign-up: the invite unspent, no new user, no session, no use or login recorded."""
    invite.refresh_from_db()
    assert invite.used_at is None and invite.used_by_id is None
    assert not new_users().exists()
    assert not SessionFamily.objects.exists()
    assert not AuditEvent.objects.filter(event__in=["convite_usado", "login"]).exists()
