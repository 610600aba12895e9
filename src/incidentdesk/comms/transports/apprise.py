"""Chat and push (Slack, Teams, Discord, ntfy, ...) through Apprise URLs.

Apprise opens its own connections; each is resolved through the outbound check (`guard`),
redirects included, and has OUTBOUND_TIMEOUT_SECONDS to connect and to answer."""

from __future__ import annotations

import functools
from types import ModuleType

from . import guard
from .base import OutgoingMessage, TransportError

MISSING = (
    "chat and push channels need Apprise, which is not installed here:"
    " pip install 'incidentdesk[apprise]'"
)


@functools.cache
def _apprise() -> ModuleType | None:
    """Apprise, imported on first use: its hundred plugins cost every process about 19 MiB,
    and most processes never send a chat message. None when the optional extra is missing (an
    instance that sends only mail and webhooks)."""
    try:
        import apprise
    except ImportError:
        return None
    return apprise


def check_url(url: str) -> str | None:
    """Why Apprise cannot use `url`, or None when it can."""
    if not url or "://" not in url:
        return "an Apprise URL looks like scheme://..., e.g. slack://... or json://host:port"
    apprise = _apprise()
    if apprise is None:
        return MISSING
    if apprise.Apprise.instantiate(url) is None:
        return f"Apprise does not understand {redact(url)}"
    return None


def redact(url: str) -> str:
    """scheme://host/… : enough to recognise a destination without its tokens."""
    scheme, _, rest = url.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    return f"{scheme}://{host}/…" if "/" in rest else f"{scheme}://{host}"


class AppriseTransport:
    def send(self, message: OutgoingMessage) -> str:
        problem = check_url(message.address)
        if problem:
            raise TransportError(problem, permanent=True)
        apprise = _apprise()
        assert apprise is not None  # check_url said so
        plugin = apprise.Apprise.instantiate(message.address)
        host = getattr(plugin, "host", None)
        if plugin is None:
            raise TransportError(f"Apprise does not understand {redact(message.address)}")
        if isinstance(host, str) and host:
            guard.check_name(host)
        timeout = guard.timeout()
        plugin.socket_connect_timeout = timeout
        plugin.socket_read_timeout = timeout
        title = message.subject
        if message.incident_ref and message.incident_ref not in title:
            title = f"[{message.incident_ref}] {title}"
        # the plugin itself, in this thread: Apprise's own dispatcher may use a thread pool,
        # where the check would not apply
        with guard.guarded():
            ok = plugin.notify(
                title=title, body=message.body_markdown, body_format=apprise.NotifyFormat.MARKDOWN
            )
        refused = guard.last_refusal()
        if refused is not None:
            raise refused
        if not ok:
            raise TransportError(f"{redact(message.address)} did not accept the message")
        return "accepted"
