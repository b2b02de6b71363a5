"""Plain factories for the invite tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from django_convites.models import Invite
from django_convites.services import invites
from tests.hostapp.models import Nucleus, Organization

URL = "/api/tokens/"
VALIDATE = "/api/tokens/validate/"


def make_org(name: str = "Org", nuclei: int = 2) -> tuple[Organization, list[Nucleus]]:
    organization = Organization.objects.create(name=name)
    return organization, [Nucleus.objects.create(name=f"{name} {n}", organization=organization) for n in range(nuclei)]


def issue(actor: Any, target_type: str = "associado", **extra: Any) -> invites.IssuedInvite:
    return invites.issue_invite(actor=actor, target_type=target_type, **extra)


def expire(invite: Invite) -> None:
    """Move an invite's clock back so it has expired (the service never writes ``expirado``)."""
    past = timezone.now() - timedelta(days=10)
    Invite.objects.filter(pk=invite.pk).update(created_at=past, expires_at=past + timedelta(days=1))


def error_of(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return body  # type: ignore[no-any-return]
