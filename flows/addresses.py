"""Which addresses the crawler may connect to: public ones, plus what the operator names.

A crawler follows links and redirects chosen by the sites it reads, so without a policy a page could send
it to the cloud metadata service (``169.254.169.254``), a router's admin page (``10.0.0.1:8080``) or a
service on the crawler's own machine. Every hop (first request, each redirect, robots.txt, sitemaps,
feeds, sibling probes) is checked here on the *resolved* addresses, so every spelling of an address is
caught: decimal (``2852039166``), octal, hex and short IPv4 forms (as ``inet_aton`` reads them, which is
what the system resolver does), IPv4 addresses inside IPv6 (mapped ``::ffff:a.b.c.d``, 6to4, Teredo,
NAT64) and plain names that resolve to internal addresses.

Refused by default: every address that is not globally routable (loopback, private, link-local, shared
CGNAT, reserved, unspecified, documentation ranges) and every multicast address. ``allow`` entries open
named addresses: an IP or a CIDR, with an optional port (``127.0.0.1``, ``10.0.0.0/8``,
``127.0.0.1:8080``, ``[::1]:8080``, ``[fd00::]/8``), or a host name with an optional port, which opens
that name whatever it resolves to.

DNS rebinding (a name that resolves to a public address when checked and to an internal one when
connected) is closed by connecting to the very address that was checked, taken from the same short-lived
cache: ``GuardedBackend`` under httpcore's pool, the resolver of ``flows/aiohttp_transport.py`` under aiohttp's.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import httpcore
from pydantic import AfterValidator

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: async (host, port) -> addresses; the system resolver by default, a table in tests.
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
#: prefix of the outcome of a refused hop (the page's recorded error), e.g. "refused address 10.0.0.1 (private)".
REFUSED_ADDRESS = "refused address"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


@dataclass(frozen=True, slots=True)
class AllowEntry:
    """One ``allow`` entry: a network or a host name, and a port (None: any port)."""

    network: IPNetwork | None
    name: str | None
    port: int | None

    def opens(self, host: str, address: IPAddress | None, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.name is not None:
            return host == self.name
        return address is not None and self.network is not None and address in self.network


def parse_allow(entry: str) -> AllowEntry:
    """``127.0.0.1``, ``10.0.0.0/8``, ``127.0.0.1:8080``, ``[::1]:8080``, ``[fd00::]/8``, ``::1``,
    ``intranet.example:8443``. Raises ``ValueError`` naming the entry."""
    text = entry.strip()
    if not text:
        raise ValueError("empty address entry")
    port: int | None = None
    if text.startswith("["):  # [v6] or [v6]:port or [v6]/len
        close = text.find("]")
        if close < 0:
            raise ValueError(f"{entry!r}: unclosed '['")
        rest = text[close + 1 :]
        text = text[1:close] + (rest if rest.startswith("/") else "")
        if rest.startswith(":"):
            port = _port(entry, rest[1:])
        elif rest and not rest.startswith("/"):
            raise ValueError(f"{entry!r}: unexpected {rest!r} after ']'")
    elif text.count(":") == 1:  # v4 or name with a port (a bare v6 address has several colons)
        text, _, port_text = text.partition(":")
        port = _port(entry, port_text)
    try:
        return AllowEntry(ipaddress.ip_network(text, strict=False), None, port)
    except ValueError:
        pass
    name = text.lower().rstrip(".")
    if "/" in name or not name or any(c.isspace() for c in name):
        raise ValueError(f"{entry!r}: not an address, a network or a host name")
    return AllowEntry(None, name, port)


def _checked_entries(entries: tuple[str, ...]) -> tuple[str, ...]:
    for entry in entries:
        parse_allow(entry)  # ValueError names the entry
    return entries


#: allow-list entries in configuration (settings, sources.toml), each checked by ``parse_allow``.
AllowSetting = Annotated[tuple[str, ...], AfterValidator(_checked_entries)]


def _port(entry: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r}: bad port {text!r}")
    return int(text)


@functools.lru_cache(maxsize=4096)
def literal_address(host: str) -> IPAddress | None:
    """(Cached: asked several times per request, and ``ipaddress`` parsing showed in the fetch profile.)
    The address a host string spells, in any form the system resolver accepts without asking DNS:
    dotted, decimal, octal, hex and short IPv4 (``inet_aton``), and IPv6 (brackets allowed)."""
    text = host.strip("[]")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if text and all(c in "0123456789abcdefxABCDEFX." for c in text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def _embedded(address: IPAddress) -> list[IPAddress]:
    """The address and every IPv4 address it carries (IPv4-mapped, 6to4, Teredo, NAT64)."""
    out: list[IPAddress] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            out.append(address.ipv4_mapped)
        if address.sixtofour is not None:
            out.append(address.sixtofour)
        if address.teredo is not None:
            out.extend(address.teredo)
        if address in _NAT64:
            out.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return out


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` is refused by default (None: it is public)."""
    for a in _embedded(address):
        for kind, hit in (
            ("unspecified", a.is_unspecified),
            ("loopback", a.is_loopback),
            ("link-local", a.is_link_local),
            ("multicast", a.is_multicast),
            ("private", a.is_private),
            ("reserved", a.is_reserved),
        ):
            if hit:
                return kind
        if not a.is_global:
            return "not globally routable"
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressPolicy:
    """Resolves hosts (cached for ``ttl`` seconds) and decides which of their addresses may be used.

    One instance serves a run: the fetcher's check before each hop and ``GuardedBackend`` at connect
    time read the same cache, so the address connected to is the address that was checked.
    """

    def __init__(self, allow: Iterable[str] = (), resolver: Resolver | None = None, ttl: float = 60.0) -> None:
        self.allow = tuple(parse_allow(a) for a in allow)
        self._resolver = resolver or system_resolver
        self._ttl = ttl
        self._cache: dict[tuple[str, int], tuple[float, asyncio.Future[Sequence[str]]]] = {}
        #: verdicts on literal IP hosts, which never change (a dict lookup per request instead of a check)
        self._literal: dict[tuple[str, int, Sequence[AllowEntry]], tuple[list[str], str | None]] = {}

    async def resolve(self, host: str, port: int) -> Sequence[str]:
        """Addresses of ``host``; raises ``OSError`` (e.g. ``socket.gaierror``) when it has none."""
        literal = literal_address(host)
        if literal is not None:
            return (str(literal),)
        key = (host, port)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and (now < hit[0] or not hit[1].done()):
            return await asyncio.shield(hit[1])
        future: asyncio.Future[Sequence[str]] = asyncio.get_running_loop().create_future()
        self._cache[key] = (now + self._ttl, future)
        try:
            addresses = tuple(await self._resolver(host, port))
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, f"{host} has no address")
        except BaseException as exc:
            self._cache.pop(key, None)  # failures are not cached: the next hop asks again
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
            raise
        future.set_result(addresses)
        return addresses

    def refused(self, host: str, address: str, port: int, extra: Sequence[AllowEntry] = ()) -> str | None:
        """The recorded outcome for connecting to ``address`` (resolved from ``host``), or None if allowed."""
        ip = literal_address(address)
        for entry in (*self.allow, *extra):
            if entry.opens(host, ip, port):
                return None
        if ip is None:
            return f"{REFUSED_ADDRESS} {address} (not an IP address)"
        why = refusal(ip)
        return f"{REFUSED_ADDRESS} {ip} ({why})" if why else None

    async def usable(self, host: str, port: int, extra: Sequence[AllowEntry] = ()) -> tuple[list[str], str | None]:
        """(allowed addresses, refusal of the first refused one). Raises ``OSError`` if unresolvable.

        A host with any refused address is refused outright: a name that mixes public and internal
        addresses is how rebinding attacks are set up, and no real news site needs one."""
        key = (host, port, tuple(extra))
        hit = self._literal.get(key)
        if hit is not None:
            return hit
        name = host.lower().rstrip(".")
        addresses = await self.resolve(name, port)
        allowed: list[str] = []
        verdict: tuple[list[str], str | None] = (allowed, None)
        for address in addresses:
            why = self.refused(name, address, port, extra)
            if why:
                verdict = ([], why)
                break
            allowed.append(address)
        if literal_address(name) is not None:
            self._literal[key] = verdict
        return verdict


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, connecting only to addresses the policy allows, and to exactly the
    ones it checked (no second DNS lookup between check and connect)."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend | None = None,
                 extra: Callable[[str, int], Sequence[AllowEntry]] | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()
        #: (host, port) -> the host's own allow entries (a site's ``allow_addresses``)
        self._extra = extra or (lambda host, port: ())

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses, why = await self._policy.usable(host, port, self._extra(host, port))
        except OSError as exc:
            raise httpcore.ConnectError(f"{host}: {exc}") from exc
        if why:
            raise httpcore.ConnectError(why)  # the message is the page's recorded outcome
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not crawled")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)

