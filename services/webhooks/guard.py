"""The callback address guard (against server-side request forgery): a callback may only
point at globally routable addresses, unless configuration allows loopback (the local run)
or names the networks allowed. The host is resolved, and every address it resolves to must
pass: a name that also resolves to a private address is refused.

Checked when a subscription is made and again before every delivery (a name's addresses
can change), and a delivery then connects to an address that was checked (``pinned``): the
name is not resolved a second time, so its records cannot change in between (DNS
rebinding). Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
RESOLVE_SECONDS = 5.0


class CallbackRefused(Exception):
    """A callback URL that may not be called; the message says why."""


@dataclass(frozen=True)
class AddressPolicy:
    loopback_allowed: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()
    https_required: bool = True

    @classmethod
    def of(cls, loopback: bool, networks: Sequence[str], https: bool) -> AddressPolicy:
        """Raises ``ValueError`` on a network that is not CIDR notation."""
        return cls(loopback, tuple(ipaddress.ip_network(n, strict=False) for n in networks), https)


def address_refusal(address: IPAddress, policy: AddressPolicy) -> str | None:
    """Why ``address`` may not be called (``None``: it may). Pure."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in policy.allowed_networks):
        return None
    if address.is_loopback:
        return None if policy.loopback_allowed else f"{address} is a loopback address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_private:
        return f"{address} is a private address"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return f"{address} is not a unicast global address"
    if not address.is_global:
        return f"{address} is not a global address"
    return None


def url_refusal(url: str, policy: AddressPolicy) -> tuple[str, int] | str:
    """The host and port of ``url``, or why its form is refused. Pure."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL: {exc}"
    allowed = ("https",) if policy.https_required else ("https", "http")
    if parts.scheme not in allowed:
        return f"the scheme must be {' or '.join(allowed)}"
    if not parts.hostname:
        return "no host"
    if parts.username is not None or parts.password is not None:
        return "credentials in the URL are not allowed (the secret signs each delivery)"
    if parts.fragment:
        return "a fragment is not allowed"
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def check_callback(url: str, policy: AddressPolicy) -> list[IPAddress]:
    """The addresses ``url``'s host resolves to (the resolver's order), every one allowed;
    ``CallbackRefused`` unless ``url`` may be called now."""
    where = url_refusal(url, policy)
    if isinstance(where, str):
        raise CallbackRefused(where)
    host, port = where
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(RESOLVE_SECONDS):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise CallbackRefused(f"the host {host!r} does not resolve") from exc
        found = (ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos)
        addresses = list(dict.fromkeys(found))
    for address in addresses:
        reason = address_refusal(address, policy)
        if reason is not None:
            raise CallbackRefused(f"{host} resolves to {reason}" if literal is None else reason)
    return addresses


def pinned(url: str, address: IPAddress) -> tuple[str, str, dict[str, Any]]:
    """``url`` sent to ``address``: the URL with the address as its host, the ``Host``
    header, and the request extensions (TLS: the server name to present and verify the
    certificate against, the URL's host). Pure."""
    parts = urlsplit(url)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    target = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    extensions: dict[str, Any] = {}
    if parts.scheme == "https" and parts.hostname:
        extensions["sni_hostname"] = parts.hostname
    return target, parts.netloc, extensions
