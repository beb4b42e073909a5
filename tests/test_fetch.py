"""Fetching against httpx.MockTransport: retries, redirects, size limits and errors become data."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import socket
import time

import httpx

from flows.fetch import Conditional, Fetcher, FetchPolicy

#: the test servers (and mock hosts) are on loopback, refused unless allowed.
LOCAL = ("127.0.0.1",)
FAST = FetchPolicy(min_delay=0.0, backoff=0.01, retries=2, max_bytes=1000, obey_robots=False,
                   allow_addresses=LOCAL)


def run(handler: httpx.MockTransport, url: str, policy: FetchPolicy = FAST, cond: Conditional | None = None):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with Fetcher(policy, transport=handler) as f:
            return (await f.fetch(url, cond)).raw

    return asyncio.run(go())


def test_retries_503_then_succeeds() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        if len(calls) < 3:
            return httpx.Response(503, headers={"retry-after": "0"})
        return httpx.Response(200, text="<p>ok</p>")

    raw = run(httpx.MockTransport(handler), "http://127.0.0.1/a")
    assert raw.status == 200 and raw.body == b"<p>ok</p>" and len(calls) == 3


def test_redirects_are_recorded_and_loops_stopped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/a":
            return httpx.Response(301, headers={"location": "/b"})
        if request.url.path == "/b":
            return httpx.Response(200, text="done")
        return httpx.Response(302, headers={"location": "/loop"})

    raw = run(httpx.MockTransport(handler), "http://127.0.0.1/a")
    assert raw.status_chain == ((301, "http://127.0.0.1/a"), (200, "http://127.0.0.1/b"))
    assert raw.final_url == "http://127.0.0.1/b"
    loop = run(httpx.MockTransport(handler), "http://127.0.0.1/loop")
    assert loop.error == "redirect loop" and loop.body == b""


def test_oversized_and_gzip_bomb_bodies_are_refused() -> None:
    bomb = gzip.compress(b"0" * 50_000)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/bomb":
            return httpx.Response(200, content=bomb, headers={"content-encoding": "gzip"})
        return httpx.Response(200, content=b"x" * 5000)

    big = run(httpx.MockTransport(handler), "http://127.0.0.1/big")
    assert big.error is not None and "too large" in big.error and big.body == b""
    boom = run(httpx.MockTransport(handler), "http://127.0.0.1/bomb")
    assert boom.error is not None and "too large" in boom.error


def test_transport_failure_is_data_not_exception() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    raw = run(httpx.MockTransport(handler), "http://127.0.0.1/x")
    assert raw.status is None and raw.error is not None and raw.error.startswith("ConnectError")


def test_conditional_get_sends_validators() -> None:
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(304)

    cond = Conditional('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT")
    raw = run(httpx.MockTransport(handler), "http://127.0.0.1/x", cond=cond)
    assert raw.status == 304
    assert seen["if-none-match"] == '"v1"' and seen["if-modified-since"].startswith("Mon")


def test_dns_failure_is_recorded() -> None:
    async def no_such_host(host: str, port: int) -> list[str]:  # no DNS query leaves the machine
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    async def go():  # type: ignore[no-untyped-def]
        async with Fetcher(FetchPolicy(min_delay=0.0, retries=0, connect_timeout=5), resolver=no_such_host) as f:
            return (await f.fetch("http://no-such-host.invalid/a.html")).raw

    raw = asyncio.run(go())
    assert raw.status is None and raw.error is not None and "ConnectError" in raw.error


def test_host_that_never_answers_times_out() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections (kernel backlog) but never reads or answers
    port = listener.getsockname()[1]
    policy = FetchPolicy(min_delay=0.0, retries=0, read_timeout=0.3, total_timeout=2.0, obey_robots=False,
                         allow_addresses=LOCAL)

    async def go():  # type: ignore[no-untyped-def]
        async with Fetcher(policy) as f:
            return (await f.fetch(f"http://127.0.0.1:{port}/a.html")).raw

    try:
        raw = asyncio.run(go())
    finally:
        listener.close()
    assert raw.status is None and raw.error is not None and raw.error.startswith("timeout")


def test_fifty_megabyte_streamed_body_stops_at_the_limit() -> None:
    sent = []

    async def stream():  # type: ignore[no-untyped-def]
        for _ in range(50 * 1024):  # 50 MB in 1 KB chunks, no content-length
            sent.append(1)
            yield b"x" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=stream())

    raw = run(httpx.MockTransport(handler), "http://127.0.0.1/huge", FetchPolicy(
        min_delay=0.0, retries=0, max_bytes=1024 * 1024, obey_robots=False, allow_addresses=LOCAL))
    # no Content-Length was sent: the message must not claim one was declared
    assert raw.error == f"body too large: more than {1024 * 1024} bytes read" and raw.body == b""
    assert len(sent) < 2 * 1024  # stopped reading after about 1 MB, not 50


def test_retry_after_429_is_honoured() -> None:
    import time

    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"retry-after": "1"})
        return httpx.Response(200, text="ok")

    raw = run(httpx.MockTransport(handler), "http://127.0.0.1/a")
    assert raw.status == 200 and calls[1] - calls[0] >= 0.95


def test_host_limiter_hook_is_used() -> None:
    import contextlib

    acquired: list[tuple[str, float]] = []

    class Recording:
        @contextlib.asynccontextmanager
        async def acquire(self, host: str, min_delay: float):  # type: ignore[no-untyped-def]
            acquired.append((host, min_delay))
            yield

    async def go():  # type: ignore[no-untyped-def]
        transport = httpx.MockTransport(lambda r: httpx.Response(200, text="ok"))
        async with Fetcher(FAST, transport=transport, limiter=Recording()) as f:
            return await f.fetch_all(["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"])

    asyncio.run(go())
    assert acquired == [("127.0.0.1:1", 0.0), ("127.0.0.1:1", 0.0)]


def test_cookies_set_by_a_site_are_sent_back_and_repeated_headers_joined() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        if request.url.path == "/login":
            return httpx.Response(200, headers=[("Set-Cookie", "sid=abc; Path=/"), ("X-Tag", "a"), ("X-Tag", "b")])
        return httpx.Response(200, text="ok")

    async def go() -> list[dict[str, str]]:
        async with Fetcher(FAST, transport=httpx.MockTransport(handler)) as f:
            first = (await f.fetch("http://127.0.0.1/login")).raw
            second = (await f.fetch("http://127.0.0.1/page")).raw
            return [first.headers, second.headers]

    first, _ = asyncio.run(go())
    assert seen == [None, "sid=abc"]
    assert first["x-tag"] == "a, b" and first["set-cookie"].startswith("sid=abc")


def test_min_delay_spaces_request_starts_on_one_host() -> None:
    starts: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        starts.append(time.monotonic())
        return httpx.Response(200, text="ok")

    policy = FetchPolicy(min_delay=0.05, per_host=4, obey_robots=False, allow_addresses=LOCAL)

    async def go() -> None:
        async with Fetcher(policy, transport=httpx.MockTransport(handler)) as f:
            await f.fetch_all([f"http://127.0.0.1/{i}" for i in range(4)])

    asyncio.run(go())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) == 4 and min(gaps) >= 0.045


def test_unparseable_url_is_data_not_exception() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing should be requested, got {request.url}")

    for url in ("http://[::1/x", "http://127.0.0.1:99999/"):
        raw = run(httpx.MockTransport(handler), url)
        assert raw.status is None and raw.error is not None and raw.error.startswith("invalid URL"), url


def test_responses_are_freed_without_the_cyclic_gc() -> None:
    """httpx links a response and its stream both ways (encode/httpx#3733); the fetcher unlinks them once
    read, so a long crawl does not leave every response, with its request and headers, for the GC."""
    import gc
    import weakref

    seen: list[weakref.ref[httpx.Response]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<p>ok</p>")

    async def remember(response: httpx.Response) -> None:
        seen.append(weakref.ref(response))

    async def go() -> None:
        async with Fetcher(FAST, transport=httpx.MockTransport(handler)) as f:
            assert f._client is not None
            f._client.event_hooks["response"] = [remember]
            assert (await f.fetch("http://127.0.0.1/a")).raw.status == 200

    gc.collect()
    gc.disable()
    try:
        asyncio.run(go())
        assert len(seen) == 1 and seen[0]() is None, "response kept alive by a reference cycle"
    finally:
        gc.enable()
