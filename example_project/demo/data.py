"""The demo's data: one user per role, the role groups, an organization with two nuclei.

:func:`ensure_demo_data` is idempotent: it creates what is missing, puts back into the demo state what
differs from it (flags, role groups, a changed password) and leaves alone what already matches, so a
second run changes nothing: a demo password is not re-hashed, and the demo users' sessions go on. It never
deletes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from demo.models import Nucleo, Organizacao
from django_convites.conf import app_settings
from django_convites.roles import role_of

DEFAULT_PASSWORD = "demo12345"  # noqa: S105 - the documented demo password, printed on every run

ORGANIZATION_SLUG = "organizacao-demo"
ORGANIZATION_NAME = "Organização Demo"
NUCLEUS_NAMES = ("Núcleo Norte", "Núcleo Sul")

# Apps whose models the ``admin`` group may manage in Django's admin.
ADMIN_GROUP_APPS = ("demo", "django_convites")


@dataclass(frozen=True)
class DemoUserSpec:
    username: str
    is_superuser: bool = False
    is_staff: bool = False
    role_group: str | None = None  # a key of ROLE_GROUPS: "admin" or "gestor"


DEMO_USERS = (
    DemoUserSpec("root", is_superuser=True, is_staff=True),
    DemoUserSpec("admin", is_staff=True, role_group="admin"),
    DemoUserSpec("gestor", role_group="gestor"),
    DemoUserSpec("usuario"),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    created: bool
    description: str


@dataclass
class DemoData:
    users: list[DemoUser] = field(default_factory=list)
    organization: str = ""
    nuclei: list[str] = field(default_factory=list)
    created: int = 0  # rows created by this run (users, groups, organization, nuclei)


def ensure_demo_data(password: str = DEFAULT_PASSWORD) -> DemoData:
    """Create the demo data, or put back what differs from it; every demo user's password becomes
    ``password`` (a user whose password is ``password`` already keeps its hash)."""
    result = DemoData()
    with transaction.atomic():
        groups = _ensure_role_groups(result)
        for spec in DEMO_USERS:
            user = _ensure_user(spec, password, groups)
            result.users.append(user)
            result.created += user.created
        _ensure_organization(result)
    return result


def _ensure_role_groups(result: DemoData) -> dict[str, Group]:
    groups: dict[str, Group] = {}
    for role, name in app_settings.ROLE_GROUPS.items():
        group, created = Group.objects.get_or_create(name=name)
        result.created += created
        groups[role] = group
    permissions = Permission.objects.filter(content_type__app_label__in=ADMIN_GROUP_APPS)
    groups["admin"].permissions.add(*permissions)
    return groups


def _ensure_user(spec: DemoUserSpec, password: str, groups: dict[str, Group]) -> DemoUser:
    user_model = get_user_model()
    user, created = user_model._default_manager.get_or_create(
        **{user_model.USERNAME_FIELD: spec.username},
        defaults={"email": f"{spec.username}@example.com"},
    )
    flags = {"is_active": True, "is_staff": spec.is_staff, "is_superuser": spec.is_superuser}
    changed = [name for name, value in flags.items() if getattr(user, name) != value]
    for name in changed:
        setattr(user, name, flags[name])
    # A new password (even the same one, re-hashed) ends the user's sessions: only when it differs.
    if not user.check_password(password):
        user.set_password(password)
        changed.append("password")
    if changed:
        user.save(update_fields=changed)
    wanted = groups[spec.role_group] if spec.role_group else None
    current = set(user.groups.filter(pk__in=[group.pk for group in groups.values()]))
    extra = [group for group in groups.values() if group != wanted and group in current]
    if extra:
        user.groups.remove(*extra)
    if wanted is not None and wanted not in current:
        user.groups.add(wanted)
    role = role_of(user)
    return DemoUser(
        username=spec.username,
        role=role.value if role is not None else "-",
        created=created,
        description=_describe(spec, groups),
    )


def _describe(spec: DemoUserSpec, groups: dict[str, Group]) -> str:
    parts = []
    if spec.is_superuser:
        parts.append("superuser")
    if spec.role_group:
        parts.append(f'group "{groups[spec.role_group].name}"')
    if spec.is_staff:
        parts.append("staff (admin site)")
    return ", ".join(parts) or "no group"


def _ensure_organization(result: DemoData) -> None:
    organization, created = Organizacao.objects.get_or_create(
        slug=ORGANIZATION_SLUG, defaults={"nome": ORGANIZATION_NAME}
    )
    result.created += created
    result.organization = organization.nome
    for name in NUCLEUS_NAMES:
        nucleus, created = Nucleo.objects.get_or_create(organizacao=organization, nome=name)
        result.created += created
        result.nuclei.append(nucleus.nome)
