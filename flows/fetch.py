"""HTTP fetching with one shared ``httpx.AsyncClient``: politeness, retries, redirects, size limits.

Every URL yields a ``RawPage`` — a transport failure is data (``RawPage.error``), not an exception — so
one bad host never stops a batch and every attempt can be recorded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from parsers.records import RawPage

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    concurrency: int = 16
    per_host: int = 2
    min_delay: float = 1.0
    retries: int = 2
    backoff: float = 0.5
    max_redirects: int = 5
    max_bytes: int = 10 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    user_agent: str = "initiatives-crawler/0.1"


@dataclass(frozen=True, slots=True)
class Conditional:
    """Validators from the previous good fetch, for a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(slots=True)
class _Host:
    gate: asyncio.Semaphore
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Fetched:
    raw: RawPage
    fetched_at: dt.datetime
    elapsed: float


class Fetcher:
    """Holds the client and per-host state for one run; use as an async context manager."""

    def __init__(self, policy: FetchPolicy | None = None, transport: httpx.AsyncBaseTransport | None = None):
        self.policy = policy or FetchPolicy()
        self._transport = transport
        self._gate = asyncio.Semaphore(self.policy.concurrency)
        self._hosts: dict[str, _Host] = {}
        self._client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        p = self.policy
        self._client = httpx.AsyncClient(
            transport=self._transport,
            follow_redirects=False,
            timeout=httpx.Timeout(p.read_timeout, connect=p.connect_timeout),
            limits=httpx.Limits(max_connections=p.concurrency, max_keepalive_connections=p.concurrency),
            headers={"user-agent": p.user_agent, "accept-encoding": "gzip, deflate"},
            trust_env=False,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _host(self, url: str) -> _Host:
        host = urlsplit(url).netloc.lower()
        if host not in self._hosts:
            self._hosts[host] = _Host(asyncio.Semaphore(self.policy.per_host))
        return self._hosts[host]

    async def _polite(self, host: _Host) -> None:
        async with host.lock:
            wait = host.next_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            host.next_at = time.monotonic() + self.policy.min_delay

    async def fetch(self, url: str, conditional: Conditional | None = None) -> Fetched:
        started = time.monotonic()
        fetched_at = dt.datetime.now(dt.UTC)
        try:
            raw = await asyncio.wait_for(self._fetch(url, conditional), self.policy.total_timeout)
        except TimeoutError:
            raw = RawPage(url=url, body=b"", status=None, error="timeout: whole request took too long")
        return Fetched(raw, fetched_at, time.monotonic() - started)

    async def fetch_all(
        self, urls: Iterable[str], conditionals: Mapping[str, Conditional] | None = None
    ) -> list[Fetched]:
        conditionals = conditionals or {}
        return list(await asyncio.gather(*(self.fetch(u, conditionals.get(u)) for u in urls)))

    async def _fetch(self, url: str, conditional: Conditional | None) -> RawPage:
        chain: list[tuple[int, str]] = []
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            response_or_error = await self._attempt(current, conditional if not chain else None)
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
        self, url: str, conditional: Conditional | None
    ) -> tuple[int, dict[str, str], bytes, str | None] | str:
        """One request with retries; a string result is the final transport error."""
        assert self._client is not None, "use Fetcher as an async context manager"
        headers: dict[str, str] = {}
        if conditional and conditional.etag:
            headers["if-none-match"] = conditional.etag
        if conditional and conditional.last_modified:
            headers["if-modified-since"] = conditional.last_modified
        host = self._host(url)
        last_error = "no attempt made"
        for attempt in range(self.policy.retries + 1):
            async with self._gate, host.gate:
                await self._polite(host)
                try:
                    result = await self._request(url, headers)
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
                if attempt == self.policy.retries or last_error.startswith("ConnectError"):
                    return last_error
                delay = self._backoff(attempt)
            await asyncio.sleep(delay)
        return last_error

    def _backoff(self, attempt: int) -> float:
        base: float = self.policy.backoff * (2**attempt)
        return base + random.uniform(0, base)

    async def _request(self, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes, str | None]:
        assert self._client is not None
        async with self._client.stream("GET", url, headers=headers) as response:
            resp_headers = {k.lower(): v for k, v in response.headers.items()}
            declared = resp_headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.policy.max_bytes:
                return response.status_code, resp_headers, b"", f"body too large: {declared} bytes declared"
            chunks: list[bytes] = []
            size = 0
            # iter_bytes decompresses; counting decoded bytes also stops decompression bombs.
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.policy.max_bytes:
                    return response.status_code, resp_headers, b"", (
                        f"body too large: over {self.policy.max_bytes} bytes"
                    )
                chunks.append(chunk)
            return response.status_code, resp_headers, b"".join(chunks), None


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
