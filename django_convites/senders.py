"""Delivery of authentication codes: ``AUTH_CODE_SENDER`` names a callable ``(user, code, purpose) -> str``.

It delivers ``code`` to ``user`` and returns the channel's name (``"email"``, ``"sms"``, ...), which the
API answers as ``canal``. It runs after the code is stored and before the request returns; raising
:class:`~django_convites.exceptions.CodeUndeliverable` refuses the request and stores nothing. An SMS or
WhatsApp sender is a function of the same shape::

    def send_by_sms(user, code, purpose):
        my_sms_gateway.send(user.profile.phone, f"Your code: {code}")
        return "sms"
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from django_convites.exceptions import CodeUndeliverable


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
