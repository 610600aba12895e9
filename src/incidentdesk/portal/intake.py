"""E-mail intake: one message to the intake address becomes a new incident, or the
reporter's answer or comment on the incident its subject names, when its sender is verified
(`mailauth`) and is a stakeholder's registered address. Any other message is held for the
team, never attributed. The SMTP answer is the same in every case, so it tells nobody which
addresses are registered or which incidents exist."""

from __future__ import annotations

import logging
import re
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.db import transaction

from incidentdesk.accounts.models import User
from incidentdesk.core.errors import DomainError
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import TITLE_MAX, Incident
from incidentdesk.incidents.selectors import incident_get_for, open_info_requests

from . import files, mailauth, mailtext, selectors, services
from .files import Upload
from .models import Source

log = logging.getLogger("incidentdesk.mailin")

SUBJECT_REF = re.compile(r"\bINC-([1-9][0-9]{0,17})\b", re.IGNORECASE)
REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|wg|sv|tr)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
QUOTE_HEADER = re.compile(
    r"^(on .+ wrote:|-+\s*original message\s*-+|from: .+|_{10,})\s*$", re.IGNORECASE
)
AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
# headers our own outgoing mail carries: one of them coming back in is a loop
LOOP_HEADERS = ("X-IncidentDesk-Delivery", "X-IncidentDesk-Loop")

ACCEPTED = "250 2.0.0 Received, thank you"
IGNORED = "250 2.0.0 Automatic message ignored"
DROPPED = "554 5.6.0 The message could not be read and was dropped"


def intake_address() -> str:
    return str(settings.INTAKE_ADDRESS).lower()


def accepts(address: str) -> bool:
    """The intake address, or it with a +tag (replies go to incidents+INC-7@...)."""
    local, _, domain = address.strip().strip("<>").lower().rpartition("@")
    own_local, _, own_domain = intake_address().rpartition("@")
    return domain == own_domain and local.split("+", 1)[0] == own_local


def _tagged_ref(rcpt_tos: list[str]) -> str | None:
    for address in rcpt_tos:
        local = address.strip().strip("<>").rpartition("@")[0]
        match = SUBJECT_REF.fullmatch(local.partition("+")[2])
        if match:
            return f"INC-{match.group(1)}"
    return None


def automatic_reason(msg: EmailMessage, mail_from: str) -> str | None:
    """Why the message is an automatic one we must not answer or record, if it is."""
    auto = str(msg.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = str(msg.get("Precedence", "")).strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", *LOOP_HEADERS):
        if msg.get(header) is not None:
            return f"{header} present"
    if not mail_from or mail_from == "<>":
        return "empty envelope sender (a bounce)"
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    if accepts(sender) or sender.startswith(("mailer-daemon@", "postmaster@")):
        return f"sent by {sender}"
    return None


def _without_quote(text: str) -> str:
    """The new part of a reply: stops at the quoted message or the signature."""
    kept = []
    for line in text.splitlines():
        if line.rstrip() == "--" or QUOTE_HEADER.match(line.strip()):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def _uploads(msg: EmailMessage) -> list[Upload]:
    found = []
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            found.append(Upload(part.get_filename() or "attachment", data))
    return found


def _keep_within_limits(
    uploads: list[Upload], count: int = 0, total: int = 0
) -> tuple[list[Upload], list[str]]:
    """The attachments that fit the limits, and a note for each refused one (a mail cannot be
    sent back for correction the way a form can)."""
    kept: list[Upload] = []
    refused = []
    for upload in uploads:
        errors = files.check([upload], existing_count=count + len(kept), existing_bytes=total)
        if errors:
            refused.append(errors[0].message)
        else:
            kept.append(upload)
            total += upload.size
    return kept, refused


def _with_refusals(text: str, refused: list[str]) -> str:
    if not refused:
        return text
    lines = "\n".join(f"- {r}" for r in refused)
    return f"{text}\n\nAttachments not kept:\n{lines}".strip()


def _report(user: User, subject: str, body: str, uploads: list[Upload]) -> Incident:
    title = REPLY_PREFIX.sub("", subject).strip() or (body.splitlines() or [""])[0].strip()
    title = title[:TITLE_MAX] or "Problem reported by e-mail"
    kept, refused = _keep_within_limits(uploads)
    incident = services.portal_report(
        by=user,
        title=title,
        description=_with_refusals(body, refused),
        uploads=kept,
        source=Source.EMAIL,
    )
    log.info("mail from %s opened %s", user.email, incident.ref)
    return incident


def _reply(user: User, ref: str, body: str, uploads: list[Upload]) -> Incident:
    """The answer to an open question on the incident, or else a comment on it. Raises
    NotFound when the sender may not see it."""
    incident = incident_get_for(user, ref)
    text = _without_quote(body)
    count, total = services.attachment_usage(incident)
    kept, refused = _keep_within_limits(uploads, count, total)
    if text and open_info_requests(incident).exists():
        incidents.incident_provide_info(by=user, incident=ref, answer=text)
        if kept or refused:
            services.portal_comment(
                by=user,
                incident=ref,
                body=_with_refusals("", refused),
                uploads=kept,
                source=Source.EMAIL,
            )
        log.info("mail from %s answered a question on %s", user.email, ref)
        return incident
    services.portal_comment(
        by=user,
        incident=ref,
        body=_with_refusals(text, refused),
        uploads=kept,
        source=Source.EMAIL,
    )
    log.info("mail from %s commented on %s", user.email, ref)
    return incident


def parse(data: bytes) -> EmailMessage:
    msg = BytesParser(policy=email_policy.default).parsebytes(data)
    if not isinstance(msg, EmailMessage):
        raise ValueError("not a MIME message")
    if msg.defects and not msg.get("From"):
        raise ValueError(f"malformed message: {msg.defects}")
    return msg


def sender_address(msg: EmailMessage) -> str:
    """The one address in From:, or "" when there is none or more than one."""
    senders = getaddresses([str(msg.get("From", ""))])
    return senders[0][1].strip().lower() if len(senders) == 1 else ""


def subject_and_body(msg: EmailMessage) -> tuple[str, str]:
    return mailtext.header_text(msg, "Subject"), mailtext.body_text(msg)


def deliver(user: User, msg: EmailMessage, rcpt_tos: list[str]) -> Incident:
    """File the message as `user`'s: a reply to the incident its subject or tagged address
    names, or else a new report. One transaction: a refusal leaves nothing behind."""
    subject, body = subject_and_body(msg)
    uploads = _uploads(msg)
    match = SUBJECT_REF.search(subject)
    ref = f"INC-{match.group(1)}" if match else _tagged_ref(rcpt_tos)
    with transaction.atomic():
        if ref:
            return _reply(user, ref, body, uploads)
        return _report(user, subject, body, uploads)


def receive(
    mail_from: str,
    rcpt_tos: list[str],
    data: bytes,
    *,
    client_ip: str | None = None,
    helo: str = "",
) -> str:
    """Handle one message; return the SMTP reply. Never raises. `client_ip` and `helo` are
    the connecting server's, for the SPF check."""
    try:
        msg = parse(data)
    except Exception:
        log.exception("mail from %s could not be read and was dropped", mail_from)
        return DROPPED
    try:
        return _receive(msg, mail_from, rcpt_tos, data, client_ip=client_ip, helo=helo)
    except Exception:
        log.exception("mail from %s could not be processed and was dropped", mail_from)
        return DROPPED


def _hold(msg: EmailMessage, mail_from: str, rcpt_tos: list[str], data: bytes, reason: str) -> str:
    subject, body = subject_and_body(msg)
    held = services.held_mail_keep(
        envelope_from=mail_from,
        from_address=sender_address(msg),
        subject=subject,
        body=body,
        reason=reason,
        rcpt_tos=rcpt_tos,
        raw=data,
    )
    if held is None:
        log.warning("held mail is full (MAIL_HELD_MAX): mail from %s dropped", mail_from)
    return ACCEPTED


def _receive(
    msg: EmailMessage,
    mail_from: str,
    rcpt_tos: list[str],
    data: bytes,
    *,
    client_ip: str | None,
    helo: str,
) -> str:
    reason = automatic_reason(msg, mail_from)
    if reason:
        log.info("ignored automatic mail from %s (%s)", mail_from, reason)
        return IGNORED
    sender = sender_address(msg)
    verdict = mailauth.verify(
        data, msg, from_address=sender, mail_from=mail_from, client_ip=client_ip, helo=helo
    )
    if not verdict.verified:
        log.info("held unverified mail from %r (%s)", sender, verdict.reason)
        return _hold(msg, mail_from, rcpt_tos, data, f"Sender not verified: {verdict.reason}")
    user = selectors.mail_sender(sender)
    if user is None:
        log.info("held mail from %r: not a stakeholder's registered address", sender)
        return _hold(msg, mail_from, rcpt_tos, data, "Not the registered address of a stakeholder")
    try:
        deliver(user, msg, rcpt_tos)
    except DomainError as exc:
        log.info("held mail from %s: %s", sender, exc.detail)
        return _hold(msg, mail_from, rcpt_tos, data, " ".join(exc.detail.split()))
    return ACCEPTED
