"""Four user models the hot path must load as the ORM does; ``AUTH_USER_MODEL`` names one at a time.

All four live in this one app, so each gives the permission relations reverse names of its own, which would
otherwise clash (a site has one user model, and the default ``user_set``).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AbstractUser, BaseUserManager, Group, Permission
from django.contrib.auth.models import PermissionsMixin as DjangoPermissionsMixin
from django.db import models


class PermissionsMixin(DjangoPermissionsMixin):
    """Django's, with reverse names of the model's own (``%(class)s``)."""

    groups = models.ManyToManyField(Group, blank=True, related_name="%(class)s_set", related_query_name="%(class)s")
    user_permissions = models.ManyToManyField(
        Permission, blank=True, related_name="%(class)s_permission_set", related_query_name="%(class)s_permission"
    )

    class Meta:
        abstract = True


class UserManager(BaseUserManager):  # type: ignore[type-arg]
    """``create_user(password=..., **fields)`` for models whose username field is not ``username``."""

    use_in_migrations = True

    def create_user(self, password: str | None = None, **fields: Any) -> Any:
        user = self.model(**fields)
        user.set_password(password)
        user.save(using=self._db)
        return user


class UuidUser(PermissionsMixin, AbstractUser):
    """A UUID primary key: the JWT's ``sub`` is its text, and JSON shows it as a string."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)


class ColumnsUser(PermissionsMixin, AbstractBaseUser):
    """Every column renamed, in a table of its own name, with a primary key that is not ``id``."""

    number = models.BigAutoField(primary_key=True, db_column="user_no")
    login = models.CharField(max_length=40, unique=True, db_column="login_name")
    password = models.CharField(max_length=128, db_column="pw_hash")
    last_login = models.DateTimeField(blank=True, null=True, db_column="seen_at")
    is_superuser = models.BooleanField(default=False, db_column="super_flag")
    is_active = models.BooleanField(default=True, db_column="active_flag")
    joined = models.DateTimeField(auto_now_add=True, db_column="joined_on")
    preferences = models.JSONField(default=dict, db_column="prefs")

    USERNAME_FIELD = "login"
    objects = UserManager()

    class Meta:
        db_table = "people_of_the_site"


class EmailUser(PermissionsMixin, AbstractBaseUser):
    """Signs in with an e-mail address: there is no ``username`` field at all."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    objects = UserManager()


class Account(PermissionsMixin, AbstractUser):
    """A concrete user model with a table of its own; :class:`Member` extends it."""


class Member(Account):
    """Multi-table inheritance: ``password``, ``is_active`` and the key's value live in the parent's table,
    the primary key here is ``account_ptr_id``, and ``nickname`` and ``since`` are this table's own."""

    nickname = models.CharField(max_length=40, blank=True)
    since = models.DateTimeField(null=True, blank=True)
