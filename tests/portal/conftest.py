from __future__ import annotations

import pytest
from django.test import override_settings

from incidentdesk.core import clock
from incidentdesk.statuspage.models import Component


@pytest.fixture(autouse=True)
def _attachments_dir(tmp_path):
    with override_settings(ATTACHMENTS_DIR=tmp_path / "attachments"):
        yield tmp_path / "attachments"


@pytest.fixture
def component(db):
    now = clock.now()
    return Component.objects.create(name="Checkout", created_at=now, updated_at=now)


@pytest.fixture
def other_component(db):
    now = clock.now()
    return Component.objects.create(name="Reports", created_at=now, updated_at=now)


SPF_LOCAL = "v=spf1 ip4:127.0.0.1 -all"


@pytest.fixture
def mail_dns():
    """A real DNS server the intake asks for DKIM keys and SPF records: every test domain
    lets 127.0.0.1 send its mail (SPF), until a test says otherwise."""
    from .dnsserver import DnsServer

    server = DnsServer()
    for domain in ("northwind.test", "contoso.test", "spacewise.test", "example.org"):
        server.txt[domain] = [SPF_LOCAL]
    server.txt["evil.example"] = [SPF_LOCAL]
    with override_settings(MAIL_DNS_SERVER=server.address, MAIL_TRUSTED_AUTHSERV_ID=""):
        yield server
    server.close()
