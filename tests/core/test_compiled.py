"""Queries compiled once per process (core/compiled.py) answer as the ORM's queryset would."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidentdesk.accounts.models import StakeholderOrg, User
from incidentdesk.accounts.services import token_create, token_lookup, token_revoke
from incidentdesk.core import clock
from incidentdesk.core.compiled import Compiled
from incidentdesk.incidents.services import incident_report

BY_EMAIL = Compiled(lambda email: User.objects.filter(email=email).order_by("pk")[:1])
ORGS_OF = Compiled(
    lambda incident: StakeholderOrg.objects.filter(affected_by=incident).order_by("name")
)


def test_each_call_runs_its_own_values_in_one_query(member, member2):
    with CaptureQueriesContext(connection) as queries:
        first = BY_EMAIL.first(email=member.email)
        second = BY_EMAIL.first(email=member2.email)
        nobody = BY_EMAIL.first(email="nobody@spacewise.test")
    assert (first, second, nobody) == (member, member2, None)
    assert first.role == member.role and second.email == member2.email
    assert len(queries) == 3


def test_a_value_that_looks_like_sql_is_only_a_value(member):
    assert BY_EMAIL.first(email="x' OR '1'='1") is None
    assert BY_EMAIL.all(email=member.email.upper() + ";") == []


def test_whole_numbers_reach_a_join(manager, stakeholder):
    incident = incident_report(by=stakeholder, title="Orders stuck")
    other = incident_report(by=manager, title="Quiet one")
    assert [o.name for o in ORGS_OF.all(incident=incident.pk)] == [stakeholder.organisation.name]
    assert ORGS_OF.all(incident=other.pk) == []


def test_values_the_orm_would_convert_are_refused(member):
    with pytest.raises(TypeError):
        BY_EMAIL.first(email=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(TypeError):
        BY_EMAIL.first(email=None)
    with pytest.raises(TypeError):
        BY_EMAIL.first(mail=member.email)
    since = Compiled(lambda at: User.objects.filter(date_joined__gt=at))
    with pytest.raises(TypeError):
        since.all(at="2026-01-01")  # a time the ORM would have converted never runs raw


def test_a_token_is_refused_the_moment_it_is_revoked_or_expires(member, admin):
    raw, _ = token_create(by=member, user=member, name="ci")
    token = token_lookup(raw)
    assert token is not None and token.user == member
    token_revoke(by=member, token=token)
    assert token_lookup(raw) is None
    raw, _ = token_create(by=member, user=member, name="short", expires_in_days=1)
    assert token_lookup(raw) is not None
    with clock.frozen(clock.now() + dt.timedelta(days=2)):
        assert token_lookup(raw) is None
    raw, _ = token_create(by=member, user=member, name="later")
    User.objects.filter(pk=member.pk).update(is_active=False)
    assert token_lookup(raw) is None
