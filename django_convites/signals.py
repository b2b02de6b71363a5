"""Domain signals: one per lifecycle event. Host sites connect their own receivers here.

Every signal is a :class:`DomainSignal` and is sent by a service with these keyword arguments:

``actor``
    the user who acted, or None (anonymous or a system job);
``target``
    what the event is about: a model instance of this app, a :class:`~django_convites.audit.Target`, or None;
``meta``
    the :class:`~django_convites.net.RequestMeta` of the request (IP, user agent), or None;
``details``
    a JSON-serialisable dict with event-specific facts. Never a secret, digest or password.

The app's own receiver writes one :class:`~django_convites.models.AuditEvent` per signal
(:mod:`django_convites.audit`). Later features add their signals to this module.
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

#: Every domain signal by its event name.
REGISTRY: dict[str, DomainSignal] = {}


class DomainSignal(Signal):
    """A signal that names its audit event. ``failure`` events survive the request's rollback."""

    def __init__(self, event: str, *, failure: bool = False) -> None:
        if event in REGISTRY:
            raise ValueError(f"a domain signal named {event!r} already exists")
        super().__init__()
        self.event = event
        self.failure = failure
        REGISTRY[event] = self
        self.connect(_audit, weak=False, dispatch_uid=f"django_convites.audit:{event}")

    def __repr__(self) -> str:
        return f"<DomainSignal {self.event}>"


def _audit(signal: DomainSignal, **kwargs: Any) -> None:
    from django_convites.audit import record_event

    record_event(signal, **kwargs)
