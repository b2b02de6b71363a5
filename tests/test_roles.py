from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group

from django_convites import policy, roles
from django_convites.policy import Subject
from django_convites.roles import POLICY, Action, Reach, Role

pytestmark = pytest.mark.django_db

#: The role table of docs/roles.rst, written out cell by cell.
CONTRACT_TABLE = {
    Action.CREATE_INVITE: ("all", "all", "all", "none"),
    Action.INVITE_HIGHER_ROLE: ("all", "none", "none", "none"),
    Action.LIST_INVITES: ("all", "all", "own", "none"),
    Action.REVOKE_INVITE: ("all", "all", "own", "none"),
    Action.READ_INVITE_LOGS: ("all", "all", "own", "none"),
    Action.USE_INVITE: ("all", "all", "all", "all"),
    Action.CREATE_API_TOKEN: ("all", "all", "all", "all"),
    Action.CREATE_ADMIN_API_TOKEN: ("all", "all", "none", "none"),
    Action.MANAGE_API_TOKENS: ("all", "all", "own", "own"),
    Action.READ_AUDIT_OF_OTHERS: ("all", "all", "none", "none"),
}
ROLE_ORDER = ("root", "admin", "gestor", "usuario")
CELLS = [
    (action, role, expected)
    for action, row in CONTRACT_TABLE.items()
    for role, expected in zip(ROLE_ORDER, row, strict=True)
]


def test_policy_covers_every_action_and_role():
    assert set(POLICY) == set(Action)
    for row in POLICY.values():
        assert set(row) == set(Role)


@pytest.mark.parametrize(("action", "role", "expected"), CELLS)
def test_policy_cell(action, role, expected, users):
    user = users[role]
    assert roles.role_of(user) is Role(role)
    assert policy.reach(user, action) is Reach(expected)
    other_owner = users["root"].pk if role != "root" else users["usuario"].pk
    assert bool(policy.decide(user, action)) is (expected != "none")
    assert bool(policy.decide(user, action, Subject(owner_id=user.pk))) is (expected != "none")
    assert bool(policy.decide(user, action, Subject(owner_id=other_owner))) is (expected == "all")


def test_anonymous_and_inactive_users_have_no_role(users):
    assert roles.role_of(AnonymousUser()) is None
    assert roles.role_of(None) is None
    inactive = users["admin"]
    inactive.is_active = False
    assert roles.role_of(inactive) is None
    for action in Action:
        assert policy.reach(AnonymousUser(), action) is Reach.NONE
        assert not bool(policy.decide(inactive, action))


def test_superuser_is_root_even_in_other_groups(users):
    root = users["root"]
    root.groups.add(Group.objects.get(name="gestor"))
    roles.forget_role(root)
    assert roles.role_of(root) is Role.ROOT


def test_admin_group_wins_over_gestor(django_user_model):
    user = django_user_model.objects.create_user("both")
    user.groups.add(Group.objects.create(name="gestor"), Group.objects.create(name="admin"))
    assert roles.role_of(user) is Role.ADMIN


def test_group_names_come_from_settings(django_user_model, convites_settings):
    convites_settings(ROLE_GROUPS={"admin": "Administradores", "gestor": "Gestores"})
    user = django_user_model.objects.create_user("g")
    user.groups.add(Group.objects.create(name="gestor"))
    assert roles.role_of(user) is Role.USUARIO
    roles.forget_role(user)
    user.groups.add(Group.objects.create(name="Gestores"))
    assert roles.role_of(user) is Role.GESTOR


def test_role_is_resolved_once_per_user_object(users, django_assert_num_queries):
    user = users["gestor"]
    roles.forget_role(user)
    with django_assert_num_queries(1):
        assert roles.role_of(user) is Role.GESTOR
        assert roles.role_of(user) is Role.GESTOR
        bool(policy.decide(user, Action.LIST_INVITES))


def resolve_everyone_as_gestor(user):
    return "gestor"


def test_custom_role_resolver(users, convites_settings):
    convites_settings(ROLE_RESOLVER="tests.test_roles.resolve_everyone_as_gestor")
    user = users["usuario"]
    roles.forget_role(user)
    assert roles.role_of(user) is Role.GESTOR
    assert bool(policy.decide(user, Action.CREATE_INVITE))


@pytest.mark.parametrize(
    ("role", "target_role", "allowed"),
    [
        ("root", "admin", True),
        ("root", "gestor", True),
        ("root", "usuario", True),
        ("admin", "admin", True),
        ("admin", "gestor", True),
        ("admin", "usuario", True),
        ("gestor", "admin", False),
        ("gestor", "gestor", True),
        ("gestor", "usuario", True),
        ("usuario", "gestor", False),
        ("usuario", "usuario", True),
    ],
)
def test_may_grant_only_up_to_own_role_unless_root(role, target_role, allowed, users):
    assert policy.may_grant(users[role], Role(target_role)) is allowed


def test_target_types_map_to_roles(convites_settings):
    assert roles.role_for_target_type("associado") is Role.USUARIO
    assert roles.role_for_target_type("coordenador") is Role.GESTOR
    assert roles.role_for_target_type("admin") is Role.ADMIN
    with pytest.raises(KeyError):
        roles.role_for_target_type("imperador")
    convites_settings(TARGET_TYPES={"parceiro": "gestor"})
    assert roles.role_for_target_type("parceiro") is Role.GESTOR
    with pytest.raises(KeyError):
        roles.role_for_target_type("associado")


def organizations_by_username(user):
    return {"admin": [1, 2], "gestor": [2]}.get(user.username)


def test_without_resolver_nobody_is_confined(users):
    for user in users.values():
        assert roles.managed_organizations(user) is None
        assert roles.may_manage_organization(user, 99)
        assert roles.may_manage_organization(user, None)


def test_organization_resolver_confines_admins_and_gestores(users, convites_settings):
    convites_settings(ORGANIZATION_RESOLVER="tests.test_roles.organizations_by_username")
    assert roles.managed_organizations(users["admin"]) == frozenset({1, 2})
    assert roles.may_manage_organization(users["admin"], 1)
    assert not roles.may_manage_organization(users["admin"], 3)
    assert roles.may_manage_organization(users["gestor"], 2)
    assert not roles.may_manage_organization(users["gestor"], 1)
    assert not roles.may_manage_organization(users["gestor"], None)
    # The resolver answers None for usuario: not confined.
    assert roles.managed_organizations(users["usuario"]) is None


def test_root_is_never_confined(users, convites_settings):
    convites_settings(ORGANIZATION_RESOLVER="tests.test_roles.organizations_by_username")
    assert roles.managed_organizations(users["root"]) is None
    assert roles.may_manage_organization(users["root"], 12345)


def test_the_role_enum_is_the_one_list_of_role_names():
    from django_convites import conf
    from django_convites.roles import Role

    assert tuple(role.value for role in Role) == conf.ROLE_NAMES
