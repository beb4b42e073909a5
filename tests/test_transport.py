"""The transport under the fetcher (httpx's own, through the address guard), against real servers on
127.0.0.1: what the crawler relies on, whoever implements it — bodies decoded and capped (a gzip bomb or an
endless body costs at most ``max_bytes``), connect/read/pool timeouts, broken answers and header line
breaks as outcomes, never exceptions."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import socket
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from aiohttp import web

from flows.addresses import AddressPolicy
from flows.fetch import Conditional, Fetcher, FetchPolicy, make_transport

POLICY = FetchPolicy(min_delay=0.0, retries=0, max_bytes=100_000, read_timeout=0.5, total_timeout=5.0,
                     obey_robots=False, allow_addresses=("127.0.0.1",))
SENT = web.AppKey("sent", list)


@pytest.fixture(autouse=True, params=["aiohttp", "httpcore"])
def client_under_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test runs on both clients the fetcher can use for http:// (the caps are the fetcher's own)."""
    global POLICY
    saved = POLICY
    POLICY = replace(saved, http_client=request.param)
    yield
    POLICY = saved
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


def fetch(url: str, policy: FetchPolicy | None = None, cond: Conditional | None = None) -> Any:
    async def go() -> Any:
        async with Fetcher(policy or POLICY) as f:
            return (await f.fetch(url, cond)).raw

    return go()


def test_refused_connection_and_read_timeout_are_outcomes() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]

    async def check(base: str, app: web.Application) -> None:
        refused = await fetch(f"http://127.0.0.1:{closed_port}/x")
        late = await fetch(f"{base}/slow")
        assert refused.status is None and refused.error is not None and refused.error.startswith("ConnectError")
        assert late.status is None and late.error == "timeout: ReadTimeout"

    serve(check)


def test_connect_timeout_is_an_outcome() -> None:
    # A listener whose backlog is full and who never accepts: the kernel drops further SYNs, so the next
    # connection attempt hangs until the connect timeout, without leaving the machine.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", port))
            fillers.append(c)
        policy = replace(POLICY, connect_timeout=0.3)
        raw = asyncio.run(fetch(f"http://127.0.0.1:{port}/x", policy))
    finally:
        for c in fillers:
            c.close()
        listener.close()
    assert raw.status is None and raw.error == "timeout: ConnectTimeout"


# --- HTTP/1.1 framing, against scripted raw servers --------------------------------
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
        r1, r2, r3 = [await fetch(f"{base}{p}") for p in ("/chunked", "/old", "/early")]
        assert (r1.status, r1.body) == (200, b"hello world")
        assert (r2.status, r2.body) == (200, b"until the end")
        assert (r3.status, r3.body) == (200, b"ok") and "link" not in r3.headers

    with_raw_server(lambda head, _: answers[path_of(head)], check)


def test_deflate_both_ways_and_a_corrupt_body() -> None:
    raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    bodies = {b"/zlib": zlib.compress(PAGE), b"/raw": raw.compress(PAGE) + raw.flush(), b"/bad": b"not deflate"}

    def script(head: bytes, _: int) -> tuple[bytes, bool]:
        body = bodies[path_of(head)]
        return b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n" % len(body) + body, False

    async def check(base: str) -> None:
        for path in ("/zlib", "/raw"):
            r = await fetch(base + path)
            assert r.body == PAGE and r.error is None and "content-encoding" not in r.headers
        bad = await fetch(f"{base}/bad")
        assert bad.body == b"" and bad.error is not None and bad.error.startswith("DecodingError")

    with_raw_server(script, check)


def test_malformed_answers_are_outcomes() -> None:
    answers = {
        b"/garbage": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"/cut": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
        b"/silent": b"",
    }

    async def check(base: str) -> None:
        for path in answers:
            r = await fetch(base + path.decode())
            assert r.status is None and r.body == b"", path
            assert r.error is not None and r.error.startswith("RemoteProtocolError"), (path, r.error)

    with_raw_server(lambda head, _: (answers[path_of(head)], True), check)


def test_line_breaks_in_headers_are_refused_before_sending() -> None:
    heads: list[bytes] = []

    def script(head: bytes, _: int) -> tuple[bytes, bool]:
        heads.append(head)
        return OK, False

    async def check(base: str) -> None:
        # an ETag echoed back in If-None-Match must not be able to start a header of its own
        r = await fetch(f"{base}/x", cond=Conditional('"v1"\r\nX-Injected: 1'))
        assert r.status is None and r.error is not None and r.error.startswith("LocalProtocolError"), r.error

    with_raw_server(script, check)
    assert not any(b"X-Injected" in h for h in heads)


def test_pool_timeout() -> None:
    policy = replace(POLICY, concurrency=1)

    async def check(base: str) -> None:
        transport = make_transport(policy, AddressPolicy(policy.allow_addresses))
        async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(2.0, pool=0.2)) as c:
            slow = asyncio.ensure_future(c.get(f"{base}/slow"))  # never answered: holds the only connection
            await asyncio.sleep(0.05)
            try:
                await c.get(f"{base}/second")
            except httpx.PoolTimeout:
                pass
            else:
                raise AssertionError("a request beyond max_connections must time out waiting for a slot")
            slow.cancel()

    never: Script = lambda head, _: (b"", False)  # noqa: E731 - read the request, answer nothing
    with_raw_server(never, check)
