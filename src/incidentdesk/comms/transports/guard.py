"""Where outbound requests (webhooks, Apprise) may go: public addresses only.

The check runs on every attempt, after the name is resolved, and the connection is made to
the address that was checked, so a name that resolves to a public address when a subscriber
signs up and to 127.0.0.1 later (DNS rebinding), a redirect, or a spelling the resolver reads
differently from a name check (`127.0.0.1.`, `localhost.`, `2130706433`, `0177.0.0.1`,
`[::ffff:127.0.0.1]`) all end at the same refusal.

An admin lets requests reach private networks (an intranet's chat server) by naming them in
`INCIDENTDESK_OUTBOUND_ALLOW_NETWORKS`, e.g. `10.0.0.0/8,192.168.1.0/24`."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any

from django.conf import settings

from .base import TransportError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")

_original_getaddrinfo = socket.getaddrinfo
_local = threading.local()


class AddressRefused(TransportError):
    """An outbound request to a loopback, private or otherwise non-public address."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


def timeout() -> float:
    """Seconds an outbound request may take to connect, and again to answer."""
    return float(getattr(settings, "OUTBOUND_TIMEOUT_SECONDS", 5))


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(str(net).strip(), strict=False)
        for net in getattr(settings, "OUTBOUND_ALLOW_NETWORKS", [])
        if str(net).strip()
    ]


def address_allowed(address: Address) -> bool:
    """Public (globally routable, not multicast), or inside a network an admin allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address) and address.sixtofour is not None:
        address = address.sixtofour
    if any(address in net for net in allowed_networks()):
        return True
    return address.is_global and not address.is_multicast


def _literal(host: str) -> Address | None:
    """`host` as an IP address when it is one in any spelling the C resolver accepts:
    dotted, decimal (2130706433), octal (0177.0.0.1), hexadecimal, shortened (127.1)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and host[0].isdigit():
        with contextlib.suppress(OSError):
            return ipaddress.IPv4Address(socket.inet_aton(host))
    return None


def _refusal(host: str, address: Address | None = None) -> AddressRefused:
    shown = f"{host} ({address})" if address is not None and str(address) != host else host
    return AddressRefused(
        f"{shown} is a loopback, private or otherwise non-public address; outbound requests go "
        "to public hosts only (an admin can allow networks with "
        "INCIDENTDESK_OUTBOUND_ALLOW_NETWORKS)."
    )


def check_name(host: str) -> str:
    """The host in the form it is resolved in, refused at once when it names this machine
    or a local network whatever it resolves to. Raises AddressRefused."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if not name:
        raise AddressRefused("The URL names no host.")
    literal = _literal(name)
    if literal is not None:
        if not address_allowed(literal):
            raise _refusal(host, literal)
        return str(literal)
    if (name == "localhost" or name.endswith(LOCAL_SUFFIXES)) and not allowed_networks():
        raise _refusal(host)
    return name


def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    """getaddrinfo for `host`, every answer checked; raises AddressRefused when any answer
    is not allowed (a name with one private address among public ones is refused), and a
    retryable TransportError when the name does not resolve."""
    name = check_name(host)
    try:
        infos = _original_getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise TransportError(f"cannot resolve {host}: {exc}") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address_allowed(address):
            raise _refusal(host, address)
    return infos


def _guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    if not getattr(_local, "active", False) or host is None:
        return _original_getaddrinfo(host, port, *args, **kwargs)
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        checked = check_name(name)
        infos = _original_getaddrinfo(checked, port, *args, **kwargs)
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if not address_allowed(address):
                raise _refusal(name, address)
    except AddressRefused as exc:
        # libraries turn any error here into their own "could not connect"; keep the reason
        _local.refused = exc
        raise socket.gaierror(socket.EAI_NONAME, str(exc)) from exc
    return infos


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Every connection this thread opens inside the block (including a library's own, and
    each redirect it follows) resolves through the check above and connects only to
    addresses that passed it."""
    socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
    previous = getattr(_local, "active", False)
    _local.active = True
    _local.refused = None
    try:
        yield
    finally:
        _local.active = previous


def last_refusal() -> AddressRefused | None:
    """The refusal of the latest `guarded()` block in this thread, if any."""
    refused: AddressRefused | None = getattr(_local, "refused", None)
    return refused
