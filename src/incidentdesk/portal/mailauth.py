"""Who really sent a received mail. A message speaks for the address in its From: header only
when that domain vouches for it (DMARC alignment, relaxed): a valid DKIM signature whose d=
domain shares the From domain's organisational domain, or an SPF pass for an envelope sender
of that organisational domain. Behind a mail server that checks mail itself, that server's
Authentication-Results header (and no other) is believed, named by its authserv-id in
INCIDENTDESK_MAIL_TRUSTED_AUTHSERV_ID."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage

import authres
import authres.dmarc
import dkim
import dns.resolver
import spf
from django.conf import settings
from publicsuffixlist import PublicSuffixList

log = logging.getLogger("incidentdesk.mailin")

DNS_TIMEOUT = 10
_psl = PublicSuffixList()
_authres = authres.FeatureContext(authres.dmarc)
_dns_server_in_use: str | None = None


@dataclass(frozen=True)
class Verdict:
    verified: bool
    # how the sender was verified, or why not: shown to the team beside a held message
    reason: str


def organisational_domain(domain: str) -> str:
    """example.co.uk for mail.example.co.uk (the Public Suffix List, shipped with the package)."""
    domain = domain.strip().rstrip(".").lower()
    return _psl.privatesuffix(domain) or domain


def _aligned(domain: str, with_domain: str) -> bool:
    return bool(domain) and organisational_domain(domain) == organisational_domain(with_domain)


def _use_dns_server() -> None:
    """Point the resolver DKIM and SPF share at INCIDENTDESK_MAIL_DNS_SERVER (host:port), or
    at the system's resolver when it is unset."""
    global _dns_server_in_use
    server = str(settings.MAIL_DNS_SERVER or "")
    if server == _dns_server_in_use:
        return
    if server:
        host, sep, port = server.rpartition(":")
        if not sep:
            host, port = server, "53"
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [host.strip("[]")]
        resolver.port = int(port)
        dns.resolver.default_resolver = resolver
    else:
        dns.resolver.default_resolver = None
    _dns_server_in_use = server


def _dkim_domains(data: bytes) -> list[str]:
    """The d= domains of the message's DKIM signatures that verify."""
    checker = dkim.DKIM(data, timeout=DNS_TIMEOUT)
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    domains = []
    for idx in range(count):
        try:
            if checker.verify(idx=idx) and checker.domain:
                domains.append(checker.domain.decode("ascii", "replace").lower())
        except (dkim.DKIMException, dns.exception.DNSException, ValueError) as exc:
            log.info("DKIM signature %d did not verify: %s", idx, exc)
    return domains


def _spf_passes(client_ip: str, mail_from: str, helo: str) -> bool:
    try:
        result, _ = spf.check2(i=client_ip, s=mail_from, h=helo or "unknown", querytime=DNS_TIMEOUT)
    except Exception as exc:  # a malformed address or record is an SPF failure, not a crash
        log.info("SPF check of %s from %s failed: %s", mail_from, client_ip, exc)
        return False
    return bool(result == "pass")


def _relay_verdict(msg: EmailMessage, from_domain: str) -> Verdict | None:
    """The trusted relay's word, if it checked this message: its topmost header only."""
    trusted = str(settings.MAIL_TRUSTED_AUTHSERV_ID or "").lower()
    if not trusted:
        return None
    for value in msg.get_all("Authentication-Results") or []:
        try:
            header = _authres.parse_value(" ".join(str(value).split()))
        except (authres.AuthResError, ValueError):
            continue
        if str(header.authserv_id).lower() != trusted:
            continue
        for result in header.results:
            props = {f"{p.type}.{p.name}".lower(): str(p.value or "") for p in result.properties}
            if result.result != "pass":
                continue
            if result.method == "dmarc" and _aligned(props.get("header.from", ""), from_domain):
                return Verdict(True, f"dmarc=pass by {trusted}")
            if result.method == "dkim" and _aligned(props.get("header.d", ""), from_domain):
                return Verdict(True, f"dkim=pass by {trusted}")
            if result.method == "spf":
                envelope = props.get("smtp.mailfrom", "").rpartition("@")[2]
                if _aligned(envelope, from_domain):
                    return Verdict(True, f"spf=pass by {trusted}")
        return Verdict(False, f"{trusted} found no aligned DKIM, SPF or DMARC pass")
    return None


def verify(
    data: bytes,
    msg: EmailMessage,
    *,
    from_address: str,
    mail_from: str,
    client_ip: str | None = None,
    helo: str = "",
) -> Verdict:
    """Whether the From: address's domain vouches for this message."""
    from_domain = from_address.rpartition("@")[2].lower()
    if not from_domain:
        return Verdict(False, "no single sender address in From:")
    _use_dns_server()
    relay = _relay_verdict(msg, from_domain)
    if relay is not None and relay.verified:
        return relay
    for domain in _dkim_domains(data):
        if _aligned(domain, from_domain):
            return Verdict(True, f"DKIM signature of {domain}")
    envelope = mail_from.strip().strip("<>").lower()
    # behind a relay the connecting address is the relay's: only direct mail is checked by SPF
    direct = not settings.MAIL_TRUSTED_AUTHSERV_ID and client_ip
    if (
        direct
        and _aligned(envelope.rpartition("@")[2], from_domain)
        and _spf_passes(str(client_ip), envelope, helo)
    ):
        return Verdict(True, f"SPF pass for {envelope} from {client_ip}")
    if relay is not None:
        return relay
    return Verdict(False, f"no DKIM signature or SPF pass aligned with {from_domain}")
