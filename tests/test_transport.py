"""The http:// transport under the httpx client, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import socket
import zlib
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from aiohttp import web

from flows.fetch import Fetcher, FetchPolicy
from flows.transport import MAX_HEAD_BYTES, Http1Transport

POLICY = FetchPolicy(min_delay=0.0, retries=0, max_bytes=100_000, read_timeout=0.5, total_timeout=5.0,
                     obey_robots=False)
SENT = web.AppKey("sent", list)
PAGE = "<html><body><p>中国航发东安党委构建“2+4+N”工作体系。</p></body></html>".encode()


async def page(request: web.Request) -> web.Response:
    return web.Response(body=gzip.compress(PAGE), headers={"content-encoding": "gzip", "etag": '"v1"'},
                        content_type="text/html", charset="utf-8")


async def bomb(request: web.Request) -> web.Response:
    return web.Response(body=gzip.compress(b"0" * 20_000_000), headers={"content-encoding": "gzip"})


async def endless(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    sent = request.app[SENT]
    try:
        for _ in range(50 * 1024):  # 50 MB in 1 KB writes, no content-length
            await resp.write(b"x" * 1024)
            sent.append(1)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return resp


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(3)
    return web.Response(text="late")


def serve(check: Callable[[str, web.Application], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        app = web.Application()
        app[SENT] = []
        app.router.add_get("/page", page)
        app.router.add_get("/bomb", bomb)
        app.router.add_get("/endless", endless)
        app.router.add_get("/slow", slow)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            return await check(f"http://127.0.0.1:{port}", app)
        finally:
            await runner.cleanup()

    return asyncio.run(main())


def test_gzip_body_arrives_decoded_with_its_headers() -> None:
    async def check(base: str, app: web.Application) -> None:
        async with Fetcher(POLICY) as f:
            raw = (await f.fetch(f"{base}/page")).raw
        assert raw.status == 200 and raw.error is None and raw.body == PAGE
        assert raw.headers["etag"] == '"v1"' and "content-encoding" not in raw.headers
        assert raw.headers["content-type"].startswith("text/html")

    serve(check)


def test_gzip_bomb_and_endless_body_stop_at_the_limit() -> None:
    async def check(base: str, app: web.Application) -> None:
        async with Fetcher(POLICY) as f:
            boom = (await f.fetch(f"{base}/bomb")).raw
            huge = (await f.fetch(f"{base}/endless")).raw
        assert boom.error is not None and "too large" in boom.error and boom.body == b""
        assert huge.error is not None and "too large" in huge.error and huge.body == b""
        await asyncio.sleep(0.2)
        assert len(app[SENT]) < 5 * 1024  # the server was cut off after a few MB, not 50

    serve(check)


def test_refused_connection_and_read_timeout_become_httpx_errors() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]

    async def check(base: str, app: web.Application) -> None:
        transport = Http1Transport(httpx.Limits(max_connections=4), 1000)
        async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(0.3)) as client:
            try:
                await client.get(f"http://127.0.0.1:{closed_port}/x")
            except httpx.ConnectError:
                pass
            else:
                raise AssertionError("a refused connection must raise ConnectError")
            try:
                await client.get(f"{base}/slow")
            except httpx.ReadTimeout:
                pass
            else:
                raise AssertionError("a silent server must raise ReadTimeout")
        async with Fetcher(POLICY) as f:
            raw = (await f.fetch(f"http://127.0.0.1:{closed_port}/x")).raw
        assert raw.status is None and raw.error is not None and raw.error.startswith("ConnectError")

    serve(check)


# --- HTTP/1.1 framing and connection reuse, against scripted raw servers --------------------------------
#: what a scripted server does with a request head (and the request's number on its connection, from 0):
#: the bytes to answer and whether to hang up after them, or None to hang up without answering.
Script = Callable[[bytes, int], "tuple[bytes, bool] | None"]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def with_raw_server(script: Script, check: Callable[[str], Awaitable[Any]]) -> int:
    """Serve ``script`` on 127.0.0.1 while ``check(base_url)`` runs; returns the connections accepted."""
    accepted: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(1)
        for number in itertools.count():
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            answer = script(head, number)
            if answer is None:
                break
            writer.write(answer[0])
            await writer.drain()
            if answer[1]:
                break
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        try:
            await check(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        finally:
            server.close()

    asyncio.run(main())
    return len(accepted)


def client(max_connections: int = 4, timeout: float = 2.0, pool: float | None = None) -> httpx.AsyncClient:
    transport = Http1Transport(httpx.Limits(max_connections=max_connections, keepalive_expiry=30.0), 100_000)
    return httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(timeout, pool=pool))


def path_of(head: bytes) -> bytes:
    return head.split()[1]


def test_chunked_close_delimited_and_interim_responses() -> None:
    answers = {
        b"/chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                      False),
        # HTTP/1.0 style: no length, the body ends where the connection does
        b"/old": (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", True),
        b"/early": (b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + OK, False),
    }

    async def check(base: str) -> None:
        async with client() as c:
            r1, r2, r3 = await c.get(f"{base}/chunked"), await c.get(f"{base}/old"), await c.get(f"{base}/early")
        assert (r1.status_code, r1.content) == (200, b"hello world")
        assert (r2.status_code, r2.content, r2.http_version) == (200, b"until the end", "HTTP/1.0")
        assert (r3.status_code, r3.content) == (200, b"ok") and "link" not in r3.headers

    with_raw_server(lambda head, _: answers[path_of(head)], check)


def test_keep_alive_reuses_a_connection_and_retries_a_stale_one_once() -> None:
    served: list[bytes] = []

    def script(head: bytes, _: int) -> tuple[bytes, bool] | None:
        served.append(path_of(head))
        if path_of(head) == b"/3" and served.count(b"/3") == 1:
            return None  # hang up on the fourth request unanswered, as a server whose idle timeout just ran out
        return OK, False

    async def check(base: str) -> None:
        async with client() as c:
            assert [(await c.get(f"{base}/{i}")).content for i in range(5)] == [b"ok"] * 5

    connections = with_raw_server(script, check)
    assert connections == 2  # /0-/3 on the first, /3 again and /4 on the second
    assert served == [b"/0", b"/1", b"/2", b"/3", b"/3", b"/4"]


def test_the_retry_after_a_stale_connection_opens_a_new_one() -> None:
    async def check(base: str) -> None:
        async with client() as c:
            await asyncio.gather(c.get(f"{base}/a"), c.get(f"{base}/b"))  # two connections, both kept
            assert (await c.get(f"{base}/c")).content == b"ok"

    # Both kept connections are dead by the time /c is sent; retrying on the other one would fail too.
    connections = with_raw_server(lambda head, number: (OK, False) if number == 0 else None, check)
    assert connections == 3


def test_unasked_bytes_and_connection_close_end_reuse() -> None:
    close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    answers = [(OK + b"GARBAGE", False), (close, False), (OK, False)]

    async def check(base: str) -> None:
        async with client() as c:
            assert [(await c.get(f"{base}/{i}")).content for i in range(3)] == [b"ok"] * 3

    assert with_raw_server(lambda head, _: answers[int(path_of(head)[1:])], check) == 3


def test_deflate_both_ways_and_a_corrupt_body() -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    bodies = {b"/zlib": zlib.compress(PAGE), b"/raw": raw.compress(PAGE) + raw.flush(), b"/bad": b"not deflate"}

    def script(head: bytes, _: int) -> tuple[bytes, bool]:
        body = bodies[path_of(head)]
        return b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n" % len(body) + body, False

    async def check(base: str) -> None:
        async with client() as c:
            for path in ("/zlib", "/raw"):
                r = await c.get(base + path)
                assert r.content == PAGE and "content-encoding" not in r.headers
            try:
                await c.get(f"{base}/bad")
            except httpx.DecodingError as exc:
                assert "deflate" in str(exc)
            else:
                raise AssertionError("a body that does not inflate must raise DecodingError")

    with_raw_server(script, check)


def test_malformed_answers_are_protocol_errors() -> None:
    answers = {
        b"/garbage": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"/huge-head": b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * MAX_HEAD_BYTES + b"\r\nContent-Length: 0\r\n\r\n",
        b"/endless-head": b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * (2 * MAX_HEAD_BYTES),
        b"/cut": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
        b"/silent": b"",
    }
    expected = {b"/garbage": "malformed response", b"/huge-head": "response head over",
                b"/endless-head": "response head over", b"/cut": "mid-response", b"/silent": "without answering"}

    async def check(base: str) -> None:
        async with client() as c:
            for path, words in expected.items():
                try:
                    await c.get(base + path.decode())
                except httpx.RemoteProtocolError as exc:
                    assert words in str(exc), (path, str(exc))
                else:
                    raise AssertionError(f"{path!r} must raise RemoteProtocolError")

    # /endless-head stays open: only the size check can end it (the read timeout is 2 s, the test 1 s)
    with_raw_server(lambda head, _: (answers[path_of(head)], path_of(head) != b"/endless-head"), check)


def test_head_does_not_wait_for_the_declared_body() -> None:
    async def check(base: str) -> None:
        async with client(timeout=1.0) as c:
            r = await c.head(f"{base}/x")
            again = await c.get(f"{base}/y")
        assert r.status_code == 200 and r.content == b"" and r.headers["content-length"] == "5000"
        assert again.content == b"ok"

    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"
    # the HEAD answer's connection is not reused: the GET gets a connection of its own
    assert with_raw_server(lambda h, _: (head if h.startswith(b"HEAD") else OK, False), check) == 2


def test_line_breaks_in_headers_are_refused_before_sending() -> None:
    transport = Http1Transport(httpx.Limits(max_connections=1), 1000)
    request = httpx.Request("GET", "http://127.0.0.1:9/", headers={"if-none-match": '"v1"\r\nX-Injected: 1'})
    try:
        asyncio.run(transport.handle_async_request(request))
    except httpx.LocalProtocolError as exc:
        assert "line break" in str(exc)
    else:
        raise AssertionError("a header with CR LF must be refused")


def test_pool_timeout_and_unsupported_scheme() -> None:
    async def check(base: str) -> None:
        async with client(max_connections=1, pool=0.2) as c:
            slow = asyncio.ensure_future(c.get(f"{base}/slow"))  # never answered: holds the only slot
            await asyncio.sleep(0.05)
            try:
                await c.get(f"{base}/second")
            except httpx.PoolTimeout:
                pass
            else:
                raise AssertionError("a request beyond max_connections must time out waiting for a slot")
            slow.cancel()
        try:
            await Http1Transport(httpx.Limits(), 1000).handle_async_request(httpx.Request("GET", "ftp://127.0.0.1/"))
        except httpx.UnsupportedProtocol:
            pass
        else:
            raise AssertionError("only http:// is spoken")

    never: Script = lambda head, _: (b"", False)  # noqa: E731 - read the request, answer nothing
    with_raw_server(never, check)
