"""Signals the base sends; the apps above connect to them in their ready()."""

from __future__ import annotations

from django.dispatch import Signal

# `incidentdesk serve` is about to start its web processes: prepare what they serve at once.
serve_starting = Signal()
