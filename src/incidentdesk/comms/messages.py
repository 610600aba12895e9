"""Message templates: Markdown written with Django's template language. The first line of
a template is the subject, the rest the body."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.template import Context, Engine, TemplateDoesNotExist, TemplateSyntaxError

TEMPLATE_DIR = Path(__file__).parent / "templates" / "comms" / "messages"

# Markdown is text: escaping happens when it is rendered to HTML, not here. A Context
# escapes on its own unless told not to, so every render goes through _context().
_engine = Engine(dirs=[str(TEMPLATE_DIR)], autoescape=False, libraries={})


def _context(values: dict[str, Any]) -> Context:
    return Context(values, autoescape=False)


class RenderError(Exception):
    pass


def _split(text: str) -> tuple[str, str]:
    subject, _, body = text.strip().partition("\n")
    return " ".join(subject.split())[:250], body.strip() + "\n"


def render(name: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, Markdown body) of the shipped template `name`."""
    try:
        template = _engine.get_template(f"{name}.md")
        return _split(template.render(_context(context)))
    except TemplateDoesNotExist:
        raise RenderError(f"no message template named {name!r}") from None
    except Exception as exc:
        raise RenderError(f"template {name!r} failed to render: {exc}") from exc


def render_text(text: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of an admin-written template (a channel's own wording)."""
    try:
        return _split(_engine.from_string(text).render(_context(context)))
    except Exception as exc:
        raise RenderError(f"the channel's template failed to render: {exc}") from exc


def check_text(text: str) -> str | None:
    """Why `text` is not a usable template, or None."""
    if not text.strip():
        return None
    if "\n" not in text.strip():
        return "the first line is the subject and the rest the body: add a body"
    try:
        _engine.from_string(text)
    except TemplateSyntaxError as exc:
        return f"template syntax error: {exc}"
    return None
