"""The example project's settings with its rate limits and its daily invite quota off, for the fuzzer's
authenticated phases: without them most requests to the throttled operations are answered 429 before
their logic runs, and the issuers run out of invites after five. The anonymous phase keeps the example
project's own settings, so the 429 answers are fuzzed too (tests/fuzz/run.py)."""

from __future__ import annotations

from example_project.settings import *  # noqa: F403
from example_project.settings import DJANGO_CONVITES

DJANGO_CONVITES = {
    **DJANGO_CONVITES,
    "INVITES_PER_DAY": None,
    "INVITE_VALIDATION_RATE": None,
    "INVITE_RESEND_RATE": None,
    "LOGIN_RATE": None,
    "LOGIN_USERNAME_RATE": None,
    "TWO_FACTOR_RATE": None,
}
