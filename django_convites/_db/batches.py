"""Deleting old rows without one long transaction or one huge statement."""

from __future__ import annotations

from typing import Any

from django.db import models


def delete_in_batches(queryset: models.QuerySet[Any], batch_size: int, *, raw: bool = False) -> int:
    """Delete the rows of ``queryset`` ``batch_size`` at a time, in primary-key order; how many went.

    Each batch is one ``DELETE ... WHERE pk IN (...)`` in autocommit, so no lock is held for long. With
    ``raw`` the batches skip the model's ``delete()`` machinery (signals, cascades, a queryset that refuses
    deletes): the audit retention purge, whose rows nothing refers to."""
    deleted = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        if raw:
            batch: models.QuerySet[Any] = models.QuerySet(queryset.model, using=queryset.db).filter(pk__in=ids)
            deleted += batch._raw_delete(queryset.db)
        else:
            queryset.model._default_manager.using(queryset.db).filter(pk__in=ids).delete()
            deleted += len(ids)
