"""The ``http://`` transport under the crawler's httpx client: aiohttp's connections, httpx's API on top.

httpx's own connection pool costs several milliseconds of CPU per request at 32 in flight; aiohttp's costs
a tenth of that (docs/crawling.md has the figures). The ``httpx-aiohttp`` package bridges the two, but
hands httpx a stream that is re-wrapped per 16 KB chunk and decoded a second time in Python; this one
reads the body inside aiohttp (decompressed in C as it arrives) and gives httpx finished bytes. Reading
stops one byte past the request's ``max_bytes`` extension, counted after decompression, so an endless
body or a gzip bomb costs at most that much memory; the fetcher sees the overflow and refuses the page.

aiohttp's errors become the httpx exceptions the fetcher already handles: refused or unresolvable hosts
are ``ConnectError`` (not retried), timeouts are ``ConnectTimeout``/``ReadTimeout``, a dropped connection
is ``RemoteProtocolError`` (retried).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
import yarl

#: Content-Encoding values aiohttp decodes itself (we only ever ask for these two).
_DECODED = frozenset({"gzip", "deflate", "x-gzip"})
_STALE = frozenset({b"content-encoding", b"content-length"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, limits: httpx.Limits, max_bytes: int) -> None:
        self._limits = limits
        self._max_bytes = max_bytes
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[Any, Any, Any], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry or 30.0,
            ttl_dns_cache=300,
        )
        # httpx keeps the cookies (and sends them as headers); aiohttp must not keep a second jar.
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=True)

    def _timeout(self, request: httpx.Request) -> aiohttp.ClientTimeout:
        t = request.extensions.get("timeout", {})
        key = (t.get("connect"), t.get("read"), t.get("pool"))
        found = self._timeouts.get(key)
        if found is None:
            found = self._timeouts[key] = aiohttp.ClientTimeout(sock_connect=key[0], sock_read=key[1], connect=key[2])
        return found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            self._session = self._open()
        cap = int(request.extensions.get("max_bytes", self._max_bytes))
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            async with self._session.request(
                request.method,
                yarl.URL(str(request.url), encoded=True),
                headers=headers,
                data=request.content or None,
                allow_redirects=False,
                timeout=self._timeout(request),
            ) as resp:
                body = await _read_capped(resp.content, cap)
                raw_headers: list[tuple[bytes, bytes]] = list(resp.raw_headers)
                if resp.headers.get("content-encoding", "").lower() in _DECODED:
                    raw_headers = [(k, v) for k, v in raw_headers if k.lower() not in _STALE]
                status, reason = resp.status, resp.reason
        except aiohttp.ClientConnectorError as exc:  # refused, unreachable, DNS failure
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timeout", request=request) from exc
        except TimeoutError as exc:  # aiohttp's read timeouts are TimeoutError subclasses
            raise httpx.ReadTimeout(str(exc) or "read timeout", request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise httpx.RemoteProtocolError(str(exc) or "server disconnected", request=request) from exc
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            raise httpx.UnsupportedProtocol(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:  # payload, decoding and other transport errors
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}", request=request) from exc
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if reason:
            extensions["reason_phrase"] = reason.encode("latin-1", "replace")
        return httpx.Response(status, headers=raw_headers, content=body, request=request, extensions=extensions)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _read_capped(stream: aiohttp.StreamReader, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream.iter_any():
        chunks.append(chunk)
        size += len(chunk)
        if size > cap:
            break
    return b"".join(chunks)
