"""The receiver's check of docs/webhooks.rst, shown there as it is here: standard library only."""

from __future__ import annotations

# [start-webhook-receiver]
import hashlib
import hmac
import time

TOLERANCE = 300  # seconds: refuse a signature made longer ago (a replay) or further ahead than that


def verify(body: bytes, header: str, secret: str, now: float | None = None) -> bool:
    """Whether ``header`` (X-Convites-Assinatura) signs ``body``, the request's raw bytes, with ``secret``."""
    fields = [part.strip().partition("=") for part in header.split(",")]
    stamps = [value for name, _, value in fields if name == "t"]
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit()):
        return False
    if abs((time.time() if now is None else now) - int(stamps[0])) > TOLERANCE:
        return False
    expected = hmac.new(secret.encode(), f"{stamps[0]}.".encode() + body, hashlib.sha256).hexdigest().encode()
    return any(hmac.compare_digest(expected, value.encode()) for name, _, value in fields if name == "v1")


# [end-webhook-receiver]
