"""TOTP seeds at rest: encrypted with ``TOTP_ENCRYPTION_KEYS`` (``cryptography``'s ``MultiFernet``).

With keys set, a new device's seed goes into :class:`~django_convites.models.TotpSecret`, encrypted
with the first key; the ``TOTPDevice`` row keeps a random decoy as ``key`` and a ``last_t`` no step
reaches, so neither a copy of the database nor django-otp's own ``verify_token`` yields a usable code.
Every key decrypts, so a new key goes first and the old ones stay until ``convites_reencrypt_totp`` has
re-encrypted every seed under the new one (it also seals devices created before encryption was on).
"""

from __future__ import annotations

import copy
import secrets
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from django_convites.conf import app_settings
from django_convites.models import TotpSecret
from django_convites.models.two_factor import SEALED_LAST_T

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet


def _fernet() -> MultiFernet:
    from cryptography.fernet import Fernet, MultiFernet

    keys = app_settings.TOTP_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("TOTP_ENCRYPTION_KEYS is empty: there is no key to encrypt TOTP seeds with.")
    return MultiFernet([Fernet(key) for key in keys])


def _encrypt(key_hex: str) -> str:
    return _fernet().encrypt(key_hex.encode("ascii")).decode("ascii")


def enabled() -> bool:
    return bool(app_settings.TOTP_ENCRYPTION_KEYS)


def secret_of(device: TOTPDevice) -> TotpSecret | None:
    try:
        # django-otp is not typed: its models, and the relations to them, are Any.
        secret: TotpSecret = device.convites_secret
        return secret
    except TotpSecret.DoesNotExist:
        return None


def seed(device: TOTPDevice) -> bytes:
    """The device's real seed, decrypted when it is sealed."""
    sealed = secret_of(device)
    if sealed is None:
        key: bytes = device.bin_key
        return key
    return bytes.fromhex(_fernet().decrypt(sealed.ciphertext.encode("ascii")).decode("ascii"))


def unsealed_copy(device: TOTPDevice) -> TOTPDevice:
    """An unsaved copy of ``device`` with its real seed, for django-otp helpers such as ``config_url``."""
    clone = copy.copy(device)
    clone.key = seed(device).hex()
    return clone


def create_sealed(**fields: Any) -> TOTPDevice:
    """A new ``TOTPDevice`` whose seed never reaches the database in plaintext, not even for a moment."""
    real = secrets.token_hex(20)
    device = TOTPDevice.objects.create(key=secrets.token_hex(20), last_t=SEALED_LAST_T, **fields)
    TotpSecret.objects.create(device=device, ciphertext=_encrypt(real))
    return device


def seal(device: TOTPDevice) -> bool:
    """Encrypt a plaintext device's seed under the first key; False when it was sealed already."""
    with transaction.atomic():
        locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if TotpSecret.objects.filter(device=locked).exists():
            return False
        TotpSecret.objects.create(
            device=locked,
            ciphertext=_encrypt(locked.key),
            last_t=locked.last_t,
        )
        TOTPDevice.objects.filter(pk=locked.pk).update(key=secrets.token_hex(20), last_t=SEALED_LAST_T)
    device.refresh_from_db(fields=["key", "last_t"])
    device._state.fields_cache.pop("convites_secret", None)
    return True


def rotate(sealed: TotpSecret) -> None:
    """Re-encrypt one sealed seed under the first key."""
    TotpSecret.objects.filter(pk=sealed.pk).update(
        ciphertext=_fernet().rotate(sealed.ciphertext.encode("ascii")).decode("ascii")
    )


def unseal(device: TOTPDevice) -> bool:
    """Put a sealed device's seed back in django-otp's row in plaintext; False when it was not sealed."""
    with transaction.atomic():
        sealed = TotpSecret.objects.select_for_update().filter(device_id=device.pk).first()
        if sealed is None:
            return False
        key = _fernet().decrypt(sealed.ciphertext.encode("ascii")).decode("ascii")
        TOTPDevice.objects.filter(pk=device.pk).update(key=key, last_t=sealed.last_t)
        sealed.delete()
    return True
