"""Review Markdown to safe HTML: the shared renderer when the product has one, else our own."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
_TAGS = {
    "p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip


def _local(text: str) -> str:
    return nh3.clean(
        _md.render(text or ""), tags=_TAGS, attributes={"a": {"href", "title"}}, link_rel="nofollow"
    )


def _renderer() -> Callable[[str], str]:
    try:
        module = importlib.import_module("incidentdesk.core.markdown")
    except ImportError:
        return _local
    return getattr(module, "render_markdown", _local)


def render(text: str) -> SafeString:
    """Sanitized HTML for `text`."""
    return mark_safe(str(_renderer()(text or "")))
