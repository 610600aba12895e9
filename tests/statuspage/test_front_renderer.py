"""The front's renderer: a committed change is rendered by a thread of the process that made it,
after the change's call has returned; a burst of changes is rendered together and ends with
the newest; a reading older than the front in place never replaces it."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from incidentdesk.incidents.services import incident_post_update
from incidentdesk.statuspage import prepared, selectors

# the renderer's thread reads what the changes committed, with its own connection
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def root(tmp_path, published):
    with override_settings(
        STATUSPAGE_PUBLIC_DIR=tmp_path / "public", STATUSPAGE_RENDER_INLINE=False
    ):
        prepared.prepare()
        yield tmp_path / "public"
        prepared.renderer.wait(timeout=60)


def summary(root) -> dict:
    return json.loads((root / "api/v2/summary.json").read_bytes())


def test_a_burst_of_changes_is_rendered_once_and_ends_with_the_newest(root, published, member):
    renders = prepared.renderer.renders
    # a preparation in hand (another process's) holds the front while the burst commits
    with prepared._locked(root):
        for n in range(5):
            incident_post_update(
                by=member, incident=published.ref, status="monitoring", body=f"Update {n}."
            )
        # the calls returned without rendering: the front still shows the state before them
        assert b"Update" not in (root / "status/index.html").read_bytes()
    prepared.renderer.wait(timeout=60)
    page = (root / "status/index.html").read_bytes()
    assert b"Update 4." in page
    assert summary(root)["incidents"][0]["incident_updates"][0]["body"] == "Update 4."
    # the first render read the newest state; the one asked for during it found nothing to do
    assert prepared.renderer.renders == renders + 1
    manifest = prepared.read_manifest(root)
    assert manifest is not None
    assert manifest["epoch"] == selectors.page_epoch()[0]


def test_an_older_reading_never_replaces_a_newer_front(root, published, member):
    manifest = prepared.read_manifest(root)
    assert manifest is not None
    # as if another process had prepared a state newer than this process can read yet
    newer = {**manifest, "epoch": manifest["epoch"] + 10, "version": "elsewhere"}
    (root / prepared.MANIFEST).write_text(json.dumps(newer))
    incident_post_update(
        by=member, incident=published.ref, status="monitoring", body="An older reading."
    )
    prepared.renderer.wait(timeout=60)
    assert prepared.prepare(force=True) is False
    assert prepared.read_manifest(root) == newer
    assert b"An older reading." not in (root / "status/index.html").read_bytes()


def test_switched_off_no_renderer_runs(root, published, member):
    renders = prepared.renderer.renders
    with override_settings(STATUSPAGE_PREPARE=False):
        incident_post_update(by=member, incident=published.ref, status="monitoring", body="Off.")
        prepared.renderer.wait(timeout=60)
    assert prepared.renderer.renders == renders
    assert b"Off." not in (root / "status/index.html").read_bytes()
