"""Accounts, organisations and API tokens."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.hashers import identify_hasher

from incidentdesk.accounts.models import ApiToken, StakeholderOrg, User
from incidentdesk.accounts.permissions import PERMISSIONS, can, require
from incidentdesk.accounts.services import (
    token_authenticate,
    token_create,
    token_revoke,
    user_create,
    user_update,
)
from incidentdesk.core.errors import Conflict, InvalidInput, PermissionDenied
from incidentdesk.core.models import AuditEntry

from ..conftest import PASSWORD


def test_passwords_are_hashed_with_argon2(member):
    assert identify_hasher(member.password).algorithm == "argon2"
    assert member.check_password(PASSWORD)


def test_stakeholder_organisation_is_created_once(stakeholder, stakeholder_same_org):
    assert StakeholderOrg.objects.count() == 1
    assert stakeholder.organisation == stakeholder_same_org.organisation


def test_emails_are_stored_in_lower_case_and_unique(db):
    user = user_create(by=None, email=" Alex@Spacewise.TEST ", password=PASSWORD, role="member")
    assert user.email == "alex@spacewise.test"
    with pytest.raises(Conflict):
        user_create(by=None, email="ALEX@spacewise.test", password=PASSWORD, role="member")
    assert User.objects.count() == 1


def test_every_problem_of_a_new_account_is_listed(db):
    with pytest.raises(InvalidInput) as caught:
        user_create(by=None, email="not-an-address", password="123", role="boss", org_name="X")
    assert list(dict.fromkeys(e.field for e in caught.value.errors)) == [
        "email",
        "role",
        "org",
        "password",
    ]
    assert User.objects.count() == 0
    assert StakeholderOrg.objects.count() == 0


def test_only_stakeholders_belong_to_an_organisation(db):
    with pytest.raises(InvalidInput) as caught:
        user_create(by=None, email="m@x.test", password=PASSWORD, role="member", org_name="X")
    assert (
        caught.value.errors[0].message == "Only stakeholders belong to a stakeholder organisation."
    )


def test_only_admins_manage_accounts(admin, manager, member):
    with pytest.raises(PermissionDenied):
        user_create(by=manager, email="new@x.test", password=PASSWORD, role="member")
    new = user_create(by=admin, email="new@x.test", password=PASSWORD, role="member")
    user_update(by=admin, user=new, role="manager")
    assert User.objects.get(pk=new.pk).role == "manager"
    with pytest.raises(InvalidInput):
        user_update(by=admin, user=admin, active=False)
    kinds = list(AuditEntry.objects.order_by("seq").values_list("kind", flat=True))
    assert kinds[-2:] == ["user_created", "user_updated"]


def test_token_is_random_shown_once_and_stored_as_a_hash(member):
    raw, token = token_create(by=member, user=member, name="laptop")
    other, _ = token_create(by=member, user=member)
    assert raw != other
    assert raw.startswith("idk_")
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:12]
    assert not ApiToken.objects.filter(digest=raw).exists()
    assert token_authenticate(raw) == member


def test_revoked_unknown_and_inactive_tokens_do_not_authenticate(member, stakeholder):
    raw, token = token_create(by=None, user=member)
    assert token_authenticate(raw + "x") is None
    assert token_authenticate("Bearer " + raw) is None
    token_revoke(by=member, token=token)
    assert token_authenticate(raw) is None
    raw2, _ = token_create(by=None, user=stakeholder)
    stakeholder.is_active = False
    stakeholder.save()
    assert token_authenticate(raw2) is None


def test_tokens_for_someone_else_need_user_management(member, member2, admin):
    with pytest.raises(PermissionDenied):
        token_create(by=member, user=member2)
    raw, _ = token_create(by=admin, user=member2)
    assert token_authenticate(raw) == member2


def test_api_accepts_a_token_and_refuses_a_revoked_one(client, member):
    raw, token = token_create(by=None, user=member)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get("/api/v1/incidents", **auth).status_code == 200
    token_revoke(by=None, token=token)
    r = client.get("/api/v1/incidents", **auth)
    assert r.status_code == 401
    assert r["WWW-Authenticate"] == "Bearer"


def test_permission_table_names_known_roles_only():
    roles = {"admin", "manager", "member", "stakeholder"}
    for action, allowed in PERMISSIONS.items():
        assert allowed <= roles, action
    with pytest.raises(KeyError):
        require(None, "incident.fly")


def test_anonymous_and_inactive_users_may_do_nothing(member):
    assert can(member, "incident.report")
    member.is_active = False
    assert not can(member, "incident.report")
    assert not can(None, "incident.report")
