"""HTTP fetching with one shared ``httpx.AsyncClient``: politeness, robots.txt, retries, redirects, limits.

Every URL yields a ``RawPage`` — a transport failure is data (``RawPage.error``), not an exception — so
one bad host never stops a batch and every attempt can be recorded. This module never imports Prefect:
``initiatives inspect`` uses it and must start fast.

Transport (chosen by measurement, see docs/crawling.md): plain ``http://`` goes through our own HTTP/1.1
transport (``flows/transport.py``), because httpx's own pool costs several milliseconds of CPU per request
at 32 in flight and aiohttp's request path 40% more than ours; ``https://`` goes through httpx's transport
with HTTP/2 enabled, so a server that offers h2 in ALPN gets one multiplexed connection. The client API
is httpx either way.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import random
import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urljoin

import httpx
from protego import Protego

from flows.transport import Http1Transport
from parsers.records import RawPage

_CLOSED = httpx.ByteStream(b"")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: RFC 9309: crawlers must read at least 500 KiB of robots.txt; more is ignored.
ROBOTS_MAX_BYTES = 512 * 1024
#: reason prefixes of outcomes that are the crawler's own choice, not the site's fault (never loaded).
ROBOTS_FORBIDS = "robots.txt forbids this URL"

#: "auto" is our HTTP/1.1 transport for http:// (flows/transport.py); "httpx" forces httpx's own pool.
TransportName = Literal["auto", "httpx"]


@dataclass(frozen=True, slots=True)
class HostRule:
    """Politeness for one host (``netloc``), overriding the policy defaults."""

    host: str
    concurrency: int
    min_delay: float


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    concurrency: int = 16
    per_host: int = 2
    min_delay: float = 1.0
    host_rules: tuple[HostRule, ...] = ()
    retries: int = 2
    backoff: float = 0.5
    max_redirects: int = 5
    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    user_agent: str = "initiatives-crawler/0.1"
    obey_robots: bool = True
    #: seconds a host's robots.txt is trusted before it is read again (runs can last for days).
    robots_ttl: float = 24 * 3600.0
    #: a robots.txt Crawl-delay above this is capped (and still obeyed up to it).
    max_crawl_delay: float = 60.0
    transport: TransportName = "auto"
    http2: bool = True

    def rule(self, host: str) -> tuple[int, float]:
        for r in self.host_rules:
            if r.host == host:
                return r.concurrency, r.min_delay
        return self.per_host, self.min_delay


@dataclass(frozen=True, slots=True)
class Conditional:
    """Validators from the previous good fetch, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    raw: RawPage
    fetched_at: dt.datetime
    elapsed: float


class HostLimiter(Protocol):
    """Per-host politeness: who may send a request to ``host`` now.

    ``acquire`` is held for one request: at most the host's concurrency at once, and successive
    requests start at least ``min_delay`` seconds apart. The default is in-process; a deployment with
    several workers can inject one backed by a shared store (e.g. Prefect global concurrency limits).
    """

    def acquire(self, host: str, min_delay: float) -> AbstractAsyncContextManager[None]: ...


@dataclass(slots=True)
class _HostGate:
    gate: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0


class LocalHostLimiter:
    """Per-host semaphore plus a minimum spacing between request starts, for one process."""

    def __init__(self, policy: FetchPolicy) -> None:
        self.policy = policy
        self._hosts: dict[str, _HostGate] = {}

    def acquire(self, host: str, min_delay: float) -> _HostSlot:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = _HostGate(asyncio.Semaphore(self.policy.rule(host)[0]))
        return _HostSlot(state, min_delay)


class _HostSlot:
    """One request's hold on a host, as a plain class: ``asynccontextmanager`` builds a generator and
    a wrapper per request, which showed in the per-page profile of a 32-in-flight crawl."""

    __slots__ = ("_min_delay", "_state")

    def __init__(self, state: _HostGate, min_delay: float) -> None:
        self._state = state
        self._min_delay = min_delay

    async def __aenter__(self) -> None:
        state = self._state
        await state.gate.acquire()
        if self._min_delay > 0:
            try:
                async with state.lock:
                    wait = state.next_at - time.monotonic()
                    if wait > 0:
                        await asyncio.sleep(wait)
                    state.next_at = time.monotonic() + self._min_delay
            except BaseException:
                state.gate.release()
                raise

    async def __aexit__(self, *exc: object) -> None:
        self._state.gate.release()


@dataclass(frozen=True, slots=True)
class Robots:
    """A host's robots.txt as read once: rules, or the reason everything is refused."""

    parser: Protego | None
    refused: str | None
    read_at: float


class _Cookies(httpx.Cookies):
    """A cookie jar that looks at a response only when it sets a cookie.

    httpx wraps every response and its request in urllib adapters for ``CookieJar.extract_cookies``,
    Set-Cookie or not; on the bench that was the largest single CPU cost per request after the transport.
    Cookies a site does set are stored and sent back exactly as before.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        if "set-cookie" in response.headers:
            super().extract_cookies(response)


class _Client(httpx.AsyncClient):
    """``httpx.AsyncClient`` with the lazy cookie jar (there is no constructor hook for the jar's class)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _Cookies(self._cookies.jar)


def make_transports(policy: FetchPolicy) -> dict[str, httpx.AsyncBaseTransport]:
    """Transports per URL scheme (see the module docstring for why they differ)."""
    limits = httpx.Limits(
        max_connections=policy.concurrency, max_keepalive_connections=policy.concurrency, keepalive_expiry=30.0
    )
    https = httpx.AsyncHTTPTransport(http2=policy.http2, limits=limits, trust_env=False)
    http: httpx.AsyncBaseTransport
    if policy.transport == "httpx":
        http = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    else:
        http = Http1Transport(limits, policy.max_bytes)
    return {"http://": http, "https://": https}


class Fetcher:
    """Holds the client, robots.txt cache and politeness state for one run; an async context manager."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: HostLimiter | None = None,
    ):
        self.policy = policy or FetchPolicy()
        self._transport = transport
        self.limiter: HostLimiter = limiter or LocalHostLimiter(self.policy)
        self._gate = asyncio.Semaphore(self.policy.concurrency)
        self._robots: dict[str, asyncio.Future[Robots]] = {}
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        p = self.policy
        mounts: dict[str, httpx.AsyncBaseTransport | None] = {}
        if self._transport is None:
            mounts = dict(make_transports(p))
        self._client = _Client(
            transport=self._transport,
            mounts=mounts or None,
            follow_redirects=False,
            timeout=httpx.Timeout(p.read_timeout, connect=p.connect_timeout, pool=p.total_timeout),
            headers={"user-agent": p.user_agent, "accept-encoding": "gzip, deflate"},
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def fetch(
        self, url: str, conditional: Conditional | None = None, headers: Mapping[str, str] | None = None
    ) -> Fetched:
        """``headers`` are sent on the first hop only (a Range request for one record of a web archive's file)."""
        started = time.monotonic()
        fetched_at = dt.datetime.now(dt.UTC)
        try:
            async with asyncio.timeout(self.policy.total_timeout):
                raw = await self._fetch(url, conditional, robots=self.policy.obey_robots, extra=headers)
        except TimeoutError:
            raw = RawPage(url=url, body=b"", status=None, error="timeout: whole request took too long")
        return Fetched(raw, fetched_at, time.monotonic() - started)

    async def fetch_all(
        self, urls: Iterable[str], conditionals: Mapping[str, Conditional] | None = None
    ) -> list[Fetched]:
        conditionals = conditionals or {}
        return list(await asyncio.gather(*(self.fetch(u, conditionals.get(u)) for u in urls)))

    # --- robots.txt -------------------------------------------------------------------------------
    async def _robots_for(self, key: str) -> Robots:
        entry = self._robots.get(key)
        if entry is not None:
            if not entry.done():
                return await asyncio.shield(entry)
            if entry.exception() is None:
                rules = entry.result()
                # The common case (rules already read) skips shield(): a future and callbacks per request.
                if time.monotonic() - rules.read_at < self.policy.robots_ttl:
                    return rules
        future: asyncio.Future[Robots] = asyncio.get_running_loop().create_future()
        self._robots[key] = future
        try:
            future.set_result(await self._read_robots(key))
        except BaseException as exc:  # a cancelled reader must not leave waiters hanging
            del self._robots[key]
            future.set_exception(exc)
            raise
        return future.result()

    async def _read_robots(self, origin: str) -> Robots:
        url = f"{origin}/robots.txt"
        try:
            async with asyncio.timeout(self.policy.total_timeout):
                raw = await self._fetch(url, None, robots=False, max_bytes=ROBOTS_MAX_BYTES)
        except TimeoutError:
            raw = RawPage(url=url, body=b"", status=None, error="timeout: whole request took too long")
        now = time.monotonic()
        if raw.status is None or (raw.error and not raw.error.startswith("body too large")):
            # RFC 9309 2.3.1.4: an unreachable robots.txt means the whole site is disallowed for now.
            # The host itself failed: report that transport error, it is the page's story too.
            return Robots(None, f"{raw.error} (reading robots.txt)", now)
        if raw.status >= 500:
            return Robots(None, f"robots.txt unavailable (HTTP {raw.status})", now)
        if raw.status != 200:  # 4xx: no rules, everything allowed
            return Robots(None, None, now)
        return Robots(Protego.parse(raw.body[:ROBOTS_MAX_BYTES].decode("utf-8", "replace")), None, now)

    async def _robots_verdict(self, url: str, origin: str) -> tuple[str | None, float]:
        """(refusal reason or None, crawl delay) for ``url`` on ``origin`` (``scheme://host``)."""
        rules = await self._robots_for(origin)
        if rules.refused:
            return rules.refused, 0.0
        if rules.parser is None:
            return None, 0.0
        agent = self.policy.user_agent
        if not rules.parser.can_fetch(url, agent):
            return ROBOTS_FORBIDS, 0.0
        delay = rules.parser.crawl_delay(agent)
        return None, min(float(delay), self.policy.max_crawl_delay) if delay else 0.0

    # --- one URL ------------------------------------------------------------------------------------
    async def _fetch(
        self, url: str, conditional: Conditional | None, robots: bool, max_bytes: int | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> RawPage:
        chain: list[tuple[int, str]] = []
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            crawl_delay = 0.0
            # Parsed once per hop, by httpx, and the parsed URL is what gets requested: parsing is one of
            # the larger CPU costs of a request (docs/crawling.md).
            try:
                target = parse_url(current)
            except httpx.InvalidURL as exc:  # e.g. "http://[::1/x", a port out of range
                return RawPage(url=url, body=b"", status=None, final_url=current,
                               status_chain=tuple(chain), error=f"invalid URL: {exc}")
            host = host_of(target)
            if robots:
                refused, crawl_delay = await self._robots_verdict(current, f"{target.scheme}://{host}")
                if refused:
                    return RawPage(url=url, body=b"", status=None, final_url=current,
                                   status_chain=tuple(chain), error=refused)
            response_or_error = await self._attempt(
                target, host, conditional if not chain else None, crawl_delay, max_bytes or self.policy.max_bytes,
                extra if not chain else None,
            )
            if isinstance(response_or_error, str):
                return RawPage(url=url, body=b"", status=None, final_url=current,
                               status_chain=tuple(chain), error=response_or_error)
            status, headers, body, error = response_or_error
            chain.append((status, current))
            location = headers.get("location")
            if 300 <= status < 400 and status != 304 and location:
                nxt = urljoin(current, location)
                if any(u == nxt for _, u in chain):
                    return RawPage(url=url, body=b"", status=status, headers=headers, final_url=nxt,
                                   status_chain=tuple(chain), error="redirect loop")
                current = nxt
                continue
            return RawPage(url=url, body=body, status=status, headers=headers, final_url=current,
                           status_chain=tuple(chain), error=error)
        return RawPage(url=url, body=b"", status=chain[-1][0] if chain else None, final_url=current,
                       status_chain=tuple(chain), error=f"too many redirects (>{self.policy.max_redirects})")

    async def _attempt(
        self, url: httpx.URL, host: str, conditional: Conditional | None, crawl_delay: float, max_bytes: int,
        extra: Mapping[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes, str | None] | str:
        """One request with retries; a string result is the final transport error."""
        headers: dict[str, str] = dict(extra) if extra else {}
        if conditional and conditional.etag:
            headers["if-none-match"] = conditional.etag
        if conditional and conditional.last_modified:
            headers["if-modified-since"] = conditional.last_modified
        min_delay = max(self.policy.rule(host)[1], crawl_delay)
        last_error = "no attempt made"
        for attempt in range(self.policy.retries + 1):
            async with self._gate, self.limiter.acquire(host, min_delay):
                try:
                    result = await self._request(url, headers, max_bytes)
                except httpx.TimeoutException as exc:
                    last_error = f"timeout: {type(exc).__name__}"
                    result = None
                except httpx.HTTPError as exc:
                    last_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                    result = None
            if result is not None:
                status, resp_headers, _, _ = result
                if status not in RETRY_STATUSES or attempt == self.policy.retries:
                    return result
                delay = _retry_after(resp_headers.get("retry-after")) or self._backoff(attempt)
            else:
                if attempt == self.policy.retries or last_error.startswith(("ConnectError", "UnsupportedProtocol")):
                    return last_error
                delay = self._backoff(attempt)
            await asyncio.sleep(delay)
        return last_error

    def _backoff(self, attempt: int) -> float:
        base: float = self.policy.backoff * (2**attempt)
        return base + random.uniform(0, base)

    async def _request(
        self, url: httpx.URL, headers: dict[str, str], max_bytes: int
    ) -> tuple[int, dict[str, str], bytes, str | None]:
        client = self._client
        assert client is not None, "use Fetcher as an async context manager"
        # send(stream=True) + aclose rather than ``client.stream()``: the same request without an async
        # generator context manager per page.
        request = client.build_request("GET", url, headers=headers, extensions={"max_bytes": max_bytes})
        response = await client.send(request, stream=True)
        try:
            resp_headers = _header_dict(response.headers)
            declared = resp_headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                return response.status_code, resp_headers, b"", f"body too large: {declared} bytes declared"
            chunks: list[bytes] = []
            size = 0
            # aiter_bytes decompresses; counting decoded bytes also stops decompression bombs early.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    return response.status_code, resp_headers, b"", f"body too large: over {max_bytes} bytes"
                chunks.append(chunk)
            return response.status_code, resp_headers, b"".join(chunks), None
        finally:
            await response.aclose()
            # httpx 0.28 links ``response.stream`` back to the response (encode/httpx#3733), so every
            # response, with its request, headers and URL (24 objects a page on bench-crawl), was a
            # reference cycle left for the cyclic GC. Unlinked, refcounting frees it as soon as we return.
            response.stream = _CLOSED


def parse_url(url: str) -> httpx.URL:
    """httpx's parse, plus the port range check it leaves to the connection (``connect()`` would raise an
    ``OverflowError`` mid-request). Raises ``httpx.InvalidURL``."""
    parsed = httpx.URL(url)
    if parsed.port is not None and parsed.port > 65535:
        raise httpx.InvalidURL(f"port {parsed.port} out of range")
    return parsed


def host_of(url: str | httpx.URL) -> str:
    """``host[:port]`` as httpx normalises it (lower case, IDNA-encoded, default port dropped): the key of
    per-host politeness and of the robots.txt cache, so a configured site and its fetched URLs agree."""
    return (url if isinstance(url, httpx.URL) else parse_url(url)).netloc.decode("ascii")


def _header_dict(headers: httpx.Headers) -> dict[str, str]:
    """Lower-case names, repeated headers joined with ", " (as ``Headers.items()``), decoded once:
    ``items()`` re-reads the ``encoding`` property for every name and value."""
    encoding = headers.encoding
    out: dict[str, str] = {}
    for name, value in headers.raw:
        key = name.decode(encoding).lower()
        text = value.decode(encoding)
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return min(float(value), 120.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min((when - dt.datetime.now(dt.UTC)).total_seconds(), 120.0))
