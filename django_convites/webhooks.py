"""Sending one webhook request: the body, its signature, and an HTTP POST that cannot reach the site's own
network unless the site allows it (docs/webhooks.rst).

Nothing here touches the database; :mod:`django_convites.services.webhooks` runs the outbox.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

import django_convites

#: The longest stretch of a receiver's answer that is read (and then dropped): enough for the status line.
MAX_ANSWER_BYTES = 64 * 1024
#: The most characters of an error kept on a delivery.
MAX_ERROR_LENGTH = 500

USER_AGENT = f"django-convites/{django_convites.__version__} (webhook)"


def payload_of(event: Any) -> str:
    """The JSON body for an :class:`~django_convites.models.AuditEvent`: the audit API's row, with the target
    nested as ``alvo``, the time in the site's time zone. ASCII only, so its bytes are what is signed."""
    row = event.to_wire(timezone.get_default_timezone())
    body = {
        "id": row["id"],
        "evento": row["evento"],
        "criado_em": row["criado_em"],
        "usuario": row["usuario"],
        "alvo": {"tipo": row["alvo_tipo"], "id": row["alvo_id"]},
        "ip": row["ip"],
        "user_agent": row["user_agent"],
        "detalhes": row["detalhes"],
    }
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"))


def signature(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    """The ``X-Convites-Assinatura`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``, with
    one ``v1`` per secret (two while an endpoint moves to a new secret)."""
    message = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    parts += [f"v1={hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()}" for secret in secrets]
    return ",".join(parts)


def headers_for(*, event: str, delivery_id: int, secrets: Iterable[str], body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Convites-Evento": event,
        "X-Convites-Entrega": str(delivery_id),
        "X-Convites-Assinatura": signature(secrets, int(time.time()), body),
    }


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: the receiver's status (None when no answer came) and an error ("" for a
    2xx answer)."""

    status: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def destination(url: str) -> str:
    """The scheme, host and port of ``url``: what may be shown of a webhook URL, whose path or query may hold
    a credential of the receiver's."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _addresses(host: str, port: int, allow_private: bool) -> list[tuple[Any, ...]]:
    """Where ``host`` resolves to, every address checked: a name that resolves to one private address is
    refused whole, so a receiver cannot point its name at the site's network between two lookups."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _Refused(f"cannot resolve {host!r}: {exc}") from None
    if not allow_private:
        private = [str(info[4][0]) for info in infos if not _public(str(info[4][0]))]
        if private:
            raise _Refused(
                f"{host!r} resolves to the non-public address {private[0]}; "
                "DJANGO_CONVITES['WEBHOOK_ALLOW_PRIVATE_URLS'] allows it"
            )
    return [info[4] for info in infos]


class _Refused(Exception):
    pass


def _connect(addresses: list[tuple[Any, ...]], deadline: float) -> socket.socket:
    error: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if len(address) == 4 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError("no address to connect to")


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, allow_private: bool) -> Outcome:
    """POST ``body`` to ``url``; never raises. The whole attempt (resolving, connecting, sending, reading the
    status line) takes at most ``timeout`` seconds: a receiver that answers slowly, byte by byte, is cut off
    then. Redirects are not followed (one could lead anywhere); a 2xx answer is the only success."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    secure = parts.scheme == "https"
    port = parts.port or (443 if secure else 80)
    deadline = time.monotonic() + timeout
    try:
        sock = _connect(_addresses(host, port, allow_private), deadline)
    except _Refused as exc:
        return Outcome(error=str(exc))
    except OSError as exc:
        return Outcome(error=f"cannot connect to {host}:{port}: {exc}"[:MAX_ERROR_LENGTH])
    current = [sock]  # what the watchdog cuts: the TLS socket once there is one
    watchdog = threading.Timer(max(deadline - time.monotonic(), 0.0), _cut, (current,))
    watchdog.daemon = True
    watchdog.start()
    try:
        if secure:
            current[0] = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        connection = (http.client.HTTPSConnection if secure else http.client.HTTPConnection)(host, port)
        connection.sock = current[0]
        path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        connection.request("POST", path, body=body, headers=dict(headers))
        answer = connection.getresponse()
        answer.read(MAX_ANSWER_BYTES)
        status = answer.status
    except (OSError, http.client.HTTPException, ValueError) as exc:
        late = time.monotonic() >= deadline
        reason = f"no answer within {timeout:g} s" if late else f"{type(exc).__name__}: {exc}"
        return Outcome(error=reason[:MAX_ERROR_LENGTH])
    finally:
        watchdog.cancel()
        current[0].close()
    if 200 <= status < 300:
        return Outcome(status=status)
    kind = "a redirect (not followed)" if 300 <= status < 400 else "an error"
    return Outcome(status=status, error=f"the receiver answered {status}, {kind}")


def _cut(current: list[socket.socket]) -> None:
    with contextlib.suppress(OSError):
        current[0].shutdown(socket.SHUT_RDWR)
