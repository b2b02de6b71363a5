"""Invites, scoped API tokens, JWT sessions, TOTP 2FA and an audit trail for Django."""

from __future__ import annotations

__version__ = "0.1.0"
