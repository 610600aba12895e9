"""E-mail intake: one message to the intake address becomes a new incident, or the
reporter's answer or comment on the incident its subject names. Returns the SMTP reply, so
an unknown sender gets a clear refusal from the mail server that forwarded the message."""

from __future__ import annotations

import html
import logging
import re
from email import policy as email_policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.utils.html import strip_tags

from incidentdesk.accounts.models import Role, User
from incidentdesk.core.errors import DomainError, NotFound
from incidentdesk.incidents import services as incidents
from incidentdesk.incidents.models import TITLE_MAX
from incidentdesk.incidents.selectors import incident_get_for, open_info_requests

from . import files, services
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


def _body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    if not isinstance(content, str):
        return ""
    if part.get_content_type() == "text/html":
        content = html.unescape(strip_tags(content))
    return content.replace("\r\n", "\n").strip()


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


def _report(user: User, subject: str, body: str, uploads: list[Upload]) -> str:
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
    return f"250 2.0.0 Reported as {incident.ref}, thank you"


def _reply(user: User, ref: str, body: str, uploads: list[Upload]) -> str:
    try:
        incident = incident_get_for(user, ref)
    except NotFound:
        return (
            f"550 5.1.1 No incident {ref} that you may see; send the message without "
            "the reference to report a new problem"
        )
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
        return f"250 2.0.0 Your answer was added to {ref}, thank you"
    services.portal_comment(
        by=user,
        incident=ref,
        body=_with_refusals(text, refused),
        uploads=kept,
        source=Source.EMAIL,
    )
    log.info("mail from %s commented on %s", user.email, ref)
    return f"250 2.0.0 Your comment was added to {ref}, thank you"


def receive(mail_from: str, rcpt_tos: list[str], data: bytes) -> str:
    """Handle one message; return the SMTP reply. Never raises."""
    try:
        return _receive(mail_from, rcpt_tos, data)
    except DomainError as exc:
        log.info("mail from %s refused: %s", mail_from, exc.detail)
        return f"550 5.7.1 {' '.join(exc.detail.split())}"
    except Exception:
        log.exception("mail from %s could not be processed and was dropped", mail_from)
        return "554 5.6.0 The message could not be read and was dropped"


def _receive(mail_from: str, rcpt_tos: list[str], data: bytes) -> str:
    msg = BytesParser(policy=email_policy.default).parsebytes(data)
    if not isinstance(msg, EmailMessage):
        raise ValueError("not a MIME message")
    if msg.defects and not msg.get("From"):
        raise ValueError(f"malformed message: {msg.defects}")
    reason = automatic_reason(msg, mail_from)
    if reason:
        log.info("ignored automatic mail from %s (%s)", mail_from, reason)
        return "250 2.0.0 Automatic message ignored"
    senders = getaddresses([str(msg.get("From", ""))])
    sender = senders[0][1].strip().lower() if len(senders) == 1 else ""
    user = User.objects.filter(
        email=sender, is_active=True, role=Role.STAKEHOLDER, organisation__active=True
    ).first()
    if user is None:
        log.info("refused mail from unknown sender %r", sender)
        return (
            f"550 5.7.1 Sorry, {intake_address()} only accepts incident reports from the "
            f"registered addresses of our stakeholders. Please report at "
            f"{settings.BASE_URL}/portal/ or ask the team to register your address"
        )
    # a NUL is not text (and PostgreSQL cannot store it): mail is taken without them
    subject = " ".join(str(msg.get("Subject", "")).replace("\x00", "").split())
    body = _body_text(msg).replace("\x00", "")
    uploads = _uploads(msg)
    match = SUBJECT_REF.search(subject)
    ref = f"INC-{match.group(1)}" if match else _tagged_ref(rcpt_tos)
    if ref:
        return _reply(user, ref, body, uploads)
    return _report(user, subject, body, uploads)
