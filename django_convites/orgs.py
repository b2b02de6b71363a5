"""The host's organization and nucleus models, looked up at run time (docs/invites.rst).

The app owns no organization model and no migration of it depends on the host's. ``ORGANIZATION_MODEL``,
``NUCLEUS_MODEL`` and ``NUCLEUS_ORGANIZATION_FIELD`` name them; invites keep references by primary key.
With no ``ORGANIZATION_MODEL`` invites carry no organization, and with no ``NUCLEUS_MODEL`` no nuclei.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from django_convites.conf import app_settings
from django_convites.exceptions import InvalidField

#: Most nuclei one invite may carry.
MAX_NUCLEI = 100


def organization_model() -> type[models.Model] | None:
    label = app_settings.ORGANIZATION_MODEL
    return None if label is None else apps.get_model(label)


def nucleus_model() -> type[models.Model] | None:
    label = app_settings.NUCLEUS_MODEL
    return None if label is None else apps.get_model(label)


def configuration_problem() -> str | None:
    """What is wrong with the three settings taken together, or None (``django_convites.E018``)."""
    organization = app_settings.ORGANIZATION_MODEL
    nucleus = app_settings.NUCLEUS_MODEL
    if nucleus is None:
        return None
    if organization is None:
        return "NUCLEUS_MODEL is set but ORGANIZATION_MODEL is not: nuclei belong to an organization."
    field_name = app_settings.NUCLEUS_ORGANIZATION_FIELD
    try:
        field = apps.get_model(nucleus)._meta.get_field(field_name)
    except LookupError:
        return None  # E011/E012 report the model itself
    except Exception:
        return f"{nucleus} has no field {field_name!r}; set NUCLEUS_ORGANIZATION_FIELD to its foreign key."
    if not field.many_to_one or field.related_model is not apps.get_model(organization):
        return f"{nucleus}.{field_name} is not a foreign key to {organization}."
    return None


def _require_consistent() -> None:
    problem = configuration_problem()
    if problem:
        raise ImproperlyConfigured(f"DJANGO_CONVITES: {problem} (django_convites.E018)")


def _key(model: type[models.Model], value: Any, field: str) -> Any:
    """``value`` (an id, or an instance) as the primary key of ``model``; :class:`InvalidField` if it
    cannot be one."""
    if isinstance(value, model):
        value = value.pk
    if isinstance(value, bool) or not isinstance(value, (int, str, uuid.UUID)) or value == "":
        raise InvalidField(field, _("Must be an id."))
    try:
        key = model._meta.pk.to_python(value)
    except (ValidationError, ValueError, TypeError):
        raise InvalidField(field, _("Must be an id.")) from None
    if isinstance(key, int) and not -(2**63) <= key < 2**63:
        raise InvalidField(field, _("Must be an id."))
    return key


def wire_value(key: Any) -> Any:
    """A primary key as JSON carries it: integers stay integers, anything else becomes a string."""
    return key if isinstance(key, int) and not isinstance(key, bool) else str(key)


def resolve_organization(value: Any) -> Any:
    """The primary key of the organization ``value`` names, checked to exist; None for None.

    Raises :class:`InvalidField` for an organization when none are configured, a malformed id or
    an unknown one.
    """
    if value is None:
        return None
    _require_consistent()
    model = organization_model()
    if model is None:
        raise InvalidField("organizacao", _("This site does not use organizations; leave it out."))
    key = _key(model, value, "organizacao")
    if not model._default_manager.filter(pk=key).exists():
        raise InvalidField("organizacao", _("No organization has this id."))
    return key


def resolve_nuclei(values: Iterable[Any], organization: Any) -> list[Any]:
    """The primary keys of the nuclei ``values`` names, without repeats, each of ``organization``.

    Raises :class:`InvalidField` when nuclei are not configured, no organization is given, an id is
    malformed, or a nucleus does not exist or belongs to another organization.
    """
    values = list(values)
    if not values:
        return []
    model: Any = nucleus_model()
    if model is None:
        raise InvalidField("nucleos", _("This site does not use nuclei; leave it out."))
    _require_consistent()
    if len(values) > MAX_NUCLEI:
        raise InvalidField("nucleos", _("At most %(count)d nuclei.") % {"count": MAX_NUCLEI})
    keys: list[Any] = []
    for value in values:
        key = _key(model, value, "nucleos")
        if key not in keys:
            keys.append(key)
    if organization is None:
        raise InvalidField("nucleos", _("Nuclei need the organization they belong to."))
    found = set(
        model._default_manager.filter(
            pk__in=keys, **{app_settings.NUCLEUS_ORGANIZATION_FIELD: organization}
        ).values_list("pk", flat=True)
    )
    if len(found) != len(keys):
        raise InvalidField("nucleos", _("Every nucleus must exist and belong to the organization."))
    return keys


def stored_reference(key: Any) -> str:
    """How an invite stores an organization key (a string; empty for none)."""
    return "" if key is None else str(key)


def organization_key(stored: str) -> Any:
    """The wire value of a stored organization reference; None for none."""
    if not stored:
        return None
    model = organization_model()
    if model is None:
        return stored
    try:
        return wire_value(model._meta.pk.to_python(stored))
    except ValidationError:
        return stored


def nucleus_keys(stored: Sequence[Any]) -> list[Any]:
    """The wire values of stored nucleus references."""
    return [wire_value(key) for key in stored]


def granted_names(organization_ref: str, nucleus_refs: Sequence[Any]) -> dict[str, Any]:
    """An invite's organization and nuclei for a page (``organization``, ``nuclei``): the host objects'
    ``str()``, or the key of one that no longer exists."""
    organization = organization_key(organization_ref)
    nuclei: list[Any] = nucleus_keys(nucleus_refs)
    organization_class, nucleus_class = organization_model(), nucleus_model()
    try:  # a reference stored before the model's key changed may not even be a key of it now
        if organization is not None and organization_class is not None:
            found = organization_class._default_manager.filter(pk=organization).first()
            organization = organization if found is None else str(found)
        if nuclei and nucleus_class is not None:
            names = {wire_value(row.pk): str(row) for row in nucleus_class._default_manager.filter(pk__in=nuclei)}
            nuclei = [names.get(key, key) for key in nuclei]
    except (ValidationError, ValueError, TypeError):
        pass
    return {"organization": organization, "nuclei": nuclei}
