"""The one grammar of every secret the app issues: ``<kind>_<random><check>``.

- ``kind``: ``cvi`` (invite code), ``cvp`` (API token) or ``cvr`` (refresh token);
- ``random``: :data:`RANDOM_LENGTH` base62 characters from :mod:`secrets` (at least 160 bits);
- ``check``: the CRC32 of ``<kind>_<random>``, base62, :data:`CHECK_LENGTH` characters.

:func:`parse` rejects a string with a wrong kind, length, alphabet or check without touching the
database, so callers can answer a malformed credential with zero queries. Only :func:`digest` of a
secret is ever stored; :func:`matches` compares digests in constant time.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass, field

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE = len(ALPHABET)
#: 62**27 > 2**160: 27 characters carry 160.7 bits.
RANDOM_LENGTH = 27
#: 62**6 > 2**32: six characters hold any CRC32.
CHECK_LENGTH = 6
#: Characters of a token that are safe to show (kind, separator and 4 random characters: 23.8 bits).
PREFIX_LENGTH = 8

_INDEX = {char: value for value, char in enumerate(ALPHABET)}


class Kind(str, enum.Enum):
    """What a secret is for; its value is the prefix on the wire."""

    INVITE = "cvi"
    API_TOKEN = "cvp"  # noqa: S105
    REFRESH = "cvr"


#: Length of every token: ``cvX_`` + random + check.
TOKEN_LENGTH = 4 + RANDOM_LENGTH + CHECK_LENGTH


class MalformedToken(ValueError):
    """The string is not a token of the expected kind. Its message never repeats the input."""


@dataclass(frozen=True)
class ParsedToken:
    kind: Kind
    secret: str = field(repr=False)

    @property
    def digest(self) -> str:
        return digest(self.secret)

    @property
    def prefix(self) -> str:
        return display_prefix(self.secret)


def _encode(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rest = divmod(number, BASE)
        chars.append(ALPHABET[rest])
    if number:
        raise ValueError("number does not fit in the given width")
    return "".join(reversed(chars))


def _checksum(body: str) -> str:
    return _encode(zlib.crc32(body.encode("ascii")), CHECK_LENGTH)


def generate(kind: Kind) -> str:
    """A new secret of ``kind``. Show it once; store only :func:`digest`."""
    body = f"{kind.value}_{_encode(secrets.randbelow(BASE**RANDOM_LENGTH), RANDOM_LENGTH)}"
    return body + _checksum(body)


def parse(value: object, kind: Kind | None = None) -> ParsedToken:
    """Check ``value`` against the grammar (and ``kind`` when given); raise :class:`MalformedToken`.

    Pure string work: no database, no settings. Length is checked first, so a huge input costs nothing.
    """
    if not isinstance(value, str) or len(value) != TOKEN_LENGTH or value[3] != "_":
        raise MalformedToken("not a token")
    try:
        found = Kind(value[:3])
    except ValueError:
        raise MalformedToken("unknown token kind") from None
    if kind is not None and found is not kind:
        raise MalformedToken("wrong token kind")
    body, check = value[:-CHECK_LENGTH], value[-CHECK_LENGTH:]
    if any(char not in _INDEX for char in value[4:]):
        raise MalformedToken("token has characters outside its alphabet")
    if not hmac.compare_digest(_checksum(body), check):
        raise MalformedToken("token checksum does not match")
    return ParsedToken(kind=found, secret=value)


def is_well_formed(value: object, kind: Kind | None = None) -> bool:
    try:
        parse(value, kind)
    except MalformedToken:
        return False
    return True


def derived_key(purpose: bytes) -> bytes:
    """A key for one use, derived from ``SECRET_KEY`` (HMAC-SHA256 with ``purpose``), never ``SECRET_KEY``
    itself."""
    from django.conf import settings

    return hmac.new(settings.SECRET_KEY.encode(), purpose, hashlib.sha256).digest()


def digest(secret: str) -> str:
    """SHA-256 hex digest of a secret: what the database stores and looks up by."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    """Whether ``secret`` is the one behind ``stored_digest``, compared in constant time."""
    return hmac.compare_digest(digest(secret), stored_digest)


#: Anything shaped like a token of the app (kind, separator, 8 or more alphabet characters).
TOKEN_LIKE = re.compile(r"cv[ipr]_[0-9A-Za-z]{8,}")


def redact(text: str) -> str:
    """``text`` with every token-shaped part cut to its kind: ``/api/tokens/cvi_[redacted]/use/``."""
    return TOKEN_LIKE.sub(lambda match: f"{match.group(0)[:4]}[redacted]", text)


def display_prefix(secret: str) -> str:
    """The part of a token that lists may show so a person recognises it (reveals under 24 bits)."""
    return secret[:PREFIX_LENGTH]
