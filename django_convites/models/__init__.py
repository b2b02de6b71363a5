"""The app's models, one module per aggregate."""

from __future__ import annotations

from django_convites.models.audit import AppendOnlyError, AuditEvent

__all__ = ["AppendOnlyError", "AuditEvent"]
