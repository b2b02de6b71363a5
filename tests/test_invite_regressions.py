"""The original app's invite bugs (research notes, section d) must not come back.

Most have a test next to the behaviour they break; this module holds the rest. Where each one lives:

1. use by id without the code: ``test_invites_api::test_use_by_id_needs_the_code``
2. expiry ignored on use, no default expiry: ``test_revoked_and_expired_invites_cannot_be_used``,
   ``test_default_expiry_is_the_lifetime_setting``, ``test_bug2_validation_never_writes_the_expired_state``
3. racy single use and quota: ``test_invites_concurrency`` (PostgreSQL, 24 threads)
4. spoofable client IP: ``test_bug4_*`` below, ``test_validation_is_throttled_per_client_ip``
5. the raw code in logs and stored previews: ``test_invites::test_no_code_or_digest_in_audit_rows_or_logs``,
   ``test_only_the_digest_of_the_code_is_stored``, ``test_bug5_no_column_holds_part_of_the_code``
7. no ownership or organization scoping, nuclei silently dropped: ``test_a_gestor_revokes_only_their_own``,
   ``test_confined_issuers_act_only_on_their_organizations``, ``test_admin_creates_an_invite_with_...``
8. revoking a used invite overwrote it: ``test_a_used_invite_cannot_be_revoked``
9. state changes over GET: ``test_use_by_get_is_405``, ``test_revoke_by_get_is_405``,
   ``test_the_issue_page_needs_csrf``
10. validate leaked the issuer, needed a login, consumed the invite, refused real codes:
    ``test_validate_by_get_and_post_returns_what_an_invitee_needs``, ``test_the_validate_page_checks_without_using``
11. the registration path never attached the organization: ``test_example_project::test_demo_convite_...``
17. history deleted with its invite: ``test_bug17_history_outlives_the_invite``
19. unvalidated input gave 500: ``test_bad_fields_are_400_and_write_nothing``, ``test_non_object_bodies_are_400``
20. 409 for expired and revoked: ``test_used_revoked_and_expired_codes_are_410``
"""

from __future__ import annotations

import pytest

from django_convites.models import AuditEvent, Invite
from django_convites.services import invites
from tests.factories import expire, issue
from tests.invites import VALIDATE

pytestmark = pytest.mark.django_db


def test_bug2_validation_never_writes_the_expired_state(api_client, users):
    issued = issue(users["admin"])
    expire(issued.invite)
    before = Invite.objects.values().get()
    assert api_client.get(VALIDATE, {"codigo": issued.code}).status_code == 410
    assert Invite.objects.values().get() == before


def test_bug4_a_forwarded_for_header_does_not_choose_the_recorded_ip(api_client, users):
    issued = issue(users["admin"])
    api_client.get(VALIDATE, {"codigo": issued.code}, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert AuditEvent.objects.get(event="convite_validado").ip == "10.0.0.1"


def test_bug4_a_trusted_proxy_is_believed(api_client, users, convites_settings):
    convites_settings(TRUSTED_PROXIES=1)
    issued = issue(users["admin"])
    api_client.get(VALIDATE, {"codigo": issued.code}, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert AuditEvent.objects.get(event="convite_validado").ip == "1.1.1.1"


def test_bug5_no_column_holds_part_of_the_code(users):
    issued = issue(users["admin"])
    stored = [str(value) for value in Invite.objects.values().get().values()]
    random_part = issued.code[4:-6]
    assert not any(random_part[:8] in value for value in stored)


def test_bug17_history_outlives_the_invite(users):
    issued = issue(users["admin"])
    invites.validate_invite(issued.code)
    Invite.objects.filter(pk=issued.invite.pk).delete()
    assert AuditEvent.objects.filter(target_type="convite", target_id=str(issued.invite.pk)).count() == 2
