"""Paging channels: how a person on call is reached (e-mail, and their own Apprise URL),
and the test page they send themselves from their preferences."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from incidentdesk.accounts.models import User
from incidentdesk.accounts.permissions import require
from incidentdesk.core import clock, crypto
from incidentdesk.core.services import audit_record

from .models import ChannelKind, Preference
from .services import message_queue
from .tasks import PAGE_AUDIENCE


def paging_channels(person: User) -> Iterable[tuple[str, str]]:
    """(channel, address) for each way `person` is paged: e-mail always, and their own
    Apprise URL when they set one."""
    yield ChannelKind.EMAIL, person.email
    pref = Preference.objects.filter(user=person).only("apprise_url_encrypted").first()
    if pref is not None and pref.apprise_url_encrypted:
        try:
            url = crypto.decrypt(pref.apprise_url_encrypted)
        except ValueError:
            return
        yield ChannelKind.APPRISE, url


def page_test(*, by: User) -> int:
    """Send `by` a test page on each of their paging channels, now. Returns how many."""
    require(by, "oncall.test_page")
    sent = 0
    stamp = clock.now().strftime("%Y%m%d%H%M%S%f")
    with transaction.atomic():
        for channel, address in paging_channels(by):
            message_queue(
                channel=channel,
                recipient=address,
                subject="Test page",
                body_markdown=(
                    "This is a test page from IncidentDesk. When you are on call, pages for "
                    "incidents reach you here, with a link that acknowledges the incident."
                ),
                key=f"page-test:{by.pk}:{stamp}:{channel}",
                audience=PAGE_AUDIENCE,
                user=by,
                trigger="page_test",
            )
            sent += 1
        audit_record(by=by, kind="page_test", data={"channels": sent})
    return sent
