from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo.data import DEFAULT_PASSWORD, ORGANIZATION_SLUG
from demo.mail import mail_folder
from demo.models import Organizacao
from django_convites.conf import app_settings
from django_convites.exceptions import ConvitesError
from django_convites.roles import role_of
from django_convites.services import invites


class Command(BaseCommand):
    help = (
        "Walk one invite through its life: the demo gestor issues it for the demo organization and its "
        "nuclei, an anonymous visitor validates it, and a new account uses it and becomes a member. With "
        "--email, the invite is bound to that address and mailed instead (to the console, or to a file in "
        "EMAIL_FILE_PATH): open its link in a browser to sign up on the accept page."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--target-type", default="associado", help="tipo_destino of the invite (default: associado)."
        )
        parser.add_argument("--username", help="Username of the new account (default: convidado-<random>).")
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help=f"Its password (default: {DEFAULT_PASSWORD}).")
        parser.add_argument(
            "--email",
            help="Bind the invite to this address and mail it its accept link; the command stops there, and "
            "the person signs up in a browser.",
        )
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the site is served, which the mailed link starts with (default: http://127.0.0.1:8000).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        users = get_user_model()._default_manager
        gestor = users.filter(username="gestor").first()
        organization = Organizacao.objects.filter(slug=ORGANIZATION_SLUG).first()
        if gestor is None or organization is None:
            raise CommandError("The demo data is missing: run `manage.py demo_data` first.")
        nuclei = list(organization.nucleos.all())
        issuer = gestor
        remaining = invites.remaining_today(gestor)
        if remaining == 0:
            # The gestor's daily quota (INVITES_PER_DAY) is spent: root, whom the quota does not bind, issues it.
            issuer = users.filter(username="root").first() or gestor
            self.stdout.write(
                f"gestor has issued today's {app_settings.INVITES_PER_DAY} invites (INVITES_PER_DAY): "
                "root, whom the quota does not bind, issues this one."
            )
        try:
            issued = invites.issue_invite(
                actor=issuer,
                target_type=options["target_type"],
                organization=organization.pk,
                nuclei=[nucleus.pk for nucleus in nuclei],
                email=options["email"],
                link_base=options["base_url"].rstrip("/"),
            )
        except ConvitesError as error:
            raise CommandError(f"{issuer} could not issue the invite: {error.detail} ({error.code})") from None
        if options["email"]:
            self.mailed(issued, organization, nuclei, options)
            return
        self.step(
            1,
            f"{issuer} issued an invite for {options['target_type']!r} in {organization} "
            f"({', '.join(n.nome for n in nuclei)}), valid until {timezone.localtime(issued.invite.expires_at):%Y-%m-%d %H:%M %Z}.",
        )
        self.stdout.write(f"   code (shown once): {issued.code}")
        if issued.remaining is not None:
            self.stdout.write(f"   {issuer} may create {issued.remaining} more today.")

        invite = invites.validate_invite(issued.code)
        self.step(2, f"an anonymous visitor validated the code: invite {invite.pk} is valid.")
        self.stdout.write("   the same over HTTP:")
        self.stdout.write(
            "   curl -X POST -H 'Content-Type: application/json' "
            f'-d \'{{"codigo":"{issued.code}"}}\' http://127.0.0.1:8000/api/tokens/validate/'
        )

        username = options["username"] or f"convidado-{secrets.token_hex(3)}"
        if users.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} exists already; choose another --username.")
        user = users.create_user(username=username, password=options["password"])  # type: ignore[attr-defined]
        invites.use_invite(issued.code, user=user)
        self.step(3, f"the new account {username!r} used the invite.")
        user.refresh_from_db()
        self.stdout.write(f"   organizations: {', '.join(o.nome for o in user.organizacoes.all())}")
        self.stdout.write(f"   nuclei: {', '.join(n.nome for n in user.nucleos.all())}")
        role = role_of(user)
        self.stdout.write(f"   role: {role.value if role else '-'}")
        try:
            invites.use_invite(issued.code, user=issuer)
        except ConvitesError as error:
            self.step(4, f"a second use is refused: {error.code}.")

    def mailed(self, issued: invites.IssuedInvite, organization: Organizacao, nuclei: list[Any], options: Any) -> None:
        """Say where the e-mailed invite went and how to follow its link."""
        self.step(
            1,
            f"{issued.invite.issued_by} issued an invite for {options['target_type']!r} in {organization} "
            f"({', '.join(n.nome for n in nuclei)}), bound to {issued.invite.email}, and mailed it its link.",
        )
        folder = mail_folder()
        if folder:
            files = sorted(Path(folder).iterdir(), key=lambda path: path.stat().st_mtime)
            self.step(2, f"the mail is in {files[-1] if files else folder}.")
        else:
            self.step(2, "the mail was printed above (set EMAIL_FILE_PATH to a folder to get it as a file).")
        self.step(
            3,
            f"with the site running at {options['base_url']} (manage.py demo), open the link of the mail "
            "(.../tokens/convites/aceitar/<code>/) in a browser: sign up on the accept page, and the home "
            "page shows the new member of the organization and its nuclei.",
        )

    def step(self, number: int, text: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"{number}. {text}"))
