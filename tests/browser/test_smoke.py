from __future__ import annotations


def test_chromium_opens_the_api_docs(page, live_server):
    page.goto(f"{live_server.url}/healthz")
    assert '"ok"' in page.content()
