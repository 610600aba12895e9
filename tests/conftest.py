"""Shared fixtures: a named cast of people, and helpers that act through the services."""

from __future__ import annotations

import pytest

from incidentdesk.accounts.services import token_create, user_create
from incidentdesk.policy.services import policy_sync_from_file

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True, scope="session")
def _front_rendered_inline():
    # a test's own transaction is invisible to the front's renderer thread: in-process, a
    # change is rendered before its call returns (`incidentdesk serve` tests the thread)
    from django.conf import settings

    settings.STATUSPAGE_RENDER_INLINE = True


@pytest.fixture(autouse=True)
def _policy(db):
    policy_sync_from_file()


@pytest.fixture
def admin(db):
    return user_create(by=None, email="ada@spacewise.test", password=PASSWORD, role="admin")


@pytest.fixture
def manager(db):
    return user_create(by=None, email="morgan@spacewise.test", password=PASSWORD, role="manager")


@pytest.fixture
def member(db):
    return user_create(by=None, email="alex@spacewise.test", password=PASSWORD, role="member")


@pytest.fixture
def member2(db):
    return user_create(by=None, email="sam@spacewise.test", password=PASSWORD, role="member")


@pytest.fixture
def stakeholder(db):
    return user_create(
        by=None,
        email="nora@northwind.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Northwind",
    )


@pytest.fixture
def stakeholder_same_org(db, stakeholder):
    return user_create(
        by=None,
        email="ned@northwind.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Northwind",
    )


@pytest.fixture
def other_stakeholder(db):
    return user_create(
        by=None,
        email="carl@contoso.test",
        password=PASSWORD,
        role="stakeholder",
        org_name="Contoso",
    )


@pytest.fixture
def token_for():
    def make(user):
        raw, _ = token_create(by=None, user=user)
        return raw

    return make
