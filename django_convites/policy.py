"""The one authorization decision: may this actor, through this credential, do this to this target?

Every service asks :func:`decide` (or :func:`require`, which raises) before it acts, whether the call
comes from the API, an HTML page, the admin or a management command. Three things go into the answer:

* the **role** of the actor, through the table :data:`django_convites.roles.POLICY` (docs/roles.rst);
* the **credential** that authenticated the request (:class:`Credential`): a session, a JWT access
  token or an API token with its scope, and whether a second factor was proved. An API token never
  does more than its scope: below ``admin`` its reach over other people's objects stops at its owner's
  own, and it never touches factors (:data:`INTERACTIVE_ONLY`);
* the **target** (:class:`Subject`): whose object it is, which organizations it belongs to, and for an
  API token the scope of the token acted on.

Organization confinement (``ORGANIZATION_RESOLVER``) applies to every object with an owner or an
organization: a confined admin or gestor acts only on objects of the organizations they manage, and on
other users' objects only when those users belong to one of them (``ORGANIZATION_MEMBERS_RESOLVER``;
without it, a confined user reaches only their own objects). Root is never confined.

The decision is data in, :class:`Decision` out, with no query of its own beyond the role and
organization resolvers, so the tests can check it cell by cell (``tests/test_authorization_matrix.py``
against the table in ``docs/roles.rst``).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from django_convites import roles
from django_convites.conf import app_settings
from django_convites.exceptions import (
    InteractiveLoginRequired,
    NotAllowed,
    NotOwner,
    ScopeNotAllowed,
)
from django_convites.models import Scope
from django_convites.roles import Action, Reach, Role


class CredentialKind(str, enum.Enum):
    """How a request was authenticated."""

    SESSION = "session"  # Django's session cookie (HTML pages, the browsable API)
    JWT = "jwt"  # an access token of a JWT session
    API_TOKEN = "api_token"  # noqa: S105
    SYSTEM = "system"  # code of the site itself: a management command, a task, a shell


@dataclass(frozen=True)
class Credential:
    """The credential behind a request: its kind, an API token's scope, and whether it proved a second
    factor (a verified session, a JWT whose login passed ``otp``)."""

    kind: CredentialKind
    scope: Scope | None = None
    second_factor: bool = False
    #: The row behind the credential: an API token's id, a JWT session's family id; None for the others.
    id: Any = None

    @property
    def interactive(self) -> bool:
        """A person logged in with a password: a session or a JWT, never an API token."""
        return self.kind in (CredentialKind.SESSION, CredentialKind.JWT)

    @property
    def session_id(self) -> Any:
        """The id of the JWT session (its family) that authenticated the request, or None."""
        return self.id if self.kind is CredentialKind.JWT else None


#: The credential of code that runs without a request (commands, tasks): the actor's role alone decides.
SYSTEM = Credential(CredentialKind.SYSTEM)

_CREDENTIAL_ATTR = "_convites_credential"


def set_credential(user: Any, credential: Credential) -> None:
    """Record how ``user`` authenticated this request (done by the app's authentication classes)."""
    setattr(user, _CREDENTIAL_ATTR, credential)


def credential_of(user: Any) -> Credential:
    """The credential ``user`` acts through: what an authentication class recorded, else a session
    (verified when django-otp's ``is_verified()`` says so). The one place the app reads how a request was
    authenticated: services, permissions and views ask this, never ``request.auth``."""
    recorded = getattr(user, _CREDENTIAL_ATTR, None)
    if isinstance(recorded, Credential):
        return recorded
    is_verified = getattr(user, "is_verified", None)
    return Credential(CredentialKind.SESSION, second_factor=bool(callable(is_verified) and is_verified()))


# -- the actions beyond the role table --------------------------------------------------------------------


class Act(str, enum.Enum):
    """Actions that the role table of :mod:`~django_convites.roles` does not name, with the role row
    each one reads (:data:`ROLE_ROW`)."""

    READ_API_TOKEN = "read_api_token"  # noqa: S105
    REVOKE_API_TOKEN = "revoke_api_token"  # noqa: S105
    ROTATE_API_TOKEN = "rotate_api_token"  # noqa: S105
    READ_API_TOKEN_LOGS = "read_api_token_logs"  # noqa: S105
    READ_AUDIT = "read_audit"
    LIST_SESSIONS = "list_sessions"
    END_SESSION = "end_session"
    END_SESSION_OF_OTHERS = "end_session_of_others"
    CHANGE_SECOND_FACTOR = "change_second_factor"
    REQUEST_AUTH_CODE = "request_auth_code"
    UNLOCK_SECOND_FACTOR = "unlock_second_factor"
    RESEND_INVITE = "resend_invite"
    REDELIVER_WEBHOOK = "redeliver_webhook"


AnyAction = Action | Act

#: The role-table row each extra action follows. ``None``: owner only, for every role.
ROLE_ROW: dict[Act, Action | None] = {
    Act.READ_API_TOKEN: Action.MANAGE_API_TOKENS,
    Act.REVOKE_API_TOKEN: Action.MANAGE_API_TOKENS,
    Act.READ_API_TOKEN_LOGS: Action.MANAGE_API_TOKENS,
    Act.READ_AUDIT: Action.READ_AUDIT_OF_OTHERS,
    # Only the owner may rotate: a rotation hands out a working secret, and nobody may receive another
    # user's secret, root included.
    Act.ROTATE_API_TOKEN: None,
    Act.LIST_SESSIONS: None,
    Act.END_SESSION: None,
    # Ending someone else's session (the admin's action) is managing their credentials.
    Act.END_SESSION_OF_OTHERS: Action.MANAGE_API_TOKENS,
    Act.CHANGE_SECOND_FACTOR: None,
    Act.REQUEST_AUTH_CODE: None,
    # Lifting someone's two-factor lockout (the admin's action) is managing their credentials too: the
    # service asks for the whole reach (root and admin) and never lets a user lift their own.
    Act.UNLOCK_SECOND_FACTOR: Action.MANAGE_API_TOKENS,
    # Sending an invite again (a new code to its bound address) is managing the invite, as revoking it is:
    # the issuer, or root and admin within their organizations; an API token as for revoking.
    Act.RESEND_INVITE: Action.REVOKE_INVITE,
    # Sending an audit event to the site's webhooks again (the admin's action on the outbox) is for those
    # who may read that event: root and admin, confined to their organizations' members' events.
    Act.REDELIVER_WEBHOOK: Action.READ_AUDIT_OF_OTHERS,
}

#: Actions an API token may never take, whatever its scope: a leaked CI token must not lock its owner
#: out by changing their factors, nor pass a step-up check (403 ``interactive_login_required``).
INTERACTIVE_ONLY: frozenset[AnyAction] = frozenset({Act.CHANGE_SECOND_FACTOR, Act.REQUEST_AUTH_CODE})

#: Actions only on another user's objects, and only with the whole reach (root and admin): a lockout ends
#: by time or by someone else, never by the locked-out user (403 ``permission_denied``).
OTHERS_ONLY: frozenset[AnyAction] = frozenset({Act.UNLOCK_SECOND_FACTOR})

#: Actions that need the ``admin`` scope of an API token when they reach beyond the owner's objects.
ADMIN_SCOPE_ACTIONS: frozenset[AnyAction] = frozenset(roles.ADMIN_SCOPE_ACTIONS)


@dataclass(frozen=True)
class Subject:
    """What an action is done to.

    ``owner_id`` is the user who owns it (the issuer of an invite, the holder of a token or session);
    ``organization`` the organization it belongs to, when it has one (``has_organization``: whether the
    kind of object carries organizations at all); ``scope`` the scope of the API token acted on.
    """

    owner_id: Any = None
    organization: Any = None
    has_organization: bool = False
    scope: Scope | None = None


@dataclass(frozen=True)
class Decision:
    """The answer: ``allowed``, and when not, a stable ``reason`` (``role``, ``scope``, ``interactive``,
    ``not_owner``, ``organization``), which is also what the audit event of a refusal records."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True)


def _deny(reason: str) -> Decision:
    return Decision(False, reason)


def reach(actor: Any, action: AnyAction, credential: Credential | None = None) -> Reach:
    """How far ``actor`` may take ``action`` through ``credential`` (theirs by default): everyone's
    objects, their own, or none. Anonymous and inactive users reach nothing."""
    role = roles.role_of(actor)
    if role is None:
        return Reach.NONE
    credential = credential or credential_of(actor)
    if action in INTERACTIVE_ONLY and credential.kind is CredentialKind.API_TOKEN:
        return Reach.NONE
    if isinstance(action, Act):
        row = ROLE_ROW[action]
        granted = Reach.OWN if row is None else _role_reach(row, role)
        if action is Act.READ_AUDIT and granted is Reach.NONE:
            granted = Reach.OWN  # everyone reads their own events
    else:
        granted = _role_reach(action, role)
    scope = credential.scope if credential.kind is CredentialKind.API_TOKEN else None
    if granted is Reach.ALL and scope is not None and scope is not Scope.ADMIN:
        if action in ADMIN_SCOPE_ACTIONS:
            return Reach.NONE
        return Reach.OWN
    return granted


def _role_reach(action: Action, role: Role) -> Reach:
    return roles.POLICY[action][role]


def decide(
    actor: Any, action: AnyAction, subject: Subject | None = None, *, credential: Credential | None = None
) -> Decision:
    """Whether ``actor`` may take ``action`` (on ``subject``, when it acts on one)."""
    credential = credential or credential_of(actor)
    granted = reach(actor, action, credential)
    if granted is Reach.NONE:
        return _deny("interactive" if action in INTERACTIVE_ONLY and roles.role_of(actor) is not None else "role")
    if subject is None:
        return ALLOW
    own = subject.owner_id is None or subject.owner_id == actor.pk
    if action in OTHERS_ONLY and (own or granted is not Reach.ALL):
        return _deny("role")
    # A token never mints, or rotates, a token of a wider scope than its own.
    token_scope = credential.scope if credential.kind is CredentialKind.API_TOKEN else None
    if subject.scope is not None and token_scope is not None and not token_scope.covers(subject.scope):
        return _deny("scope")
    if granted is Reach.OWN and not own:
        return _deny("not_owner")
    if not _within_organizations(actor, subject, own):
        return _deny("organization")
    return ALLOW


def _within_organizations(actor: Any, subject: Subject, own: bool) -> bool:
    managed = roles.managed_organizations(actor)
    if managed is None:
        return True
    if subject.has_organization:  # an invite: its organization decides
        return roles.may_manage_organization(actor, subject.organization or None)
    # An object of a user (a token, a session, an audit row): its owner's organizations decide.
    return own or is_member_of(subject.owner_id, managed)


def is_member_of(user_id: Any, organizations: Collection[Any]) -> bool:
    """Whether the user ``user_id`` belongs to one of ``organizations`` (``ORGANIZATION_MEMBERS_RESOLVER``;
    with none set, nobody else counts as a member, so a confined actor reaches only their own objects)."""
    members = _members(organizations)
    if members is None:
        return False
    if isinstance(members, QuerySet):
        return members.filter(pk=user_id).exists() if members.model is not None else False
    return str(user_id) in {str(member) for member in members}


def _members(organizations: Collection[Any]) -> Iterable[Any] | None:
    resolver = app_settings.ORGANIZATION_MEMBERS_RESOLVER
    if resolver is None:
        return None
    members: Iterable[Any] | None = resolver(frozenset(organizations))
    return members


def owned_by_reachable_users(actor: Any, field: str = "user") -> Q | None:
    """A filter on ``field`` (a foreign key to the user model) that keeps the objects of users a confined
    ``actor`` may reach: their own and their organizations' members'. None when the actor is not confined."""
    managed = roles.managed_organizations(actor)
    if managed is None:
        return None
    members = _members(managed)
    own = Q(**{field: actor.pk})
    if members is None:
        return own
    if isinstance(members, QuerySet):
        return own | Q(**{f"{field}__in": members.values("pk")})
    return own | Q(**{f"{field}__in": list(members)})


_ERRORS = {
    "role": NotAllowed,
    "organization": NotAllowed,
    "not_owner": NotOwner,
    "scope": ScopeNotAllowed,
    "interactive": InteractiveLoginRequired,
}


def require(
    actor: Any, action: AnyAction, subject: Subject | None = None, *, credential: Credential | None = None
) -> None:
    """:func:`decide`, raising the matching error when the answer is no: 403 ``scope_not_allowed``,
    ``interactive_login_required``, ``not_owner`` for an action only owners may take (a rotation), and
    ``permission_denied`` otherwise."""
    decision = decide(actor, action, subject, credential=credential)
    if not decision:
        owner_only = isinstance(action, Act) and ROLE_ROW[action] is None
        error = _ERRORS[decision.reason] if decision.reason != "not_owner" or owner_only else NotAllowed
        raise error()


def may_grant(actor: Any, role: Role, *, credential: Credential | None = None) -> bool:
    """Whether ``actor`` may invite someone into ``role``: not above their own role, unless the table lets
    them invite higher (root), through a credential that may (an ``admin``-scope token for that)."""
    own = roles.role_of(actor)
    if own is None:
        return False
    return not role.outranks(own) or reach(actor, Action.INVITE_HIGHER_ROLE, credential) is Reach.ALL
