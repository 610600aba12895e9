"""An incident's save writes the fields that differ from what was read, and only those."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidentdesk.incidents.models import Incident
from incidentdesk.incidents.services import incident_report


def test_two_readers_changing_different_fields_keep_both_changes(member):
    ref = incident_report(by=member, title="Checkout fails").pk
    first, second = Incident.objects.get(pk=ref), Incident.objects.get(pk=ref)
    first.public_title = "Payments are slow"
    first.save()
    second.severity = "P2"
    with CaptureQueriesContext(connection) as queries:
        second.save()
    [update] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert '"severity"' in update and '"public_title"' not in update and '"title"' not in update
    fresh = Incident.objects.get(pk=ref)
    assert (fresh.public_title, fresh.severity) == ("Payments are slow", "P2")


def test_a_value_set_back_after_a_refresh_is_written(member):
    ref = incident_report(by=member, title="Checkout fails").pk
    incident = Incident.objects.get(pk=ref)
    Incident.objects.filter(pk=ref).update(public_title="Changed elsewhere")
    incident.refresh_from_db()
    incident.public_title = ""  # what was first read, no longer what the database holds
    incident.save()
    assert Incident.objects.get(pk=ref).public_title == ""
    Incident.objects.filter(pk=ref).update(severity="P1")
    incident.refresh_from_db(fields=["severity"])
    incident.severity = ""
    incident.save()
    assert Incident.objects.get(pk=ref).severity == ""


def test_nothing_changed_writes_nothing_and_a_deferred_field_set_is_written(member):
    ref = incident_report(by=member, title="Checkout fails").pk
    incident = Incident.objects.get(pk=ref)
    with CaptureQueriesContext(connection) as queries:
        incident.save()
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    partial = Incident.objects.only("id", "title").get(pk=ref)
    partial.description = "Set without being read"
    partial.save()
    assert Incident.objects.get(pk=ref).description == "Set without being read"
