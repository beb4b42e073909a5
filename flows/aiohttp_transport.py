"""aiohttp's client under httpx's transport interface, for direct ``http://`` requests.

Chosen by measurement (docs/crawling.md): httpcore's pool matches every queued request against every
connection and polls every idle socket each time a request is assigned, so its CPU per request grows with
the load on the machine (on the shared 2-CPU VM the same 50 ms bench went from 0.6 to 3.5 ms per page,
and from 0.9 to 0.15 of the latency ceiling); aiohttp's connector stays flat. aiohttp is maintained, and
this adapter only maps a request in and a response out:

- bodies are handed over raw (``auto_decompress=False``): the fetcher inflates them with an output cap;
- the connector resolves through the address policy (``_PolicyResolver``), so a connection goes to the
  address that was checked, and a literal IP (which aiohttp never resolves) is checked here;
- ``timeout`` extensions map to aiohttp's (connect, read), a free slot is waited for at most ``pool``;
- aiohttp's errors become the httpx exceptions the fetcher handles (``ConnectError``, ``ConnectTimeout``,
  ``ReadTimeout``, ``PoolTimeout``, ``RemoteProtocolError``, ``LocalProtocolError``).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import aiohttp
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from flows.addresses import AddressPolicy, AllowEntry, literal_address

Extra = Callable[[str, int], Sequence[AllowEntry]]


class _PolicyResolver(AbstractResolver):
    """aiohttp's resolver hook: the policy's cached answer, refused addresses never returned."""

    def __init__(self, policy: AddressPolicy, extra: Extra) -> None:
        self._policy = policy
        self._extra = extra

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        addresses, why = await self._policy.usable(host, port, self._extra(host, port))
        if why:
            raise OSError(why)
        out: list[ResolveResult] = []
        for address in addresses:
            v6 = ":" in address
            out.append({"hostname": host, "host": address, "port": port,
                        "family": socket.AF_INET6 if v6 else socket.AF_INET, "proto": 0,
                        "flags": socket.AI_NUMERICHOST})
        return out

    async def close(self) -> None:
        return None


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (opened on first use, in the running loop); ``http://`` only."""

    def __init__(self, limits: httpx.Limits, policy: AddressPolicy, extra: Extra | None = None) -> None:
        self._limits = limits
        self._policy = policy
        self._extra: Extra = extra or (lambda host, port: ())
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        limits = self._limits
        connector = aiohttp.TCPConnector(
            limit=limits.max_connections or 0, limit_per_host=0, use_dns_cache=False,
            keepalive_timeout=limits.keepalive_expiry if limits.keepalive_expiry is not None else 30.0,
            resolver=_PolicyResolver(self._policy, self._extra),
        )
        self._slots = asyncio.Semaphore(limits.max_connections) if limits.max_connections else None
        self._session = aiohttp.ClientSession(
            connector=connector, auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"), timeout=aiohttp.ClientTimeout(total=None),
        )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"this transport speaks http://, not {url.scheme}://", request=request)
        if literal_address(url.host) is not None:  # aiohttp never resolves a literal IP: the policy is asked here
            port = url.port or 80
            _, why = await self._policy.usable(url.host, port, self._extra(url.host, port))  # cached per host
            if why:
                raise httpx.ConnectError(why, request=request)
        session = self._session or self._open()
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        slots = self._slots
        if slots is not None:
            if not slots.locked():  # the usual case: no task and timer for wait_for
                await slots.acquire()
            else:
                try:
                    await asyncio.wait_for(slots.acquire(), timeouts.get("pool"))
                except TimeoutError:
                    raise httpx.PoolTimeout("no free connection slot in time", request=request) from None
        try:
            response = await self._send(session, request, timeouts)
        except BaseException:
            if slots is not None:
                slots.release()
            raise
        return httpx.Response(
            response.status, headers=list(response.raw_headers), stream=_Body(response, request, slots),
            request=request,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def _send(self, session: aiohttp.ClientSession, request: httpx.Request,
                    timeouts: dict[str, float | None]) -> aiohttp.ClientResponse:
        # aiohttp copies headers into its own multidict anyway: pairs are the cheapest thing to hand it.
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        key = (timeouts.get("connect"), timeouts.get("read"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(total=None, sock_connect=key[0], sock_read=key[1])
        try:
            body = request.content  # already read for every request the fetcher builds
        except httpx.RequestNotRead:
            body = await request.aread()
        try:
            return await session.request(
                request.method, URL(str(request.url), encoded=True), headers=headers, data=body or None,
                allow_redirects=False, timeout=timeout, compress=None, chunked=None,
            )
        except Exception as exc:
            raise _mapped(exc, request) from exc

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Body(httpx.AsyncByteStream):
    """The response body as aiohttp delivers it; closing it returns the connection (or drops it, unread)."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request,
                 slots: asyncio.Semaphore | None) -> None:
        self._response = response
        self._request = request
        self._slots = slots

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_any():
                yield chunk
        except Exception as exc:
            raise _mapped(exc, self._request) from exc

    async def aclose(self) -> None:
        response = self._response
        if response.content.at_eof():
            response.release()
        else:  # stopped early (over max_bytes, an error): the connection cannot be reused
            response.close()
        if self._slots is not None:
            slots, self._slots = self._slots, None
            slots.release()


def _mapped(exc: Exception, request: httpx.Request) -> Exception:
    """aiohttp's exception as the httpx one the fetcher expects."""
    text = str(exc) or type(exc).__name__
    error: Any
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        error = httpx.ConnectTimeout
    elif isinstance(exc, aiohttp.SocketTimeoutError | TimeoutError):
        error = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        text = str(os_error) if str(os_error) else text  # the policy's refusal, or "Connect call failed …"
        error = httpx.ConnectError
    elif isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError
                    | aiohttp.ClientOSError):
        error = httpx.RemoteProtocolError
    elif isinstance(exc, ValueError | aiohttp.InvalidURL):  # e.g. a header value with a line break
        error = httpx.LocalProtocolError
    else:
        return exc
    return error(text, request=request)  # type: ignore[no-any-return]
