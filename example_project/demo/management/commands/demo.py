from __future__ import annotations

import ipaddress
import socket
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.data import DEFAULT_PASSWORD
from demo.mail import mail_folder


def base_url(addrport: str) -> str:
    """The URL a browser on this machine uses for runserver's ``addrport`` (``8000``, ``ip:port``, ...)."""
    host, sep, port = addrport.rpartition(":")
    if not sep:
        host, port = "", addrport
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        address = ipaddress.ip_address(host) if host else None
    except ValueError:
        return f"http://{host}:{port}"
    if address is None or address.is_unspecified:
        return f"http://127.0.0.1:{port}"
    return f"http://[{address}]:{port}" if address.version == 6 else f"http://{address}:{port}"


def split_addrport(addrport: str) -> tuple[str, int]:
    """``(host, port)`` of runserver's ``addrport`` (``8000``, ``0.0.0.0:8000``, ``[::1]:8000``)."""
    host, sep, port = addrport.rpartition(":")
    host = (host if sep else "127.0.0.1").strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise CommandError(f"{addrport!r} is not an address and port such as 127.0.0.1:8000.") from None
    return host, number


def ensure_free(addrport: str) -> None:
    """A ``CommandError`` naming the way out when something already listens on ``addrport``."""
    host, port = split_addrport(addrport)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise CommandError(
                f"Cannot serve the demo on {host}:{port}: {error.strerror}. Is another server running there? "
                f"Stop it, or choose another port: manage.py demo --addrport 127.0.0.1:8001"
            ) from None


class Command(BaseCommand):
    help = "Run the demo: migrate the database, create the demo data, print how to log in, serve the site."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--addrport",
            default="127.0.0.1:8000",
            help="Address and port of the development server (default: 127.0.0.1:8000).",
        )
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"Password of every demo user (default: {DEFAULT_PASSWORD}).",
        )
        parser.add_argument(
            "--noserve",
            action="store_true",
            help="Stop after printing the instructions instead of starting the server.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity: int = options["verbosity"]
        addrport: str = options["addrport"]
        # The streams call_command("demo", stdout=..., stderr=...) was given, if any, go to the subcommands.
        streams = {name: options[name] for name in ("stdout", "stderr") if options.get(name) is not None}
        if not options["noserve"]:
            ensure_free(addrport)  # before anything says the site is ready
        call_command("migrate", interactive=False, verbosity=verbosity, **streams)
        call_command("demo_data", password=options["password"], verbosity=verbosity, **streams)
        self.stdout.write(self.instructions(base_url(addrport)))
        if options["noserve"]:
            return
        call_command("runserver", addrport, use_reloader=False)

    def instructions(self, url: str) -> str:
        links = [
            ("Home", f"{url}/"),
            ("Log in", f"{url}/accounts/login/"),
            ("Admin", f"{url}/admin/"),
            ("API", f"{url}/api/"),
        ]
        if "drf_spectacular" in settings.INSTALLED_APPS:
            links += [("API docs", f"{url}/api/docs/"), ("OpenAPI", f"{url}/api/schema/")]
        folder = mail_folder()
        mail = f"Mail is written as files to {folder}." if folder else "Mail is printed to this console."
        lines = [
            "",
            self.style.SUCCESS("The django-convites demo is ready."),
            "",
            *(f"  {label + ':':<10} {link}" for label, link in links),
            "",
            "Log in with any user above (root, admin, gestor, usuario) and the password shown.",
            "Try the API from a shell:",
            f'  curl -H "Accept: application/json" {url}/api/',
            "  # log in as the gestor, then issue an invite with the access token:",
            f'  curl -X POST -H \'Content-Type: application/json\' -d \'{{"username":"gestor","password":"{DEFAULT_PASSWORD}"}}\' {url}/api/auth/token/',
            f"  curl -X POST -H 'Authorization: Bearer <access>' -H 'Content-Type: application/json' -d '{{\"tipo_destino\":\"associado\"}}' {url}/api/tokens/",
            mail,
            "",
        ]
        return "\n".join(lines)
