"""robots.txt: obeyed, read once per host, missing means allowed, unreachable means refused."""

from __future__ import annotations

import asyncio

import httpx

from flows.fetch import ROBOTS_FORBIDS, Fetcher, FetchPolicy
from parsers.records import RawPage

LOCAL = ("127.0.0.1",)
POLICY = FetchPolicy(min_delay=0.0, backoff=0.01, retries=1, user_agent="initiatives-crawler/0.1",
                     allow_addresses=LOCAL)


def fetch_all(handler: httpx.MockTransport, urls: list[str]) -> list[RawPage]:
    async def go() -> list[RawPage]:
        async with Fetcher(POLICY, transport=handler) as f:
            return [x.raw for x in await f.fetch_all(urls)]

    return asyncio.run(go())


def test_forbidden_path_is_not_requested_and_robots_read_once() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/robots.txt":
            return httpx.Response(200, text="User-agent: *\nDisallow: /private/\n")
        return httpx.Response(200, text="<p>ok</p>")

    urls = ["http://127.0.0.1/private/a.html", "http://127.0.0.1/news/1.html", "http://127.0.0.1/news/2.html"]
    forbidden, one, two = fetch_all(httpx.MockTransport(handler), urls)
    assert forbidden.error == ROBOTS_FORBIDS and forbidden.status is None
    assert one.status == 200 and two.status == 200
    assert seen.count("/robots.txt") == 1 and "/private/a.html" not in seen


def test_missing_robots_allows_everything_and_server_error_refuses() -> None:
    def missing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404 if request.url.path == "/robots.txt" else 200, text="x")

    assert fetch_all(httpx.MockTransport(missing), ["http://127.0.0.1/a"])[0].status == 200

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503 if request.url.path == "/robots.txt" else 200, text="x")

    page = fetch_all(httpx.MockTransport(broken), ["http://127.0.0.1/a"])[0]
    assert page.status is None and page.error is not None and "robots.txt unavailable (HTTP 503)" in page.error


def test_agent_specific_rules_and_redirect_target_checked() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(200, text="User-agent: initiatives-crawler\nDisallow: /mine/\n\nUser-agent: *\n")
        if request.url.path == "/old":
            return httpx.Response(301, headers={"location": "/mine/new"})
        return httpx.Response(200, text="x")

    page = fetch_all(httpx.MockTransport(handler), ["http://127.0.0.1/old"])[0]
    assert page.error == ROBOTS_FORBIDS and page.status_chain == ((301, "http://127.0.0.1/old"),)


def test_rfc9309_longest_match_and_wildcards() -> None:
    """RFC 9309: the most specific rule wins whatever its order, ``*`` and ``$`` are patterns.
    (``urllib.robotparser`` takes the first match and reads ``*`` literally: it would fetch the PDF and
    refuse the public page.)"""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/robots.txt":
            rules = "User-agent: *\nDisallow: /private/\nAllow: /private/public/\nDisallow: /*.pdf$\n"
            return httpx.Response(200, text=rules)
        return httpx.Response(200, text="x")

    urls = ["http://127.0.0.1/private/public/a.html", "http://127.0.0.1/files/report.pdf",
            "http://127.0.0.1/files/report.pdf.html", "http://127.0.0.1/private/b.html"]
    public, pdf, html, private = fetch_all(httpx.MockTransport(handler), urls)
    assert public.status == 200 and html.status == 200
    assert pdf.error == ROBOTS_FORBIDS and private.error == ROBOTS_FORBIDS
    assert "/files/report.pdf" not in seen and "/private/b.html" not in seen
