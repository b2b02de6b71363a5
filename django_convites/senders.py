"""Delivery of authentication codes and invites.

``AUTH_CODE_SENDER`` names a callable ``(user, code, purpose) -> str``.

It delivers ``code`` to ``user`` and returns the channel's name (``"email"``, ``"sms"``, ...), which the
API answers as ``canal``. It runs after the code is stored and before the request returns; raising
:class:`~django_convites.exceptions.CodeUndeliverable` refuses the request and stores nothing. An SMS or
WhatsApp sender is a function of the same shape::

    def send_by_sms(user, code, purpose):
        my_sms_gateway.send(user.profile.phone, f"Your code: {code}")
        return "sms"

``INVITE_SENDER`` names a callable ``(invite, code, link) -> str`` that delivers an invite bound to an
address (``invite.email``): ``link`` is the invite's accept link, which carries the code. It runs inside the
transaction that creates (or resends) the invite; raising refuses the request and stores nothing, and
:class:`~django_convites.exceptions.InviteUndeliverable` answers 503 ``invite_undeliverable``.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from django_convites.exceptions import CodeUndeliverable, InviteUndeliverable


def send_by_email(user: Any, code: str, purpose: str) -> str:
    """Mail ``code`` to the user's address with Django's email backend (templates
    ``django_convites/email/auth_code_subject.txt`` and ``auth_code.txt``, overridable)."""
    field = getattr(user, "EMAIL_FIELD", "email")
    address = getattr(user, field, "") or ""
    if not address:
        raise CodeUndeliverable()
    context = {"user": user, "code": code, "purpose": purpose}
    subject = " ".join(render_to_string("django_convites/email/auth_code_subject.txt", context).split())
    body = render_to_string("django_convites/email/auth_code.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address])
    return "email"


def send_invite_by_email(invite: Any, code: str, link: str) -> str:
    """Mail the invite's accept ``link`` to the address it is bound to, with Django's email backend
    (templates ``django_convites/email/invite_subject.txt`` and ``invite.txt``, overridable; in the
    language active for the request that sends it). A backend that fails answers 503
    ``invite_undeliverable``, and nothing is created."""
    if not invite.email:
        raise InviteUndeliverable()
    context = {"invite": invite, "code": code, "link": link, "issuer": invite.issued_by}
    subject = " ".join(render_to_string("django_convites/email/invite_subject.txt", context).split())
    body = render_to_string("django_convites/email/invite.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invite.email])
    except (OSError, smtplib.SMTPException):
        raise InviteUndeliverable() from None
    return "email"
