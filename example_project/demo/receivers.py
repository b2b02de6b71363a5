"""What the demo site does when someone uses an invite: the integration recipe of the docs.

django-convites spends the invite and sends ``invite_used`` inside the same transaction; this receiver
adds the user to the invite's organization and nuclei and to the group of the role its target type
grants. If anything here fails, the use is rolled back with it.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.dispatch import receiver

from demo.models import Nucleo, Organizacao
from django_convites import orgs, signals
from django_convites.conf import app_settings
from django_convites.models import Invite
from django_convites.roles import Role, forget_role


@receiver(signals.invite_used, dispatch_uid="demo.attach_new_member")
def attach_new_member(*, invite: Invite, user: Any, **kwargs: Any) -> None:
    organization_id = orgs.organization_key(invite.organization_ref)
    if organization_id is not None:
        for organization in Organizacao.objects.filter(pk=organization_id):
            organization.membros.add(user)
    for nucleus in Nucleo.objects.filter(pk__in=orgs.nucleus_keys(invite.nucleus_refs)):
        nucleus.membros.add(user)
    role = app_settings.TARGET_TYPES.get(invite.target_type)
    if role in (Role.ADMIN, Role.GESTOR):
        group, _ = Group.objects.get_or_create(name=app_settings.ROLE_GROUPS[role])
        user.groups.add(group)
        forget_role(user)
