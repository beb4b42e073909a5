"""HTTP fetching with one shared ``httpx.AsyncClient``: politeness, robots.txt, retries, redirects, limits.

Every URL yields a ``RawPage`` — a transport failure is data (``RawPage.error``), not an exception — so
one bad host never stops a batch and every attempt can be recorded. This module never imports Prefect:
``initiatives inspect`` uses it and must start fast.

Transport (chosen by measurement, docs/crawling.md): maintained clients only, behind httpx's interface —
aiohttp's for direct ``http://`` (``flows/aiohttp_transport.py``: httpcore's pool costs more CPU per request
the busier the machine is), httpx's own with HTTP/2 for ``https://`` and for every proxied request. Every
hop passes the address policy (``flows/addresses.py``) and stays on the site's hosts; direct connections
go to the very address that was checked, proxied ones to the configured proxy (global, per site, or the
environment's when ``trust_env`` is set).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import random
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpcore
import httpx
from protego import Protego
from pydantic import AfterValidator, SecretStr

from flows.addresses import REFUSED_ADDRESS, AddressPolicy, AllowEntry, GuardedBackend, Resolver, parse_allow
from parsers.hosts import host_key as host_of
from parsers.hosts import parse_url
from parsers.records import RawPage

_CLOSED = httpx.ByteStream(b"")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: RFC 9309: crawlers must read at least 500 KiB of robots.txt; more is ignored.
ROBOTS_MAX_BYTES = 512 * 1024
#: reason prefixes of outcomes that are the crawler's own choice, not the site's fault (never loaded).
ROBOTS_FORBIDS = "robots.txt forbids this URL"
#: prefix of the outcome of a redirect that leaves the site's hosts (the target is never requested).
OFF_SITE_REDIRECT = "redirect to another site"
#: prefix of every outcome of a body over ``max_bytes`` (declared or read).
TOO_LARGE = "body too large"
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


@dataclass(frozen=True, slots=True)
class HostRule:
    """Politeness, site and network settings for one host (``netloc``), overriding the policy defaults.

    Hosts with the same ``site`` may redirect to each other; a redirect anywhere else is not followed.
    ``allow`` opens addresses for this host only (``flows/addresses.py``), ``proxy`` sends its requests
    through that proxy instead of the global one."""

    host: str
    concurrency: int
    min_delay: float
    site: str = ""
    allow: tuple[str, ...] = ()
    proxy: str | None = field(default=None, repr=False)  # may hold a password


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
    http2: bool = True
    #: where per-host politeness is counted: "local" (this process) or "prefect" (across workers);
    #: from ``Settings.host_limits``, see flows/politeness.py.
    host_limits: str = "local"
    #: addresses opened for every host (``flows/addresses.py``: IPs, CIDRs, names, each with an optional port).
    allow_addresses: tuple[str, ...] = ()
    #: proxy for every request (``http://``, ``https://``, ``socks5://``, ``socks5h://``), unless a host's own.
    proxy: str | None = field(default=None, repr=False)  # may hold a password
    #: use the environment's proxies (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) when nothing else is set.
    trust_env: bool = False
    #: seconds a host's resolved addresses are reused (the check and the connection use the same answer).
    dns_ttl: float = 60.0
    #: the client under direct ``http://`` requests: aiohttp's (flows/aiohttp_transport.py) or httpcore's
    #: pool (httpx's default, kept selectable for bench-crawl, which shows why it is not the default).
    http_client: Literal["aiohttp", "httpcore"] = "aiohttp"

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


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***``, for every message that shows a proxy."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
        netloc += f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<unparseable proxy URL>"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def check_proxy(url: str) -> str:
    """``url`` if httpx can use it as a proxy; ``ValueError`` (password masked) otherwise."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"proxy {masked(url)}: not a valid URL ({exc})") from None
    if parsed.scheme not in PROXY_SCHEMES or not parsed.host:
        raise ValueError(f"proxy {masked(url)}: must be {', '.join(s + '://host:port' for s in PROXY_SCHEMES)}")
    return url


def _checked_secret(value: SecretStr | None) -> SecretStr | None:
    if value is not None and value.get_secret_value():
        check_proxy(value.get_secret_value())  # ValueError with the password masked
    return value


#: a proxy URL in configuration (settings, sources.toml): secret in reprs, checked, password masked in errors.
ProxySetting = Annotated[SecretStr | None, AfterValidator(_checked_secret)]


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, its pool connecting through ``GuardedBackend`` (only to addresses the policy
    allows, and to exactly the one checked). httpx has no parameter for httpcore's network backend, so the
    pool is built here with the arguments httpx would use."""

    def __init__(self, limits: httpx.Limits, http2: bool, backend: GuardedBackend) -> None:
        # No super().__init__(): it would build a pool (and load the CA bundle) only to be replaced.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=http2,
            network_backend=backend,
        )


class _Router(httpx.AsyncBaseTransport):
    """Sends each request through its host's proxy, the global one, the environment's, or directly.

    A dict lookup per request (httpx's ``mounts`` test every pattern in turn)."""

    def __init__(self, direct: httpx.AsyncBaseTransport, by_host: Mapping[str, httpx.AsyncBaseTransport],
                 default: httpx.AsyncBaseTransport | None, env: Mapping[str, str],
                 env_transports: Mapping[str, httpx.AsyncBaseTransport],
                 direct_http: httpx.AsyncBaseTransport | None = None) -> None:
        self._direct = direct
        self._direct_http = direct_http or direct
        self._by_host = dict(by_host)
        self._default = default
        self._env = dict(env)
        self._env_transports = dict(env_transports)

    def pick(self, url: httpx.URL) -> httpx.AsyncBaseTransport:
        if self._by_host:
            chosen = self._by_host.get(host_of(url))
            if chosen is not None:
                return chosen
        if self._default is not None:
            return self._default
        if self._env_transports:
            proxy = self._env.get(url.scheme) or self._env.get("all")
            if proxy and not _proxy_bypass(url.host, self._env):
                return self._env_transports[proxy]
        return self._direct_http if url.scheme == "http" else self._direct

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.pick(request.url).handle_async_request(request)

    async def aclose(self) -> None:
        seen: set[int] = set()
        for t in (self._direct, self._direct_http, *self._by_host.values(), self._default,
                  *self._env_transports.values()):
            if t is not None and id(t) not in seen:
                seen.add(id(t))
                await t.aclose()


#: NO_PROXY matching as urllib does it (public, but missing from typeshed).
_proxy_bypass: Any = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]


def environment_proxies() -> dict[str, str]:
    """The environment's proxies as ``urllib`` reads them (``http``, ``https``, ``all``, ``no``)."""
    return {k: v for k, v in urllib.request.getproxies_environment().items() if v}


def make_transport(policy: FetchPolicy, addresses: AddressPolicy,
                   extra: Callable[[str, int], Sequence[AllowEntry]] | None = None) -> _Router:
    """The client's transport: direct connections through the address guard (aiohttp's client for http://,
    httpx's own with HTTP/2 for https://), plus one httpx pool per proxy (HTTP(S) and SOCKS)."""
    limits = httpx.Limits(
        max_connections=policy.concurrency, max_keepalive_connections=policy.concurrency, keepalive_expiry=30.0
    )
    direct = GuardedTransport(limits, policy.http2, GuardedBackend(addresses, extra=extra))
    direct_http: httpx.AsyncBaseTransport | None = None
    if policy.http_client == "aiohttp":
        from flows.aiohttp_transport import AiohttpTransport  # here: `initiatives inspect` starts faster without

        direct_http = AiohttpTransport(limits, addresses, extra)
    pools: dict[str, httpx.AsyncBaseTransport] = {}

    def proxied(url: str) -> httpx.AsyncBaseTransport:
        if url not in pools:
            pools[url] = httpx.AsyncHTTPTransport(proxy=check_proxy(url), limits=limits, http2=policy.http2,
                                                  trust_env=False)
        return pools[url]

    by_host = {r.host: proxied(r.proxy) for r in reversed(policy.host_rules) if r.proxy}
    default = proxied(policy.proxy) if policy.proxy else None
    env = environment_proxies() if policy.trust_env else {}
    env_transports = {u: proxied(u) for k, u in env.items() if k != "no"}
    return _Router(direct, by_host, default, env, env_transports, direct_http)


class Fetcher:
    """Holds the client, robots.txt cache and politeness state for one run; an async context manager.

    ``transport`` replaces the network (tests pass ``httpx.MockTransport``); the address policy still
    judges every hop, with ``resolver`` answering for host names (the system resolver by default)."""

    def __init__(
        self,
        policy: FetchPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        limiter: HostLimiter | None = None,
        resolver: Resolver | None = None,
    ):
        self.policy = policy or FetchPolicy()
        self._transport = transport
        self.limiter: HostLimiter = limiter or LocalHostLimiter(self.policy)
        self._gate = asyncio.Semaphore(self.policy.concurrency)
        self._robots: dict[str, asyncio.Future[Robots]] = {}
        self._client: httpx.AsyncClient | None = None
        self.addresses = AddressPolicy(self.policy.allow_addresses, resolver, self.policy.dns_ttl)
        rules = {r.host: r for r in reversed(self.policy.host_rules)}  # the first rule for a host wins
        self._site_of = {h: r.site for h, r in rules.items() if r.site}
        self._allow: dict[str, tuple[AllowEntry, ...]] = {
            h: tuple(parse_allow(a) for a in r.allow) for h, r in rules.items() if r.allow
        }

    def _allowed_for(self, host: str, port: int) -> Sequence[AllowEntry]:
        """A host's own ``allow`` entries, looked up at connect time (port known, scheme not)."""
        if not self._allow:
            return ()
        shown = f"[{host}]" if ":" in host else host
        return self._allow.get(f"{shown}:{port}") or (self._allow.get(shown, ()) if port in (80, 443) else ())

    async def __aenter__(self) -> Fetcher:
        p = self.policy
        transport = self._transport or make_transport(p, self.addresses, self._allowed_for)
        self._client = _Client(
            transport=transport,
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
        if raw.error and raw.error.startswith(OFF_SITE_REDIRECT):
            # Not followed to another host (RFC 9309 lets a crawler stop following redirects and treat the
            # file as unavailable, like a 4xx): no rules, everything allowed.
            return Robots(None, None, now)
        if raw.status is None or (raw.error and not raw.error.startswith(TOO_LARGE)):
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
        first_host: str | None = None
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
            if first_host is None:
                first_host = host
            elif not self.same_site(first_host, host):
                # Never requested: another site's page must not become this URL's article, and a redirect
                # is how a site would point the crawler at someone else's server.
                status = chain[-1][0] if chain else None
                return RawPage(url=url, body=b"", status=status, final_url=current, status_chain=tuple(chain),
                               error=f"{OFF_SITE_REDIRECT}: {current}")
            refused = await self._address_refusal(target, host)
            if refused:
                return RawPage(url=url, body=b"", status=None, final_url=current,
                               status_chain=tuple(chain), error=refused)
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
                try:
                    nxt = urljoin(current, location)
                except ValueError as exc:  # a Location no URL parser accepts ("http://[::1/x")
                    return RawPage(url=url, body=b"", status=status, headers=headers, final_url=current,
                                   status_chain=tuple(chain), error=f"invalid URL: redirect to {location!r}: {exc}")
                if any(u == nxt for _, u in chain):
                    return RawPage(url=url, body=b"", status=status, headers=headers, final_url=nxt,
                                   status_chain=tuple(chain), error="redirect loop")
                current = nxt
                continue
            return RawPage(url=url, body=body, status=status, headers=headers, final_url=current,
                           status_chain=tuple(chain), error=error)
        return RawPage(url=url, body=b"", status=chain[-1][0] if chain else None, final_url=current,
                       status_chain=tuple(chain), error=f"too many redirects (>{self.policy.max_redirects})")

    def same_site(self, first: str, host: str) -> bool:
        """Whether a redirect from ``first`` may go to ``host``: the same host, or one the same site names."""
        if first == host:
            return True
        site = self._site_of.get(first)
        return site is not None and self._site_of.get(host) == site

    async def _address_refusal(self, target: httpx.URL, host: str) -> str | None:
        """Why this hop may not be requested (refused address, unresolvable host), or None."""
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            _, refused = await self.addresses.usable(target.host, port, self._allow.get(host, ()))
        except OSError as exc:  # the same outcome a connection attempt would have had
            return f"ConnectError: {target.host}: {exc}"
        return refused

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
                    text = str(exc)
                    last_error = text if text.startswith(REFUSED_ADDRESS) else (
                        f"{type(exc).__name__}: {masked_in(text)}" if text else type(exc).__name__)
                    result = None
            if result is not None:
                status, resp_headers, _, _ = result
                if status not in RETRY_STATUSES or attempt == self.policy.retries:
                    return result
                delay = _retry_after(resp_headers.get("retry-after")) or self._backoff(attempt)
            else:
                if attempt == self.policy.retries or last_error.startswith(
                    ("ConnectError", "UnsupportedProtocol", "LocalProtocolError", REFUSED_ADDRESS)
                ):
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
        request = client.build_request("GET", url, headers=headers)
        response = await client.send(request, stream=True)
        try:
            resp_headers = _header_dict(response.headers)
            declared = resp_headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                return response.status_code, resp_headers, b"", f"{TOO_LARGE}: {declared} bytes declared"
            decoder = _Decoder.for_encoding(resp_headers.get("content-encoding", ""), max_bytes)
            if decoder is not None:  # the body we keep is decoded: its encoding and length no longer apply
                resp_headers.pop("content-encoding", None)
                resp_headers.pop("content-length", None)
            chunks: list[bytes] = []
            size = 0
            # Raw bytes, decoded here with an output cap: httpx's decoders inflate a whole network read at
            # once, so one 64 KB read of a gzip bomb would become ~64 MB before any check could stop it.
            # The stream itself rather than ``aiter_raw()``, which refuses a body a mock already read.
            stream = response.stream
            assert isinstance(stream, httpx.AsyncByteStream)
            too_large = f"{TOO_LARGE}: more than {max_bytes} bytes read"
            try:
                async for chunk in stream:
                    if decoder is not None:
                        chunk = decoder.feed(chunk, max_bytes - size + 1)
                    size += len(chunk)
                    if size > max_bytes:
                        return response.status_code, resp_headers, b"", too_large
                    chunks.append(chunk)
                if decoder is not None:
                    tail = decoder.flush(max_bytes - size + 1)
                    size += len(tail)
                    chunks.append(tail)
            except zlib.error as exc:
                return response.status_code, resp_headers, b"", f"DecodingError: {exc}"
            if size > max_bytes:
                return response.status_code, resp_headers, b"", too_large
            return response.status_code, resp_headers, b"".join(chunks), None
        finally:
            await response.aclose()
            # httpx 0.28 links ``response.stream`` back to the response (encode/httpx#3733), so every
            # response, with its request, headers and URL (24 objects a page on bench-crawl), was a
            # reference cycle left for the cyclic GC. Unlinked, refcounting frees it as soon as we return.
            response.stream = _CLOSED


class _Decoder:
    """``gzip``/``deflate`` (zlib-wrapped or raw, as servers send both) decoded with a cap on the output
    of every call, so an endless body or a decompression bomb costs at most ``max_bytes`` of memory."""

    __slots__ = ("_wrapped", "_z")

    def __init__(self, raw_deflate_possible: bool) -> None:
        self._z: Any = None
        self._wrapped = not raw_deflate_possible

    @classmethod
    def for_encoding(cls, encoding: str, max_bytes: int) -> _Decoder | None:
        name = encoding.strip().lower()
        if name in ("gzip", "x-gzip"):
            return cls(raw_deflate_possible=False)
        if name == "deflate":
            return cls(raw_deflate_possible=True)
        return None  # identity, or an encoding we did not ask for: kept as sent, header and all

    def feed(self, data: bytes, limit: int) -> bytes:
        if self._z is None:
            if not data:
                return b""
            raw = not self._wrapped and not _zlib_wrapped(data)
            self._z = zlib.decompressobj(-zlib.MAX_WBITS if raw else 32 + zlib.MAX_WBITS)
        out: bytes = self._z.decompress(data, limit)
        return out

    def flush(self, limit: int) -> bytes:
        if self._z is None:
            return b""
        # Input held back by an earlier cap ("unconsumed_tail") is only inflated up to the cap again.
        out: bytes = self._z.decompress(self._z.unconsumed_tail, limit) if self._z.unconsumed_tail else b""
        return out + (self._z.flush() if len(out) < limit else b"")


def _zlib_wrapped(data: bytes) -> bool:
    """RFC 9110's ``deflate`` is zlib-wrapped; many servers send raw deflate instead. A zlib stream starts
    with a method byte of 8 and a header that is a multiple of 31."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0


def masked_in(text: str) -> str:
    """``text`` with the password of any URL in it masked (httpx's proxy errors can quote the proxy URL)."""
    if "@" not in text or "://" not in text:
        return text
    words = text.split()
    return " ".join(masked(w) if "://" in w and "@" in w else w for w in words)


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
