"""Everything the public (and the outside channels) read of an incident, read after each post
of the public update composer: the status page, the incident's page, the history, the Atom
and RSS feeds, /api/v2/summary.json and /api/v2/incidents.json, the newest mail a status page
subscriber got and the newest webhook body a stakeholders' channel got.

Each must carry the update just posted, newest first, and none may carry the incident's
internal title, the team's internal note or a line only an e-mail may say."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from incidentdesk.statuspage import cache
from incidentdesk.statuspage.models import Publication
from tests.statuspage.conftest import run_worker

# lines only an e-mail to a person may carry: never on a page, a feed or the API
EMAIL_ONLY = ("reply to this message", "Follow it here", "unsubscribe")
# what a subscriber's mail or an outside channel must not say either: a subscriber cannot
# answer by mail (the intake takes stakeholders only) nor open the stakeholders' portal
NOT_FOR_SUBSCRIBERS = ("reply to this message", "/portal/")
NOT_FOR_CHANNELS = ("reply to this message", "unsubscribe")


@dataclass
class PublicOutputs:
    """`secrets`: texts the team wrote for itself (the internal title, an internal note)."""

    visitor: Any  # tests.browser.test_walk.Walker at the walk's width
    smtp: Any  # tests.comms.conftest.Inbox
    subscriber: str
    webhooks: Any  # tests.comms.conftest.Received
    secrets: tuple[str, ...]
    posted: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)

    def after_post(self, ref_public_title: str, body: str, *, resolved: bool = False) -> None:
        """Read every public output after the composer posted `body`; the incident is on the
        page under `ref_public_title` (once `resolved`, the page's front and the summary of
        what is unresolved no longer list it)."""
        self.posted.insert(0, body)
        run_worker()  # the mails and webhooks the post queued
        cache.clear()
        base = self.visitor.base
        publication = Publication.objects.get(public_title=ref_public_title)
        permalink = f"/status/incidents/{publication.pk}/"

        self.visitor.go("/status/")
        self._public(self._main(), "the status page", ordered=False, carries=not resolved)
        self.visitor.go(permalink)
        page = self._main()
        self._public(page, "the incident's public page")
        times = self.visitor.page.locator(".sp-posts time").evaluate_all(
            "els => els.map(e => e.getAttribute('datetime'))"
        )
        assert times == sorted(times, reverse=True), f"posts out of order on {permalink}: {times}"
        self.visitor.go("/status/history/")
        self._public(self._main(), "the history", carries=False)
        assert ref_public_title in self._main()

        request = self.visitor.page.request
        for path in ("/status/history.atom", "/status/history.rss"):
            feed = request.get(base + path).text()
            self._public(feed, path)
        summary = request.get(base + "/api/v2/summary.json").text()
        self._public(summary, "/api/v2/summary.json", ordered=False, carries=not resolved)
        incidents = json.loads(request.get(base + "/api/v2/incidents.json").text())
        [shown] = [i for i in incidents["incidents"] if i["name"] == ref_public_title]
        bodies = [u["body"] for u in shown["incident_updates"]]
        stamps = [u["created_at"] for u in shown["incident_updates"]]
        assert stamps == sorted(stamps, reverse=True), stamps
        assert bodies[: len(self.posted)] == self.posted, bodies
        self._public(json.dumps(incidents, ensure_ascii=False), "/api/v2/incidents.json")

        mail = self._newest_mail()
        text = _mail_text(mail)
        assert ref_public_title in mail["Subject"], mail["Subject"]
        assert body in text, f"the subscriber's mail lacks the update: {text}"
        self._clean(text, "the subscriber's mail", NOT_FOR_SUBSCRIBERS)

        hooks = [r[2].decode() for r in self.webhooks.requests]
        for hook in hooks:
            self._clean(hook, "the stakeholders' channel's webhook", NOT_FOR_CHANNELS)
        [hook] = [h for h in hooks if _flat(body) in _flat(json.loads(h)["data"]["body"])]
        assert json.loads(hook)["data"]["title"] == ref_public_title
        self.read.append(body)

    def _main(self) -> str:
        return str(self.visitor.page.locator("main").inner_text())

    def _newest_mail(self) -> EmailMessage:
        mails = [
            m
            for m in self.smtp.to(self.subscriber)
            if "Confirm your subscription" not in m["Subject"]
        ]
        assert mails, "the subscriber got no mail"
        return mails[-1]  # type: ignore[no-any-return]

    def _public(self, text: str, where: str, *, ordered: bool = True, carries: bool = True) -> None:
        """`text` carries the newest post (and, when `ordered`, every post newest first)."""
        self._clean(text, where, EMAIL_ONLY)
        if not carries:
            return
        flat = _flat(text)
        wanted = self.posted if ordered else self.posted[:1]
        at = [flat.find(_flat(b)) for b in wanted]
        assert -1 not in at, f"{where} lacks {wanted[at.index(-1)]!r}"
        assert at == sorted(at), f"{where} lists the updates out of order: {at}"

    def _clean(self, text: str, where: str, lines: tuple[str, ...]) -> None:
        for secret in self.secrets:
            assert secret not in text, f"{where} carries the team's own text {secret!r}"
        for line in lines:
            assert line.lower() not in text.lower(), f"{where} carries {line!r}"


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def _mail_text(mail: EmailMessage) -> str:
    plain = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    parts = [mail["Subject"] or ""]
    for part in (plain, html):
        if part is not None:
            parts.append(part.get_content())  # type: ignore[attr-defined]
    # the List-Unsubscribe header belongs to the mail; its body is what is read
    return "\n".join(parts)
