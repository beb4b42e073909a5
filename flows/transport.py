"""The ``http://`` transport under the crawler's httpx client: HTTP/1.1 connections of our own on the event
loop, responses parsed by llhttp (``httptools``, Node.js's parser), httpx's API on top.

Chosen by measurement (docs/crawling.md): httpx's own pool costs milliseconds of CPU per request at 32 in
flight, and aiohttp's request path, the previous choice, was the largest share of what the fetch loop
spent per page once the rest was trimmed (replacing it cut that loop's CPU by 30%). A crawler needs little
of a general client: GET, one request at a time per connection, bodies read whole up to a cap. This is
that, and only that:

- connections are kept alive and pooled per host; idle ones are closed after ``keepalive_expiry``, and a
  reused connection the server had already closed is retried once on a new one;
- bodies are framed by Content-Length, chunked encoding or the end of the connection, as llhttp decides;
  ``gzip`` and ``deflate`` are decoded as they arrive (in C), and reading stops one byte past the request's
  ``max_bytes`` extension, counted after decoding, so an endless body or a gzip bomb costs at most that
  much memory (the fetcher sees the overflow and refuses the page; the connection is dropped);
- a response head over ``MAX_HEAD_BYTES`` is refused (llhttp sets no limit);
- timeouts as httpx names them: ``connect``, ``read`` (no byte for that long), ``pool`` (no free slot).

Failures are the httpx exceptions the fetcher already handles: refused, unreachable or unresolvable hosts
are ``ConnectError`` (not retried), ``ConnectTimeout``/``ReadTimeout``/``PoolTimeout``, a server that
hangs up or answers something that is not HTTP is ``RemoteProtocolError`` (retried), a body that does
not decode is ``DecodingError``, and a header with a line break in it is ``LocalProtocolError``.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from typing import Any, NamedTuple

import httptools
import httpx

#: A response head larger than this is refused: llhttp itself accepts heads of any size.
MAX_HEAD_BYTES = 64 * 1024
_STALE_WHEN_DECODED = frozenset({b"content-encoding", b"content-length"})


class _Reply(NamedTuple):
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    http10: bool
    #: whether the connection can carry another request
    keep: bool


class Http1Transport(httpx.AsyncBaseTransport):
    """``http://`` only (``https://`` is mounted on httpx's own transport, for HTTP/2); one event loop.

    ``limits.max_connections`` bounds the requests in flight (each has a connection to itself),
    ``max_keepalive_connections`` the idle connections kept for reuse."""

    def __init__(self, limits: httpx.Limits, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._expiry = limits.keepalive_expiry
        self._max_idle = limits.max_keepalive_connections
        self._slots = asyncio.Semaphore(limits.max_connections) if limits.max_connections else None
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._idle_count = 0
        self._connections: set[_Connection] = set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol(f"this transport speaks http://, not {url.scheme}://", request=request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        cap = int(request.extensions.get("max_bytes", self._max_bytes))
        head = _request_head(request) + await request.aread()
        slots = self._slots
        if slots is not None:
            if slots.locked():
                try:
                    await asyncio.wait_for(slots.acquire(), timeouts.get("pool"))
                except TimeoutError:
                    raise httpx.PoolTimeout("no free connection slot in time", request=request) from None
            else:
                await slots.acquire()
        try:
            reply = await self._exchange(request, head, cap, timeouts)
        finally:
            if slots is not None:
                slots.release()
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.0" if reply.http10 else b"HTTP/1.1"}
        if reply.reason:
            extensions["reason_phrase"] = reply.reason
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body, request=request,
                              extensions=extensions)

    async def _exchange(
        self, request: httpx.Request, head: bytes, cap: int, timeouts: dict[str, float | None]
    ) -> _Reply:
        url = request.url
        key = (url.host, url.port or 80)
        # A pooled connection first; if the server had closed it while idle, once more on a new one.
        for conn in (self._checkout(key), None):
            reused = conn is not None
            if conn is None:
                conn = await self._connect(request, key, timeouts.get("connect"))
            try:
                reply = await conn.exchange(request, head, cap, timeouts.get("read"), request.method == "HEAD")
            except _Stale:
                conn.close()
                if reused:  # nothing was processed, so asking again is safe
                    continue
                break
            except BaseException:  # an error or a cancelled caller mid-response: the connection is unusable
                conn.close()
                raise
            if reply.keep:
                self._checkin(key, conn)
            else:
                conn.close()
            return reply
        raise httpx.RemoteProtocolError("server closed the connection without answering", request=request)

    async def _connect(
        self, request: httpx.Request, key: tuple[str, int], timeout: float | None
    ) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(loop.create_connection(_Connection, key[0], key[1]), timeout)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {key[0]}:{key[1]} timed out", request=request) from None
        except (OSError, OverflowError) as exc:  # refused, unreachable, DNS failure, port out of range
            raise httpx.ConnectError(f"{key[0]}:{key[1]}: {exc}", request=request) from exc
        self._connections.add(conn)
        conn.on_lost = self._connections.discard
        return conn

    def _checkout(self, key: tuple[str, int]) -> _Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            self._idle_count -= 1
            if conn.usable(self._expiry):
                return conn
            conn.close()
        return None

    def _checkin(self, key: tuple[str, int], conn: _Connection) -> None:
        if self._max_idle is not None and self._idle_count >= self._max_idle:
            conn.close()
            return
        conn.idle_since = asyncio.get_running_loop().time()
        self._idle.setdefault(key, []).append(conn)
        self._idle_count += 1

    async def aclose(self) -> None:
        for conn in list(self._connections):
            conn.close()
        self._idle.clear()
        self._idle_count = 0


def _request_head(request: httpx.Request) -> bytes:
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    head = b"".join(parts)
    # One line per header plus the request line and the blank line: a CR or LF anywhere else would let a
    # value (an ETag echoed back in If-None-Match, say) start a header or a request of its own.
    lines = len(request.headers.raw) + 2
    if head.count(b"\n") != lines or head.count(b"\r") != lines:
        raise httpx.LocalProtocolError("line break inside the request line or a header", request=request)
    return head


class _Stale(Exception):
    """The connection closed before a single byte of the response: safe to retry on a fresh one."""


class _Connection(asyncio.Protocol):
    """One TCP connection and the response being read on it (``httptools`` calls the ``on_*`` methods)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.on_lost: Callable[[_Connection], None] | None = None
        self.idle_since = 0.0
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[_Reply] | None = None
        self._request: httpx.Request | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._parser: Any = None
        self._cap = 0
        self._head_only = False
        self._received = 0
        self._last_read = 0.0
        self._read_timeout = 0.0
        # the message being read (reset for each one, 1xx included)
        self._status = 0
        self._http10 = False
        self._reason = b""
        self._head_size = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._encoding = b""
        self._framed = False
        self._body: list[bytes] = []
        self._size = 0
        self._decoder: Any = None

    # --- used by the transport ---------------------------------------------------------------------
    def usable(self, expiry: float | None) -> bool:
        if self._closed or self.transport is None or self.transport.is_closing():
            return False
        return expiry is None or self._loop.time() - self.idle_since < expiry

    async def exchange(
        self, request: httpx.Request, head: bytes, cap: int, read_timeout: float | None, head_only: bool
    ) -> _Reply:
        assert self.transport is not None
        self._request = request
        self._cap = cap
        self._head_only = head_only
        self._parser = httptools.HttpResponseParser(self)
        self._reset_message()
        self._received = 0
        waiter: asyncio.Future[_Reply] = self._loop.create_future()
        self._waiter = waiter
        self._last_read = self._loop.time()
        if read_timeout is not None:
            self._read_timeout = read_timeout
            self._timer = self._loop.call_at(self._last_read + read_timeout, self._check_read_timeout)
        self.transport.write(head)
        try:
            return await waiter
        finally:
            self._waiter = None
            self._request = None
            self._reset_message()  # an idle connection holds no body
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def close(self) -> None:
        self._closed = True
        if self.transport is not None:
            self.transport.close()

    # --- asyncio.Protocol --------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            self.close()  # bytes nobody asked for: this connection cannot be trusted with another request
            return
        self._received += len(data)
        self._last_read = self._loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed response: {exc}", request=self._request))
            return
        if self._status == 0 and self._received > MAX_HEAD_BYTES:  # a head that never ends
            self._fail(httpx.RemoteProtocolError(f"response head over {MAX_HEAD_BYTES} bytes",
                                                 request=self._request))

    def eof_received(self) -> bool:
        self._hung_up(None)
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._hung_up(exc)
        if self.on_lost is not None:
            self.on_lost(self)

    # --- httptools callbacks -----------------------------------------------------------------------
    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > MAX_HEAD_BYTES:  # a whole head that arrived in one read (see data_received)
            self._fail(httpx.RemoteProtocolError(f"response head over {MAX_HEAD_BYTES} bytes",
                                                 request=self._request))
            return
        self._headers.append((name, value))
        lower = name.lower()
        if lower == b"content-encoding":
            self._encoding = value.strip().lower()
        elif lower == b"content-length" or lower == b"transfer-encoding":
            self._framed = True

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # 1xx (100 Continue, 103 Early Hints): an interim answer, the real one follows
            return
        self._status = status
        self._http10 = self._parser.get_http_version() == "1.0"
        if self._encoding in (b"gzip", b"x-gzip", b"deflate"):
            self._headers = [(k, v) for k, v in self._headers if k.lower() not in _STALE_WHEN_DECODED]
        else:
            self._encoding = b""
        if self._head_only:  # no body follows a HEAD answer, whatever it declares: do not reuse
            self._finish(keep=False)

    def on_body(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():
            return
        if self._encoding:
            try:
                data = self._decode(data)
            except zlib.error as exc:
                self._fail(httpx.DecodingError(f"bad {self._encoding.decode()} body: {exc}",
                                               request=self._request))
                return
        self._body.append(data)
        self._size += len(data)
        if self._size > self._cap:  # one byte past the cap is enough for the caller to refuse the page
            self._finish(keep=False)

    def on_message_complete(self) -> None:
        if self._status == 0:  # the end of a 1xx: read the next message
            self._reset_message()
            return
        if self._waiter is None or self._waiter.done():
            return
        self._finish(keep=self._parser.should_keep_alive())

    # --- internals ---------------------------------------------------------------------------------
    def _reset_message(self) -> None:
        self._status = 0
        self._http10 = False
        self._reason = b""
        self._head_size = 0
        self._headers = []
        self._encoding = b""
        self._framed = False
        self._body = []
        self._size = 0
        self._decoder = None

    def _decode(self, data: bytes) -> bytes:
        decoder = self._decoder
        if decoder is None:
            if self._encoding == b"deflate" and not _zlib_wrapped(data):
                decoder = zlib.decompressobj(-zlib.MAX_WBITS)  # raw deflate, as some servers send it
            else:
                decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # gzip or zlib header, either
            self._decoder = decoder
        # Never inflate more than the cap allows: a bomb stops here, however small the input.
        out: bytes = decoder.decompress(data, self._cap - self._size + 1)
        return out

    def _finish(self, keep: bool) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._decoder is not None and self._size <= self._cap:
            tail = self._decoder.flush()
            self._body.append(tail)
            self._size += len(tail)
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        waiter.set_result(_Reply(self._status, self._reason, self._headers, body[: self._cap + 1], self._http10, keep))
        if not keep:
            self.close()

    def _fail(self, exc: BaseException) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def _hung_up(self, exc: Exception | None) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self._received == 0:
            waiter.set_exception(_Stale())
        elif self._status and not self._framed and exc is None:
            self._finish(keep=False)  # no length, not chunked: the body ends where the connection does
        else:
            reason = f": {exc}" if exc else ""
            waiter.set_exception(httpx.RemoteProtocolError(
                f"server closed the connection mid-response{reason}", request=self._request))

    def _check_read_timeout(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        # One timer per request, moved on lazily: data_received only notes the time of the last read.
        due = self._last_read + self._read_timeout
        if self._loop.time() < due:
            self._timer = self._loop.call_at(due, self._check_read_timeout)
            return
        self._fail(httpx.ReadTimeout(f"no data for {self._read_timeout:g} s", request=self._request))


def _zlib_wrapped(data: bytes) -> bool:
    """RFC 9110's ``deflate`` is zlib-wrapped; many servers send raw deflate instead. A zlib stream starts
    with a method byte of 8 and a header that is a multiple of 31."""
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
