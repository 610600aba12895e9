"""On-call schedules: a frozen clock walks a rotation across a handoff, an override and a
daylight-saving change; layers cover their hours; each person's shifts are a calendar feed;
members take shifts for themselves only."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest

from incidentdesk.core import clock
from incidentdesk.core.errors import InvalidInput, PermissionDenied
from incidentdesk.core.models import AuditEntry
from incidentdesk.ingest import feeds, selectors, services
from incidentdesk.ingest.models import Layer, Override, Schedule

from ..cli.helpers import sqlite_only  # noqa: F401

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def primary(manager, member, member2):
    """Berlin, daily handoff at 09:00 local from Friday 27 March 2026: Alex, then Sam. Summer
    time starts on Sunday 29 March at 02:00, so 09:00 is 08:00 UTC before and 07:00 after."""
    schedule = services.schedule_create(by=manager, name="Primary", time_zone="Europe/Berlin")
    services.schedule_add_layer(
        by=manager,
        schedule=schedule,
        name="Rotation",
        rotation="daily",
        handoff_time=dt.time(9, 0),
        starts_on=dt.date(2026, 3, 27),
        members=[member.email, member2.email],
    )
    return schedule


def api_oncall(client, token):
    response = client.get("/api/v1/oncall", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    (only,) = response.json()
    return only


def test_a_frozen_clock_walks_a_handoff_an_override_and_summer_time(
    client, primary, manager, member, member2, token_for
):
    token = token_for(member)
    services.override_create(
        by=manager,
        schedule=primary,
        user=manager,
        starts_at=at("2026-03-28T12:00"),
        ends_at=at("2026-03-28T18:00"),
    )
    with clock.frozen(at("2026-03-28T07:59")) as c:
        seen = api_oncall(client, token)
        assert seen["schedule"] == "Primary"
        assert (seen["now"]["person"], seen["now"]["ends_at"]) == (
            member.email,
            "2026-03-28T08:00:00Z",
        )
        assert (seen["next"]["person"], seen["next"]["starts_at"]) == (
            member2.email,
            "2026-03-28T08:00:00Z",
        )

        c.set(at("2026-03-28T08:00"))  # the handoff, 09:00 in Berlin (winter time)
        seen = api_oncall(client, token)
        assert (seen["now"]["person"], seen["now"]["source"]) == (member2.email, "layer 1")
        assert seen["now"]["ends_at"] == "2026-03-28T12:00:00Z"
        assert (seen["next"]["person"], seen["next"]["starts_at"]) == (
            manager.email,
            "2026-03-28T12:00:00Z",
        )

        c.set(at("2026-03-28T12:30"))  # the manager took the afternoon
        seen = api_oncall(client, token)
        assert (seen["now"]["person"], seen["now"]["source"]) == (manager.email, "override")
        assert seen["next"]["person"] == member2.email
        assert seen["next"]["starts_at"] == "2026-03-28T18:00:00Z"
        assert seen["next"]["ends_at"] == "2026-03-29T07:00:00Z"  # 09:00 summer time

        c.set(at("2026-03-29T06:59"))
        assert api_oncall(client, token)["now"]["person"] == member2.email
        c.set(at("2026-03-29T07:00"))
        seen = api_oncall(client, token)
        assert seen["now"]["person"] == member.email
        assert seen["now"]["ends_at"] == "2026-03-30T07:00:00Z"


def test_a_higher_layer_decides_in_the_hours_it_covers(primary, manager, member, member2):
    services.schedule_add_layer(
        by=manager,
        schedule=primary,
        name="Office hours",
        rotation="weekly",
        handoff_time=dt.time(9, 0),
        starts_on=dt.date(2026, 3, 23),
        members=[manager.email],
        covers_from=dt.time(9, 0),
        covers_until=dt.time(17, 0),
    )
    # Monday 30 March, summer time: office hours are 07:00-15:00 UTC
    # (the rotation: Alex from Sunday 09:00, Sam from Monday 09:00)
    assert selectors.oncall(primary, at("2026-03-30T06:59")).now.user == member
    noon = selectors.oncall(primary, at("2026-03-30T10:00"))
    assert (noon.now.user, noon.now.source) == (manager, "layer 2")
    assert noon.now.ends_at == at("2026-03-30T15:00")
    assert noon.next.user == member2
    assert selectors.oncall(primary, at("2026-03-30T15:00")).now.user == member2


def test_a_member_takes_a_shift_for_themselves_only(primary, member, member2):
    services.override_create(
        by=member,
        schedule=primary,
        user=member,
        starts_at=at("2026-04-04T00:00"),
        ends_at=at("2026-04-05T00:00"),
    )
    with pytest.raises(PermissionDenied):
        services.override_create(
            by=member,
            schedule=primary,
            user=member2,
            starts_at=at("2026-04-05T00:00"),
            ends_at=at("2026-04-06T00:00"),
        )
    with pytest.raises(InvalidInput) as caught:
        services.override_create(
            by=member,
            schedule=primary,
            user=member,
            starts_at=at("2026-04-06T00:00"),
            ends_at=at("2026-04-05T00:00"),
        )
    assert caught.value.errors[0].message == "The end must be after the start."
    assert Override.objects.count() == 1
    assert AuditEntry.objects.filter(kind="schedule_override").count() == 1


def test_only_a_manager_builds_schedules_and_mistakes_are_named(manager, member, stakeholder):
    with pytest.raises(PermissionDenied):
        services.schedule_create(by=member, name="Secondary", time_zone="UTC")
    with pytest.raises(InvalidInput) as caught:
        services.schedule_create(by=manager, name="Secondary", time_zone="Mars/Olympus")
    assert caught.value.errors[0].field == "time_zone"
    assert not Schedule.objects.exists()
    schedule = services.schedule_create(by=manager, name="Secondary", time_zone="UTC")
    with pytest.raises(InvalidInput) as caught:
        services.schedule_add_layer(
            by=manager,
            schedule=schedule,
            name="Rotation",
            rotation="hourly",
            handoff_time=dt.time(9),
            starts_on=dt.date(2026, 3, 2),
            members=[stakeholder.email],
        )
    assert [e.message for e in caught.value.errors] == [
        "nora@northwind.test is not an active member of the team.",
        "A rotation is daily or weekly.",
    ]
    assert not Layer.objects.exists()


def test_the_api_is_the_teams(client, primary, stakeholder, token_for):
    response = client.get("/api/v1/oncall", HTTP_AUTHORIZATION=f"Bearer {token_for(stakeholder)}")
    assert response.status_code == 403
    assert response.json()["detail"] == "Your role may not view."


def test_each_person_subscribes_to_their_shifts(client, primary, member, member2):
    with clock.frozen(at("2026-03-28T10:00")):
        page = client.get(f"/oncall/feed/{feeds.feed_token(member)}.ics")
    assert page.status_code == 200
    assert page["Content-Type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(page.content)
    events = [e for e in cal.walk("VEVENT")]
    starts = [e.decoded("DTSTART") for e in events]
    assert at("2026-03-27T08:00") in starts  # the shift that was on a day ago
    assert at("2026-03-29T07:00") in starts  # after the change to summer time
    assert at("2026-03-28T08:00") not in starts  # Sam's
    assert {str(e["SUMMARY"]) for e in events} == {"On call: Primary"}
    assert client.get("/oncall/feed/forged:token.ics").status_code == 404


def test_the_team_page_shows_who_is_on_call_and_takes_a_shift(client, primary, member, stakeholder):
    client.force_login(member)
    with clock.frozen(at("2026-03-28T07:00")):
        page = client.get("/oncall/")
        assert page.status_code == 200
        text = page.content.decode()
        assert "alex@spacewise.test" in text and "sam@spacewise.test" in text
        assert "/oncall/feed/" in text
        taken = client.post(
            "/oncall/",
            {
                "schedule": primary.pk,
                "starts_at": "2026-04-04T09:00",
                "ends_at": "2026-04-04T21:00",
            },
        )
    assert taken.status_code == 302
    override = Override.objects.get()
    assert (override.user, override.starts_at) == (member, at("2026-04-04T07:00"))
    client.force_login(stakeholder)
    assert client.get("/oncall/").status_code == 403


def test_the_api_builds_a_schedule_and_takes_shifts(client, manager, member, member2, token_for):
    import json

    def post(path, body, user):
        return client.post(
            f"/api/v1{path}",
            data=json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token_for(user)}",
        )

    assert post("/schedules", {"name": "Web", "time_zone": "UTC"}, member).status_code == 403
    assert not Schedule.objects.exists()
    created = post("/schedules", {"name": "Web", "time_zone": "UTC"}, manager)
    assert created.status_code == 201
    layer = {
        "name": "Week",
        "rotation": "weekly",
        "handoff_time": "10:00",
        "starts_on": "2026-03-02",
        "members": [member.email, member2.email],
    }
    assert post("/schedules/Web/layers", layer, member).status_code == 403
    added = post("/schedules/Web/layers", layer, manager)
    assert added.status_code == 201
    assert added.json() == {"name": "Web", "time_zone": "UTC", "layers": ["Week"]}
    assert post("/schedules/Nope/layers", layer, manager).status_code == 404

    span = {"starts_at": "2026-03-07T00:00:00Z", "ends_at": "2026-03-08T00:00:00Z"}
    taken = post("/schedules/Web/overrides", span, member2)
    assert taken.status_code == 201
    assert taken.json()["person"] == member2.email
    refused = post("/schedules/Web/overrides", {**span, "person": member.email}, member2)
    assert refused.status_code == 403
    naive = post("/schedules/Web/overrides", {**span, "ends_at": "2026-03-08T00:00"}, member2)
    assert naive.status_code == 422
    assert Override.objects.count() == 1
    schedule = Schedule.objects.get()
    assert selectors.oncall(schedule, at("2026-03-07T12:00")).now.user == member2
    assert selectors.oncall(schedule, at("2026-03-06T12:00")).now.user == member
