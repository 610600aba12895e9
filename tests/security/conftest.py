from __future__ import annotations

import pytest

from incidentdesk.statuspage import cache


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()
