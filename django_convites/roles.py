"""Who may do what: the four roles, how a user gets one, and the policy table (docs/roles.rst).

:data:`POLICY` is the single statement of the table. :mod:`django_convites.policy` reads it, together with the
credential of the request and the target, to make the one authorization decision every service asks.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from django.contrib.auth.models import AnonymousUser

from django_convites.conf import app_settings


class Role(str, enum.Enum):
    """A user's role, highest first. Its value is the wire name."""

    ROOT = "root"
    ADMIN = "admin"
    GESTOR = "gestor"
    USUARIO = "usuario"

    @property
    def rank(self) -> int:
        """Higher is more powerful: root 3, admin 2, gestor 1, usuario 0."""
        return _RANKS[self]

    def outranks(self, other: Role) -> bool:
        return self.rank > other.rank


_RANKS = {Role.ROOT: 3, Role.ADMIN: 2, Role.GESTOR: 1, Role.USUARIO: 0}


class Reach(str, enum.Enum):
    """How far a role's permission for an action goes."""

    ALL = "all"  # any object, anyone's
    OWN = "own"  # only objects the user owns (issued, created)
    NONE = "none"  # not at all: 403


class Action(str, enum.Enum):
    """Every row of the role table (docs/roles.rst)."""

    CREATE_INVITE = "create_invite"
    INVITE_HIGHER_ROLE = "invite_higher_role"
    LIST_INVITES = "list_invites"
    REVOKE_INVITE = "revoke_invite"
    READ_INVITE_LOGS = "read_invite_logs"
    USE_INVITE = "use_invite"
    CREATE_API_TOKEN = "create_api_token"  # noqa: S105
    CREATE_ADMIN_API_TOKEN = "create_admin_api_token"  # noqa: S105
    MANAGE_API_TOKENS = "manage_api_tokens"
    READ_AUDIT_OF_OTHERS = "read_audit_of_others"


_A, _O, _N = Reach.ALL, Reach.OWN, Reach.NONE

#: Action -> reach per role, in the column order root, admin, gestor, usuario of docs/roles.rst.
POLICY: Mapping[Action, Mapping[Role, Reach]] = {
    action: dict(zip(Role, row, strict=True))
    for action, row in {
        Action.CREATE_INVITE: (_A, _A, _A, _N),
        Action.INVITE_HIGHER_ROLE: (_A, _N, _N, _N),
        Action.LIST_INVITES: (_A, _A, _O, _N),
        Action.REVOKE_INVITE: (_A, _A, _O, _N),
        Action.READ_INVITE_LOGS: (_A, _A, _O, _N),
        Action.USE_INVITE: (_A, _A, _A, _A),
        Action.CREATE_API_TOKEN: (_A, _A, _A, _A),
        Action.CREATE_ADMIN_API_TOKEN: (_A, _A, _N, _N),
        Action.MANAGE_API_TOKENS: (_A, _A, _O, _O),
        Action.READ_AUDIT_OF_OTHERS: (_A, _A, _N, _N),
    }.items()
}


def resolve_role_from_groups(user: Any) -> Role:
    """The default resolver: superuser -> root; group ``admin`` -> admin; ``gestor`` -> gestor; else usuario.

    Group names come from ``ROLE_GROUPS``. Costs one query (the user's group names), once per user object.
    """
    if user.is_superuser:
        return Role.ROOT
    groups = app_settings.ROLE_GROUPS
    names = set(user.groups.filter(name__in=list(groups.values())).values_list("name", flat=True))
    if groups["admin"] in names:
        return Role.ADMIN
    if groups["gestor"] in names:
        return Role.GESTOR
    return Role.USUARIO


_CACHE_ATTR = "_convites_role"


def role_of(user: Any) -> Role | None:
    """The user's role through the configured resolver; None for anonymous or inactive users.

    The answer is cached on the user object, so a request asks the resolver once.
    """
    if user is None or isinstance(user, AnonymousUser) or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, _CACHE_ATTR, None)
    if isinstance(cached, Role):
        return cached
    role = Role(app_settings.ROLE_RESOLVER(user))
    setattr(user, _CACHE_ATTR, role)
    return role


def forget_role(user: Any) -> None:
    """Drop the cached role (after changing the user's groups in the same request)."""
    user.__dict__.pop(_CACHE_ATTR, None)


#: Actions an API token may take only with the ``admin`` scope (read by :mod:`django_convites.policy`).
ADMIN_SCOPE_ACTIONS = frozenset({Action.INVITE_HIGHER_ROLE, Action.CREATE_ADMIN_API_TOKEN, Action.READ_AUDIT_OF_OTHERS})


def role_for_target_type(target_type: str) -> Role:
    """The role an invite of ``target_type`` grants; ``KeyError`` for an unknown type."""
    return Role(app_settings.TARGET_TYPES[target_type])


def managed_organizations(user: Any) -> frozenset[Any] | None:
    """Organization ids ``user`` may act on, or None for no confinement.

    Root is never confined. Others are confined only when ``ORGANIZATION_RESOLVER`` is set and returns
    an iterable for them.
    """
    if role_of(user) is Role.ROOT:
        return None
    resolver = app_settings.ORGANIZATION_RESOLVER
    if resolver is None:
        return None
    managed = resolver(user)
    return None if managed is None else frozenset(managed)


def may_manage_organization(user: Any, organization_id: Any) -> bool:
    """Whether ``user`` may act on ``organization_id`` (None: an invite without organization)."""
    managed = managed_organizations(user)
    if managed is None:
        return True
    # Compared as text: a resolver may answer 7 where the invite stores "7".
    return organization_id is not None and str(organization_id) in {str(item) for item in managed}
