"""Reads shared by the pages and the API."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from incidentdesk.accounts.models import User
from incidentdesk.incidents.models import Incident

from .models import Delivery, Preference


def deliveries_of(incident: Incident) -> QuerySet[Delivery]:
    return Delivery.objects.filter(incident=incident).order_by("-id")


def delivery_counts(incident: Incident) -> dict[str, int]:
    rows = deliveries_of(incident).order_by().values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}


def delivery_totals() -> dict[str, int]:
    rows = Delivery.objects.order_by().values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}


def deliveries_filtered(*, state: str | None = None) -> QuerySet[Delivery]:
    qs = Delivery.objects.select_related("incident").order_by("-id")
    return qs.filter(state=state) if state else qs


def preference_of(user: User) -> Preference | None:
    return Preference.objects.filter(user=user).first()
