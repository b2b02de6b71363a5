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
    remaining = queryset.order_by("pk")
    while True:
        ids = list(remaining.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        # The next batch starts after this one, not at the lowest key again over the rows just deleted.
        remaining = queryset.order_by("pk").filter(pk__gt=ids[-1])
        if raw:
            batch: models.QuerySet[Any] = models.QuerySet(queryset.model, using=queryset.db).filter(pk__in=ids)
            deleted += batch._raw_delete(queryset.db)
        else:
            queryset.model._default_manager.using(queryset.db).filter(pk__in=ids).delete()
            deleted += len(ids)
