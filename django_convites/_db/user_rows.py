"""The one query of an authenticated request: a row of the app's and its user, in SQL the ORM compiles once.

Private: nothing outside the package imports it, and it may change in any release.

Building a query is most of what the ORM costs per call: several hundred microseconds, ten times what
running the statement it builds costs (docs/benchmarks.rst). :class:`UserRowLookup` hands the ORM an
ordinary queryset (the row's model, ``select_related`` to its user, ``only()`` the row's columns asked for,
filtered on placeholders) and lets the compiler write the SQL once. Each call then runs that SQL with the
values prepared by their fields' ``get_db_prep_value``, passes the row through the converters the
compiler's ``get_converters`` names (time zones, JSON, UUIDs, booleans), applied as its
``apply_converters`` applies them but without a generator per row, and builds the user with
``Model.from_db``, as ``select_related`` does. Whatever the ORM supports as ``AUTH_USER_MODEL`` works here:
a UUID primary key, ``db_column``, another ``USERNAME_FIELD``, multi-table inheritance (the parents' tables
joined in).

What is kept, and for whom:

- Per database alias (one :class:`UserRowLookup`, shared by every thread): the SQL, the position of each
  placeholder among its parameters, where the row's and the user's columns are, and the selected
  columns. None of it refers to a connection: the SQL of an alias is the same on every connection to it.
- Per connection (in a ``threading.local``, checked against the connection of the call): the
  converters. A backend's converters are methods of its connection's ``ops`` and are called with a
  connection, so they are taken from the connection the call runs on, never kept from the thread that
  compiled the SQL; they go away with their thread.
  A new connection object (Django makes one per thread, and under ASGI one per request context) gets
  its converters again, which costs a few microseconds once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, cast

from django.db import connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql.compiler import SQLCompiler


class _Slot:
    """The parameter a :class:`_Placeholder` compiles to, found again among the compiled parameters."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class _Placeholder(models.Expression):
    """The right-hand side of a filter whose value comes with each call: ``%s``, with a :class:`_Slot`."""

    def __init__(self, index: int, output_field: models.Field[Any, Any]) -> None:
        super().__init__(output_field=output_field)
        self.index = index

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, Any]:
        return "%s", (_Slot(self.index),)


def _field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field):  # pragma: no cover - a programming error
        raise TypeError(f"{model.__name__}.{name} is not a field of its own")
    return field


class UserRowLookup:
    """``fetch(*values)`` -> ``(row values, user)`` or None.

    The row is of ``model`` (which has a ``user`` foreign key to the user model), its values those named
    by ``select`` in that order; ``values`` match ``where`` (equality), then the user's primary key when
    ``match_user`` is set; the fields named by ``null`` must be NULL. At most one row may match.
    """

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
        user_field = _field(model, "user")
        fields = [_field(model, name) for name in where] + ([user_field] if match_user else [])
        filters: dict[str, Any] = {name: _Placeholder(index, fields[index]) for index, name in enumerate(where)}
        filters.update({f"{name}__isnull": True for name in null})
        if match_user:
            filters["user"] = _Placeholder(len(where), user_field)
        queryset = (
            model._base_manager.using(alias).select_related("user").only(*select, "user").filter(**filters).order_by()
        )
        compiler = queryset.query.get_compiler(using=alias)
        sql, compiled = compiler.as_sql()
        slots = [(position, param.index) for position, param in enumerate(compiled) if isinstance(param, _Slot)]
        if sorted(index for _, index in slots) != list(range(len(fields))):  # pragma: no cover - a Django change
            raise RuntimeError(f"the compiled query lost a placeholder: {sql}")
        selected = [expression for expression, _sql, _alias in compiler.select]
        columns = {selected[position].target.attname: position for position in compiler.klass_info["select_fields"]}
        (user_info,) = compiler.klass_info["related_klass_infos"]
        start, end = user_info["select_fields"][0], user_info["select_fields"][-1] + 1

        self.alias = alias
        self.sql: str = sql
        self.query = queryset.query
        self.user_model = cast("type[models.Model]", user_field.related_model)  # a ForeignKey: a model class
        self._params = list(compiled)
        self._slots = [(position, fields[index], index) for position, index in slots]
        self._row = [columns[_field(model, name).attname] for name in select]
        self._user = slice(start, end)
        self._user_attnames = [expression.target.attname for expression in selected[start:end]]
        self._selected = selected
        self._local = threading.local()

    def _converters(self, connection: BaseDatabaseWrapper) -> list[tuple[int, list[Any], Any]]:
        """``(position, converters, expression)`` for each column that has converters on ``connection``,
        as the compiler finds them; made once per connection."""
        local = self._local
        if getattr(local, "connection", None) is not connection:
            found = self.query.get_compiler(connection=connection).get_converters(self._selected)
            local.converters = [(position, functions, column) for position, (functions, column) in found.items()]
            local.connection = connection
        converters: list[tuple[int, list[Any], Any]] = local.converters
        return converters

    def fetch(self, *values: Any) -> tuple[list[Any], Any] | None:
        if len(values) != len(self._slots):
            raise TypeError(f"fetch() takes {len(self._slots)} values, got {len(values)}")
        connection = connections[self.alias]
        params = self._params.copy()
        for position, field, index in self._slots:
            params[position] = field.get_db_prep_value(field.to_python(values[index]), connection)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for position, functions, column in self._converters(connection):
            value = row[position]
            for convert in functions:
                value = convert(value, column, connection)
            row[position] = value
        user = self.user_model.from_db(self.alias, self._user_attnames, row[self._user])
        return [row[position] for position in self._row], user
