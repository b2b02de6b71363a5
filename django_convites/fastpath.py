"""The one query of an authenticated request: a row of the app's and its user, by a statement built once.

The ORM builds the same SQL again on every request, and that is most of what DRF authentication costs.
:class:`UserRowLookup` builds ``SELECT <row>, <user> FROM <table> JOIN <user table> WHERE ...`` once per
database alias, passes parameters through the fields' own ``get_db_prep_value`` and results through the
converters the ORM would apply (time zones, JSON, UUIDs), and builds the user with ``Model.from_db``, so
``request.user`` is an ordinary instance of the site's user model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connections, models


class UserRowLookup:
    """``fetch(*values)`` -> ``(row values, user)`` or None; ``values`` match ``where`` (and the user's
    primary key last, when ``match_user`` is set)."""

    def __init__(
        self,
        alias: str,
        model: type[models.Model],
        select: Sequence[str],
        where: Sequence[str],
        *,
        null: Sequence[str] = (),
        match_user: bool = False,
    ) -> None:
        connection = connections[alias]
        quote = connection.ops.quote_name
        user_model = get_user_model()
        meta, user_meta = model._meta, user_model._meta
        fields = [meta.get_field(name) for name in select]
        user_fields = list(user_meta.concrete_fields)
        user_pk = user_meta.pk
        conditions = [f"r.{quote(meta.get_field(name).column)} = %s" for name in where]  # type: ignore[union-attr]
        conditions += [f"r.{quote(meta.get_field(name).column)} IS NULL" for name in null]  # type: ignore[union-attr]
        if match_user:
            conditions.append(f"u.{quote(user_pk.column)} = %s")  # type: ignore[union-attr]
        columns = [f"r.{quote(f.column)}" for f in fields] + [f"u.{quote(f.column)}" for f in user_fields]  # type: ignore[union-attr]
        join = f"u.{quote(user_pk.column)} = r.{quote(meta.get_field('user').column)}"  # type: ignore[union-attr]
        # Every identifier comes from model metadata and is quoted; values travel as parameters.
        self.sql = " ".join(
            [
                f"SELECT {', '.join(columns)}",
                f"FROM {quote(meta.db_table)} r INNER JOIN {quote(user_meta.db_table)} u ON {join}",
                f"WHERE {' AND '.join(conditions)}",
            ]
        )
        self.alias = alias
        self.user_model = user_model
        self.user_attnames = [f.attname for f in user_fields]
        self.split = len(fields)
        self.params = [meta.get_field(name) for name in where] + ([user_pk] if match_user else [])
        self.converters = []
        for index, field in enumerate([*fields, *user_fields]):
            column = field.get_col(meta.db_table if index < self.split else user_meta.db_table)  # type: ignore[union-attr]
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                self.converters.append((index, column, found))

    def fetch(self, *values: Any) -> tuple[list[Any], Any] | None:
        connection = connections[self.alias]
        params = [
            field.get_db_prep_value(field.to_python(value), connection)  # type: ignore[union-attr]
            for field, value in zip(self.params, values, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        result = list(row)
        for index, column, converters in self.converters:
            value = result[index]
            for convert in converters:
                value = convert(value, column, connection)
            result[index] = value
        user = self.user_model.from_db(self.alias, self.user_attnames, result[self.split :])
        return result[: self.split], user
