"""The address policy on every hop: internal addresses refused in every spelling, redirects kept on the
site's hosts, an allow-list that opens only what it names, and a trap listener that is never reached."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from flows import batches
from flows.addresses import REFUSED_ADDRESS, AddressPolicy, literal_address, parse_allow, refusal
from flows.fetch import OFF_SITE_REDIRECT, Fetcher, FetchPolicy, HostRule, make_transport
from flows.sources import Site
from parsers.records import RawPage

PUBLIC = "93.184.216.34"  # a public address for names in mock tests: nothing ever connects to it
INTERNAL_URLS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.1:8080/admin",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://2852039166/",  # decimal 169.254.169.254
    "http://0xa9fea9fe/",  # hex
    "http://169.254.43518/",  # short form
    "http://0x7f.0.0.1/",
    "http://127.1/",
    "http://169.254.169.254./",  # trailing dot
    "http://[::1]/",
    "http://0.0.0.0/",
    "http://224.0.0.1/",
    "http://[fe80::1]/",
    "http://100.64.0.1/",  # shared (CGNAT) space
    "http://192.168.1.1/",
    "http://[fd00::1]/",
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 around 169.254.169.254
    "http://[64:ff9b::a9fe:a9fe]/",  # NAT64 around 169.254.169.254
    "http://240.0.0.1/",  # reserved
]


def table(answers: dict[str, Sequence[str]]) -> Callable[[str, int], object]:
    """A resolver answering from a table (no DNS query leaves the machine); unknown names fail."""

    async def resolve(host: str, port: int) -> Sequence[str]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    return resolve


def mock_fetch(urls: list[str], handler: Callable[[httpx.Request], httpx.Response], policy: FetchPolicy,
               answers: dict[str, Sequence[str]] | None = None) -> list[RawPage]:
    async def go() -> list[RawPage]:
        resolver = table(answers or {})
        async with Fetcher(policy, transport=httpx.MockTransport(handler), resolver=resolver) as f:  # type: ignore[arg-type]
            return [x.raw for x in await f.fetch_all(urls)]

    return asyncio.run(go())


FAST = FetchPolicy(min_delay=0.0, retries=0, obey_robots=False)


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_internal_addresses_are_refused_in_every_spelling(url: str) -> None:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        return httpx.Response(200, text="secret")

    raw = mock_fetch([url], handler, FAST)[0]
    assert requested == []
    assert raw.status is None and raw.body == b""
    assert raw.error is not None and raw.error.startswith(REFUSED_ADDRESS), raw.error


def test_the_refusal_names_the_address_and_why() -> None:
    assert refusal(literal_address("2852039166")) == "link-local"  # type: ignore[arg-type]
    assert refusal(literal_address("::ffff:10.0.0.1")) == "private"  # type: ignore[arg-type]
    assert refusal(literal_address("127.0.0.1")) == "loopback"  # type: ignore[arg-type]
    assert refusal(literal_address(PUBLIC)) is None  # type: ignore[arg-type]
    assert literal_address("www.example.com") is None
    raw = mock_fetch(["http://10.0.0.1:8080/admin"], lambda r: httpx.Response(200), FAST)[0]
    assert raw.error == "refused address 10.0.0.1 (private)"


def test_names_are_judged_by_what_they_resolve_to() -> None:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(request.url.host)
        return httpx.Response(200, text="<p>ok</p>")

    answers = {"news.example": [PUBLIC], "metadata.example": ["169.254.169.254"],
               "mixed.example": [PUBLIC, "10.1.2.3"]}
    ok, meta, mixed, gone = mock_fetch(
        ["http://news.example/a", "http://metadata.example/", "http://mixed.example/", "http://gone.example/"],
        handler, FAST, answers)
    assert ok.status == 200 and requested == ["news.example"]
    assert meta.error == "refused address 169.254.169.254 (link-local)"
    assert mixed.error == "refused address 10.1.2.3 (private)"  # one internal answer refuses the name
    assert gone.error is not None and gone.error.startswith("ConnectError")


def test_redirects_are_checked_hop_by_hop_and_stay_on_the_site() -> None:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        path = request.url.path
        if request.url.host == "news.example" and path == "/meta":
            return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data/"})
        if request.url.host == "news.example" and path == "/cdn":
            return httpx.Response(302, headers={"location": "http://cdn.news.example/x"})
        if request.url.host == "news.example" and path == "/away":
            return httpx.Response(301, headers={"location": "http://other.example/article.html"})
        if request.url.host == "news.example" and path == "/port":
            return httpx.Response(301, headers={"location": "http://news.example:8080/a"})
        if request.url.host == "news.example" and path == "/mirror":
            return httpx.Response(301, headers={"location": "http://www.news.example/a"})
        return httpx.Response(200, text="<p>page</p>")

    answers = {h: [PUBLIC] for h in ("news.example", "other.example", "www.news.example")}
    answers["cdn.news.example"] = ["10.0.0.5"]
    policy = FetchPolicy(min_delay=0.0, retries=0, obey_robots=False, host_rules=tuple(
        HostRule(h, 2, 0.0, site="news") for h in ("news.example", "www.news.example", "cdn.news.example")))
    meta, cdn, away, port, mirror = mock_fetch(
        ["http://news.example/meta", "http://news.example/cdn", "http://news.example/away",
         "http://news.example/port", "http://news.example/mirror"], handler, policy, answers)
    # another host: not followed, and not even resolved
    assert meta.error == f"{OFF_SITE_REDIRECT}: http://169.254.169.254/latest/meta-data/"
    # the site's own host, resolving to an internal address: refused
    assert cdn.error == "refused address 10.0.0.5 (private)" and cdn.status_chain == ((302, "http://news.example/cdn"),)
    assert away.error == f"{OFF_SITE_REDIRECT}: http://other.example/article.html"
    assert away.body == b"" and away.status == 301 and away.final_url == "http://other.example/article.html"
    assert away.status_chain == ((301, "http://news.example/away"),)
    assert port.error == f"{OFF_SITE_REDIRECT}: http://news.example:8080/a"
    # a host the same site names is the same site
    assert mirror.error is None and mirror.status == 200 and mirror.final_url == "http://www.news.example/a"
    assert not any(x in u for u in requested for x in ("169.254", "other.example", ":8080", "cdn."))


def test_robots_txt_redirect_to_another_host_is_not_followed() -> None:
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        if request.url.path == "/robots.txt":
            return httpx.Response(301, headers={"location": "http://10.0.0.1/robots.txt"})
        return httpx.Response(200, text="<p>page</p>")

    policy = FetchPolicy(min_delay=0.0, retries=0)
    raw = mock_fetch(["http://news.example/a"], handler, policy, {"news.example": [PUBLIC]})[0]
    # robots.txt elsewhere counts as unavailable (RFC 9309: like a 4xx, no rules); it is never requested
    assert requested == ["http://news.example/robots.txt", "http://news.example/a"]
    assert raw.status == 200 and raw.error is None


def test_allow_entries_open_what_they_name_and_nothing_else() -> None:
    policy = AddressPolicy(["10.1.0.0/16", "127.0.0.1:8080", "[::1]:8443", "intranet.example"])
    assert policy.refused("10.1.2.3", "10.1.2.3", 80) is None
    assert policy.refused("10.2.0.1", "10.2.0.1", 80) is not None
    assert policy.refused("127.0.0.1", "127.0.0.1", 8080) is None
    assert policy.refused("127.0.0.1", "127.0.0.1", 8081) is not None
    assert policy.refused("::1", "::1", 8443) is None and policy.refused("::1", "::1", 80) is not None
    assert policy.refused("intranet.example", "10.9.9.9", 443) is None
    assert policy.refused("other.example", "10.9.9.9", 443) is not None
    for bad in ("", "10.0.0.0/99", "[::1", "127.0.0.1:99999", "a b"):
        with pytest.raises(ValueError):
            parse_allow(bad)


def test_settings_and_sources_carry_the_allow_list_per_site(monkeypatch: pytest.MonkeyPatch) -> None:
    from initiatives.settings import Settings

    monkeypatch.setenv("INITIATIVES_ALLOW_ADDRESSES", "127.0.0.1:8080, 10.0.0.0/8")
    settings = Settings()
    assert settings.allow_addresses == ("127.0.0.1:8080", "10.0.0.0/8")
    monkeypatch.setenv("INITIATIVES_ALLOW_ADDRESSES", "10.0.0.0/99")
    with pytest.raises(ValueError, match=r"10\.0\.0\.0/99"):
        Settings()
    site = Site(name="intra", base_url="http://news.example/", feeds=("http://feeds.news.example/rss",),
                allow_addresses=("10.0.0.0/8",))
    policy = batches.policy_for([site], "ua", **settings.model_copy(update={"allow_addresses": ()}).fetch_options())
    rules = {r.host: r for r in policy.host_rules}
    assert set(rules) == {"news.example", "feeds.news.example"}
    assert all(r.site == "intra" and r.allow == ("10.0.0.0/8",) for r in rules.values())


# --- a real loopback server and a trap listener -------------------------------------------------------------
class Trap:
    """A listener that counts the connections it accepts (it must see none)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join(timeout=5)
        self.sock.close()


@contextmanager
def site_redirecting_to(trap_url: str, host: str = "127.0.0.1") -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path == "/robots.txt":
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            if self.path.startswith("/to-trap"):
                self.send_response(302)
                self.send_header("location", trap_url + self.path)
                self.send_header("content-length", "0")
                self.end_headers()
                return
            body = b"<html><body><p>a page</p></body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def real_fetch(urls: list[str], policy: FetchPolicy, resolver: Callable[[str, int], object] | None = None
               ) -> list[RawPage]:
    async def go() -> list[RawPage]:
        async with Fetcher(policy, resolver=resolver) as f:  # type: ignore[arg-type]
            return [x.raw for x in await f.fetch_all(urls)]

    return asyncio.run(go())


@pytest.mark.parametrize("client", ["aiohttp", "httpcore"])
def test_trap_on_a_second_loopback_port_sees_no_connection(client: str) -> None:
    trap = Trap()
    trap_url = f"http://127.0.0.1:{trap.port}"
    try:
        with site_redirecting_to(trap_url) as (base, hits):
            port = base.rsplit(":", 1)[1]
            policy = FetchPolicy(min_delay=0.0, retries=0, allow_addresses=(f"127.0.0.1:{port}",),
                                 http_client=client)  # type: ignore[arg-type]
            page, redirected, direct, spelled = real_fetch(
                [f"{base}/a.html", f"{base}/to-trap/x", f"{trap_url}/y", f"http://2130706433:{trap.port}/z"], policy)
    finally:
        trap.close()
    assert page.status == 200 and page.error is None
    assert redirected.status == 302 and redirected.error is not None and redirected.error.startswith(
        OFF_SITE_REDIRECT)
    assert direct.error == "refused address 127.0.0.1 (loopback)"
    assert spelled.error == "refused address 127.0.0.1 (loopback)"
    assert "/to-trap/x" in hits
    assert trap.connections == 0


@pytest.mark.parametrize("client", ["aiohttp", "httpcore"])
def test_dns_rebinding_cannot_reach_the_address_it_switches_to(client: str) -> None:
    """A name that answers an allowed address when checked and an internal one next time: the connection
    goes to the address that was checked (same cache), and with no cache the connect-time check refuses."""
    with site_redirecting_to("http://unused") as (base, hits):
        port = int(base.rsplit(":", 1)[1])
        try:
            trap = Trap("127.0.0.2", port)  # same port, another loopback address
        except OSError:
            pytest.skip("127.0.0.2 cannot be bound here")
        answers = iter([["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"], ["127.0.0.2"]])

        async def rebinding(host: str, p: int) -> Sequence[str]:
            return next(answers)

        try:
            cached = FetchPolicy(min_delay=0.0, retries=0, obey_robots=False, allow_addresses=("127.0.0.1",),
                                 http_client=client)  # type: ignore[arg-type]
            first = real_fetch([f"http://rebind.test:{port}/a.html"], cached, rebinding)[0]
            uncached = replace(cached, dns_ttl=0.0)
            answers = iter([["127.0.0.1"], ["127.0.0.2"]])
            second = real_fetch([f"http://rebind.test:{port}/b.html"], uncached, rebinding)[0]
        finally:
            trap.close()
    assert first.status == 200 and hits.count("/a.html") == 1
    assert second.status is None and second.error == "refused address 127.0.0.2 (loopback)"
    assert trap.connections == 0


@pytest.mark.parametrize("client", ["aiohttp", "httpcore"])
def test_the_transport_alone_refuses_too(client: str) -> None:
    """Defence in depth: the connection layer under the fetcher refuses on its own, literal IPs and names."""
    trap = Trap()

    async def inward(host: str, port: int) -> Sequence[str]:
        return ["127.0.0.1"]

    async def go() -> list[str]:
        policy = FetchPolicy(http_client=client)  # type: ignore[arg-type]
        transport = make_transport(policy, AddressPolicy(resolver=inward))
        errors = []
        async with httpx.AsyncClient(transport=transport) as c:
            for url in (f"http://127.0.0.1:{trap.port}/", f"http://inward.example:{trap.port}/"):
                with pytest.raises(httpx.ConnectError) as refused:
                    await c.get(url)
                errors.append(str(refused.value))
        return errors

    try:
        errors = asyncio.run(go())
    finally:
        trap.close()
    assert errors == ["refused address 127.0.0.1 (loopback)"] * 2
    assert trap.connections == 0
