from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from django_convites.models import TotpSecret
from django_convites.services import totp_seeds


class Command(BaseCommand):
    help = (
        "Re-encrypt every TOTP seed under the first key of TOTP_ENCRYPTION_KEYS, and encrypt the seeds of "
        "devices stored in plaintext. With --decrypt, put every seed back in plaintext (before removing "
        "the last key)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--decrypt", action="store_true", help="Store every seed in plaintext again, as django-otp does."
        )

    def handle(self, *args: Any, decrypt: bool, **options: Any) -> None:
        if not totp_seeds.enabled():
            raise CommandError("TOTP_ENCRYPTION_KEYS is empty: set the keys first (the new key first in the list).")
        if decrypt:
            opened = sum(
                totp_seeds.unseal(device) for device in TOTPDevice.objects.filter(convites_secret__isnull=False)
            )
            self.stdout.write(f"{opened} TOTP seeds stored in plaintext again.")
            return
        rotated = 0
        for sealed in TotpSecret.objects.iterator():
            totp_seeds.rotate(sealed)
            rotated += 1
        sealed_now = sum(totp_seeds.seal(device) for device in TOTPDevice.objects.filter(convites_secret__isnull=True))
        self.stdout.write(
            f"{rotated} TOTP seeds re-encrypted under the first key, {sealed_now} encrypted for the first time."
        )
