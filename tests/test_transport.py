"""The aiohttp transport under the httpx client, against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from aiohttp import web

from flows.fetch import Fetcher, FetchPolicy
from flows.transport import AiohttpTransport

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
        transport = AiohttpTransport(httpx.Limits(max_connections=4), 1000)
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
