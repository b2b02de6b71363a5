"""The audit log at a million events, on PostgreSQL: ``python -m benchmarks.audit_scale`` (see ``__main__``)."""

from __future__ import annotations
