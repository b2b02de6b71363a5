"""Domain signals: one per lifecycle event. Host sites connect their own receivers here.

Every signal is a :class:`DomainSignal` and is sent by a service with these keyword arguments:

``actor``
    the user who acted, or None (anonymous or a system job);
``target``
    what the event is about: a model instance of this app, a :class:`~django_convites.audit.Target`, or None;
``meta``
    the :class:`~django_convites.net.RequestMeta` of the request (IP, user agent), or None;
``details``
    a JSON-serialisable dict with event-specific facts, under the keys its signal declares
    (:attr:`DomainSignal.details`; docs/events.rst says what each holds). Never a secret, digest or password.

This module only declares signals and imports nothing of the app. The app's own receivers are connected
in :meth:`DjangoConvitesConfig.ready() <django_convites.apps.DjangoConvitesConfig.ready>`: the audit
receiver of :mod:`django_convites.audit`, which writes one :class:`~django_convites.models.AuditEvent` per
domain signal, and the receivers of :data:`two_factor_enabling`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.dispatch import Signal

#: Every domain signal by its event name.
REGISTRY: dict[str, DomainSignal] = {}


class DomainSignal(Signal):
    """A signal that names its audit event and the keys its ``details`` may hold. ``failure`` events survive
    the request's rollback."""

    #: Receivers of every domain signal, those declared later (by a host site) too: see :meth:`connect_every`.
    _every: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init__(self, event: str, *, failure: bool = False, details: tuple[str, ...] = ()) -> None:
        if event in REGISTRY:
            raise ValueError(f"a domain signal named {event!r} already exists")
        super().__init__()
        self.event = event
        self.failure = failure
        #: The keys its ``details`` may hold (docs/events.rst lists what each one holds).
        self.details = frozenset(details)
        REGISTRY[event] = self
        for dispatch_uid, receiver in self._every.items():
            self.connect(receiver, weak=False, dispatch_uid=f"{dispatch_uid}:{event}")

    @classmethod
    def connect_every(cls, receiver: Callable[..., Any], *, dispatch_uid: str) -> None:
        """Connect ``receiver`` to every domain signal, declared or still to come (the app's ``ready()``
        connects the audit receiver so)."""
        cls._every[dispatch_uid] = receiver
        for signal in REGISTRY.values():
            signal.connect(receiver, weak=False, dispatch_uid=f"{dispatch_uid}:{signal.event}")

    def __repr__(self) -> str:
        return f"<DomainSignal {self.event}>"


# -- invites (docs/invites.rst) ------------------------------------------------------------------------
# Sent with ``sender=Invite`` and ``target`` the invite (None when there is none: no invite matched, or a
# refusal to issue one).

#: An invite was created: its ``tipo_destino``, ``organizacao``, ``nucleos``, ``data_expiracao`` and
#: ``email_vinculado`` (whether it is bound to an address).
invite_issued = DomainSignal(
    "convite_gerado", details=("tipo_destino", "organizacao", "nucleos", "data_expiracao", "email_vinculado")
)
#: A code was checked and the invite can be used.
invite_validated = DomainSignal("convite_validado")
#: A well-formed code was checked and cannot be used. ``motivo``: the error code.
invite_validation_failed = DomainSignal("convite_validacao_falhou", failure=True, details=("motivo",))
#: An invite was spent (``tipo_destino``). Also sent with ``invite`` and ``user``: the host attaches the user here.
invite_used = DomainSignal("convite_usado", details=("tipo_destino",))
#: A use of an invite that cannot be used was refused (by ``use_invite``, a sign-up or the allauth adapter).
#: ``motivo``: the error code; ``causa``: why the invite was withdrawn then, when its issuer lost the right.
invite_use_failed = DomainSignal("convite_uso_falhou", failure=True, details=("motivo", "causa"))
#: An invite bound to an address was handed to ``INVITE_SENDER`` (when created, or sent again); the actor is
#: its issuer. ``canal``: the channel the sender named; a resend adds ``reenvio`` and ``solicitante`` (who
#: asked). Never the code or the link.
invite_sent = DomainSignal("convite_enviado", details=("canal", "reenvio", "solicitante"))
#: An invite was revoked; with no actor and a ``motivo`` when it was withdrawn because its issuer lost the right.
invite_revoked = DomainSignal("convite_revogado", details=("motivo",))
#: The role table refused an invite action. ``acao`` and ``motivo``.
invite_denied = DomainSignal("convite_negado", failure=True, details=("acao", "motivo"))
#: An issuer asked for an invite beyond ``INVITES_PER_DAY``. ``limite``.
invite_quota_exceeded = DomainSignal("convite_cota_excedida", failure=True, details=("limite",))


# -- API tokens (docs/api-tokens.rst) ---------------------------------------------------------------------
# Sent with ``sender=ApiToken``; ``target`` is the token (or a ``Target("api_token", id)``).

#: An API token was created (not by a rotation).
api_token_issued = DomainSignal("api_token_gerado", details=("scope", "nome", "expira_em", "ips_permitidos"))
#: An API token was revoked (by its owner, an admin or a command). The tokens that turning two-factor
#: authentication on revokes are counted in its ``2fa_ativado`` event instead.
api_token_revoked = DomainSignal("api_token_revogado")
#: An API token was replaced by a new one, the one event of a rotation. ``novo``: the new token's id;
#: ``expira_em``: its expiry.
api_token_rotated = DomainSignal("api_token_rotacionado", details=("novo", "expira_em"))
#: An API token, or the creation, revocation or rotation of one, was refused. ``motivo``: the error code
#: (``token_expired``, ``token_revoked``, ``ip_not_allowed``, ``user_inactive``, ``insufficient_scope`` with
#: ``necessario`` the scope needed, or the policy's refusal). A refusal of a request's token is sent at most
#: once a minute per token and reason, with ``tentativas``: the refusals it stands for (this one and those
#: not sent since the last one; docs/audit.rst).
api_token_denied = DomainSignal("api_token_negado", failure=True, details=("motivo", "necessario", "tentativas"))
#: An API token authenticated a request: recorded at most once a minute per token, with the last-used write.
api_token_used = DomainSignal("api_token_usado")


# -- JWT sessions (docs/sessions.rst) -------------------------------------------------------------------
# Sent with ``sender=SessionFamily``; ``target`` is the family (None for a failed login, a login to a Django
# session, and the end of all of a user's sessions).

#: A user logged in and a session family began. Also sent, with no target and ``via: "django"``, for every
#: login to a Django session (``user_logged_in``).
login_succeeded = DomainSignal("login", details=("via",))
#: A login was refused. ``motivo`` (``invalid_credentials``, ``otp_required``, ``otp_invalid``, ``otp_locked``)
#: and ``usuario_informado`` (the username sent, never the password); ``via: "django"`` when it came from
#: Django's ``user_login_failed`` (any other ``authenticate()`` of the site).
login_failed = DomainSignal("login_falhou", failure=True, details=("motivo", "usuario_informado", "via"))
#: A refresh token was spent for a new pair.
token_refreshed = DomainSignal("token_renovado")
#: A spent refresh token was presented again: the whole family is revoked. A failure event.
refresh_reused = DomainSignal("refresh_reutilizado", failure=True)
#: Session families were ended. ``motivo``: ``logout``, ``usuario`` (from the sessions list), ``admin``,
#: ``senha_alterada``, ``usuario_desativado``; ``sessoes``: how many, when all of a user's were (no target).
#: The sessions that turning two-factor authentication on ends are counted in its ``2fa_ativado`` event instead.
session_revoked = DomainSignal("sessao_revogada", details=("motivo", "sessoes"))


# -- two-factor authentication (docs/two-factor.rst) ------------------------------------------------------
# Sent with ``sender=TOTPDevice``; ``target`` is the device (None once it is deleted, or when there is none).

#: A TOTP enrolment began: an unconfirmed device was created.
two_factor_started = DomainSignal("2fa_iniciado")
#: A device was confirmed with a current code: two-factor authentication is on. ``sessoes_encerradas`` (the
#: other JWT sessions it ended), ``api_tokens_revogados`` (the API tokens it revoked) and
#: ``api_tokens_mantidos`` (whether the user kept them); a site's receivers of :data:`two_factor_enabling`
#: add keys of their own, not declared here. The one event of the change.
two_factor_enabled = DomainSignal(
    "2fa_ativado", details=("sessoes_encerradas", "api_tokens_revogados", "api_tokens_mantidos")
)
#: Sent inside the transaction that turns two-factor authentication on, just before
#: :data:`two_factor_enabled`, with ``user``, ``keep_session`` (the id of the JWT session that confirms, or
#: None) and ``keep_api_tokens``. Each receiver ends what ``user`` opened with a password alone and returns
#: a dict of counts, merged into the event's ``details``. The app's receivers end the JWT sessions
#: (``sessoes_encerradas``) and the API tokens (``api_tokens_revogados``); connect one of your own to end a
#: credential of your site's (a DRF ``Token``, a knox token) the same way. Not audited by itself.
two_factor_enabling = Signal()
#: Two-factor authentication was turned off (with a current code).
two_factor_disabled = DomainSignal("2fa_desativado")
#: A two-factor code was refused. ``acao``: ``confirmar``, ``desativar``, ``verificar`` or ``codigos_backup``;
#: ``motivo``: ``otp_locked`` when a lockout refused it unchecked. A failure event.
two_factor_failed = DomainSignal("2fa_falhou", failure=True, details=("acao", "motivo"))
#: ``TOTP_FAILURE_LIMIT`` wrong codes in a row: the user's codes are refused for ``TOTP_LOCKOUT``
#: (``sender=TwoFactorLimit``, ``target`` a ``Target("usuario", id)``). ``tentativas`` (the limit) and
#: ``bloqueado_ate``. A failure event.
two_factor_locked = DomainSignal("2fa_bloqueado", failure=True, details=("tentativas", "bloqueado_ate"))
#: An admin lifted a user's lockout or cleared their run of wrong codes (same sender and target).
#: ``tentativas`` (the wrong codes in a row it cleared) and ``bloqueio`` (whether a lockout ran).
two_factor_unlocked = DomainSignal("2fa_desbloqueado", details=("tentativas", "bloqueio"))
#: Ten new backup codes replaced the user's earlier ones (``sender=BackupCodeDevice``). ``quantidade``.
#: The codes themselves are never recorded.
backup_codes_generated = DomainSignal("codigos_backup_gerados", details=("quantidade",))


# -- authentication codes (docs/auth-codes.rst) -----------------------------------------------------------
# Sent with ``sender=AuthCode``; ``target`` is the code's row (None when the user had no code). The code
# itself is never recorded.

#: A code was stored and handed to ``AUTH_CODE_SENDER``. ``finalidade``, ``canal``.
auth_code_issued = DomainSignal("codigo_gerado", details=("finalidade", "canal"))
#: A right code was sent and spent. ``finalidade``.
auth_code_validated = DomainSignal("codigo_validado", details=("finalidade",))
#: A code was refused. ``motivo`` (``code_invalid``, ``code_expired``, ``code_used``, ``code_locked``), with
#: ``finalidade`` (when the user had a code), ``tentativas`` (wrong tries of the code) and ``bloqueio`` (the
#: user's lockout began) where they apply. A failure event.
auth_code_failed = DomainSignal(
    "codigo_falhou", failure=True, details=("motivo", "finalidade", "tentativas", "bloqueio")
)


# -- webhooks ---------------------------------------------------------------------------------------------
# Sent with ``sender=WebhookDelivery``, ``target`` a ``Target("webhook", <delivery id>)`` and no actor.

#: A webhook delivery was given up after ``WEBHOOK_MAX_ATTEMPTS`` attempts (a dead letter). ``entrega``: the
#: outbox row's id; ``evento`` / ``evento_id``: the audit event it carried; ``destino``: the endpoint's scheme
#: and host only (never its path or query, which may hold a credential); ``tentativas``: the attempts made;
#: ``erro``: the last error. This event is never itself sent to a webhook.
webhook_failed = DomainSignal(
    "webhook_falhou", details=("entrega", "evento", "evento_id", "destino", "tentativas", "erro")
)
