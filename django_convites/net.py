"""The client's IP and user agent, from one place (docs/audit.rst).

``REMOTE_ADDR`` is the client unless ``TRUSTED_PROXIES`` says what stands in front of Django. Then the
chain ``X-Forwarded-For + [REMOTE_ADDR]`` is walked right to left and the first hop that is not a trusted
proxy is the client. A header a client sends can only add hops on the left, so it never wins. The audit
log, every throttle and the API-token IP allow-lists use this resolver.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.request import split_domain_port

from django_convites.conf import app_settings

#: Longest user agent kept; longer ones are cut.
USER_AGENT_MAX_LENGTH = 512
#: Most X-Forwarded-For hops looked at; a longer header is cut on the left (the client's side).
MAX_FORWARDED_HOPS = 32

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class RequestMeta:
    """What services record about the request that caused them (never the request itself)."""

    ip: str | None = None
    user_agent: str = ""
    #: The host name the request was made to (``request.get_host()`` without its port, lower case); ""
    #: when unknown or not in ``ALLOWED_HOSTS``. The two-factor enrolment names the site with it
    #: (``TOTP_ISSUER``).
    host: str = ""


def parse_ip(value: str) -> IPAddress | None:
    """An address from a header hop (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:443``, ``::1``); None if invalid."""
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, position: int, trusted: Any) -> bool:
    if isinstance(trusted, int):
        return position < trusted
    return any(address in network for network in trusted)


def client_ip(request: HttpRequest) -> str | None:
    """The client's IP address as a string, or None when even ``REMOTE_ADDR`` is not an address."""
    remote = parse_ip(request.META.get("REMOTE_ADDR", "") or "")
    trusted = app_settings.TRUSTED_PROXIES
    if remote is None or trusted is None:
        return None if remote is None else str(remote)
    header = request.META.get("HTTP_X_FORWARDED_FOR", "") or ""
    hops = [hop for hop in header.split(",") if hop.strip()][-MAX_FORWARDED_HOPS:]
    client = remote
    # Walk right to left: REMOTE_ADDR (position 0), then the header's hops.
    for position, raw in enumerate(reversed(hops), start=1):
        if not _is_trusted(client, position - 1, trusted):
            break
        hop = parse_ip(raw)
        if hop is None:
            # A trusted proxy passed on garbage: the last good hop is the best we know.
            break
        client = hop
    return str(client)


def host_name(request: HttpRequest) -> str:
    """The host name of ``request`` without its port (``"www.example.com"``, ``"[::1]"``); "" when the
    ``Host`` header is missing, malformed or not in ``ALLOWED_HOSTS``."""
    try:
        host = request.get_host()
    except (DisallowedHost, KeyError):  # KeyError: a request built by hand, with neither Host nor SERVER_NAME
        return ""
    domain, _port = split_domain_port(host)
    return domain


def site_origin(request: HttpRequest) -> str:
    """``scheme://host[:port]`` of ``request``, the base of the links the app builds for it (an invite's
    accept link, unless ``INVITE_LINK_BASE_URL`` is set)."""
    return f"{request.scheme}://{request.get_host()}"


def user_agent(request: HttpRequest) -> str:
    """The ``User-Agent`` header, cut to :data:`USER_AGENT_MAX_LENGTH`, without control characters."""
    agent = request.META.get("HTTP_USER_AGENT", "") or ""
    return "".join(char for char in agent[:USER_AGENT_MAX_LENGTH] if char.isprintable())


#: The attribute of a request that caches its :class:`RequestMeta`.
_META_ATTRIBUTE = "_convites_meta"


def request_meta(request: HttpRequest) -> RequestMeta:
    """The :class:`RequestMeta` of ``request``; cached on it."""
    cached: RequestMeta | None = getattr(request, _META_ATTRIBUTE, None)
    if cached is None:
        cached = RequestMeta(ip=client_ip(request), user_agent=user_agent(request), host=host_name(request))
        setattr(request, _META_ATTRIBUTE, cached)
    return cached
