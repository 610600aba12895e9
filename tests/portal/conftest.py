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
