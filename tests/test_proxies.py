"""Proxies: global, per site and from the environment (only when asked), through a plain HTTP forward
proxy of our own on 127.0.0.1; SOCKS configuration parsed; passwords masked in every message."""

from __future__ import annotations

import asyncio
import base64
import http.client
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpcore
import httpx
import pytest

from flows import batches
from flows.addresses import AddressPolicy
from flows.fetch import Fetcher, FetchPolicy, HostRule, check_proxy, make_transport, masked
from flows.sources import ConfigError, Site, load_sources
from initiatives.testsite import SiteServer
from parsers.records import RawPage
from tests.conftest import DEMO_SITE

SECRET = "s3cr3t-pw"


class ForwardProxy:
    """A plain HTTP forward proxy (absolute-URI requests, no CONNECT) that records what it relays."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []  # (absolute URL asked for, Proxy-Authorization)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.seen.append((self.path, self.headers.get("proxy-authorization")))
                target = urlsplit(self.path)
                conn = http.client.HTTPConnection(target.hostname or "", target.port or 80, timeout=5)
                try:
                    conn.request("GET", target.path or "/", headers={"host": target.netloc})
                    answer = conn.getresponse()
                    body = answer.read()
                finally:
                    conn.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.send_header("via", "1.1 test-proxy")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, auth: str = "") -> str:
        return f"http://{auth}127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def proxy_and_sites() -> Iterator[tuple[ForwardProxy, str, str]]:
    proxy = ForwardProxy()
    try:
        with SiteServer(DEMO_SITE) as a, SiteServer(DEMO_SITE) as b:
            yield proxy, a.url, b.url
    finally:
        proxy.close()


def fetch(urls: list[str], policy: FetchPolicy) -> list[RawPage]:
    async def go() -> list[RawPage]:
        async with Fetcher(policy) as f:
            return [x.raw for x in await f.fetch_all(urls)]

    return asyncio.run(go())


BASE = FetchPolicy(min_delay=0.0, retries=0, obey_robots=False, allow_addresses=("127.0.0.1",))


def test_global_proxy_relays_every_request_with_its_credentials() -> None:
    with proxy_and_sites() as (proxy, a, b):
        from dataclasses import replace

        policy = replace(BASE, proxy=proxy.url(f"crawler:{SECRET}@"))
        page_a, page_b = fetch([f"{a}/index.html", f"{b}/index.html"], policy)
    assert page_a.status == 200 and page_b.status == 200 and page_a.headers.get("via") == "1.1 test-proxy"
    assert sorted(u for u, _ in proxy.seen) == sorted([f"{a}/index.html", f"{b}/index.html"])
    expected = "Basic " + base64.b64encode(f"crawler:{SECRET}".encode()).decode()
    assert all(auth == expected for _, auth in proxy.seen)


def test_per_site_proxy_only_for_that_sites_hosts() -> None:
    with proxy_and_sites() as (proxy, a, b):
        from dataclasses import replace

        host_a = urlsplit(a).netloc
        policy = replace(BASE, host_rules=(HostRule(host_a, 4, 0.0, site="a", proxy=proxy.url()),))
        page_a, page_b = fetch([f"{a}/index.html", f"{b}/index.html"], policy)
    assert page_a.status == 200 and page_b.status == 200
    assert [u for u, _ in proxy.seen] == [f"{a}/index.html"]  # b went directly
    assert "via" not in page_b.headers


def test_environment_proxies_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    with proxy_and_sites() as (proxy, a, _):
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        (ignored,) = fetch([f"{a}/index.html"], BASE)
        assert ignored.status == 200 and proxy.seen == []
        (used,) = fetch([f"{a}/index.html"], replace(BASE, trust_env=True))
        assert used.status == 200 and [u for u, _ in proxy.seen] == [f"{a}/index.html"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        (bypassed,) = fetch([f"{a}/aecc-zhuxin.html"], replace(BASE, trust_env=True))
        assert bypassed.status == 200 and len(proxy.seen) == 1


def test_the_address_policy_still_judges_proxied_targets() -> None:
    """A proxy is no way around the policy: the target is checked here before the proxy is asked."""
    from dataclasses import replace

    with proxy_and_sites() as (proxy, a, _):
        policy = replace(BASE, proxy=proxy.url(), allow_addresses=())
        (raw,) = fetch([f"{a}/index.html"], policy)
    assert raw.error == "refused address 127.0.0.1 (loopback)" and proxy.seen == []


def test_passwords_are_masked_in_every_message(tmp_path: Path) -> None:
    from dataclasses import replace

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    with SiteServer(DEMO_SITE) as site:
        (raw,) = fetch([f"{site.url}/index.html"], replace(BASE, proxy=f"http://crawler:{SECRET}@127.0.0.1:{dead}"))
    assert raw.status is None and raw.error is not None and SECRET not in raw.error
    assert masked(f"socks5://u:{SECRET}@proxy.example:1080") == "socks5://u:***@proxy.example:1080"
    with pytest.raises(ValueError) as bad:
        check_proxy(f"ftp://u:{SECRET}@proxy.example:21")
    assert SECRET not in str(bad.value) and "***" in str(bad.value)
    policy = replace(BASE, proxy=f"http://u:{SECRET}@proxy.example:3128",
                     host_rules=(HostRule("a.example", 1, 0.0, proxy=f"http://u:{SECRET}@p.example:1"),))
    assert SECRET not in repr(policy)
    site = Site(name="s", base_url="http://a.example/", proxy=f"socks5://u:{SECRET}@127.0.0.1:1080")  # type: ignore[arg-type]
    assert SECRET not in repr(site)
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[sites]]\nname = "s"\nbase_url = "http://a.example/"\nproxy = "gopher://u:{SECRET}@h:70"\n',
                       encoding="utf-8")
    with pytest.raises(ConfigError) as config:
        load_sources(sources)
    assert SECRET not in str(config.value) and "proxy" in str(config.value)


def test_socks_proxies_are_configured_per_site_and_globally() -> None:
    site = Site(name="s", base_url="http://a.example/", proxy="socks5h://u:pw@127.0.0.1:1080")  # type: ignore[arg-type]
    policy = batches.policy_for([site], "ua", proxy="socks5://127.0.0.1:1081")
    assert {r.host: r.proxy for r in policy.host_rules} == {"a.example": "socks5h://u:pw@127.0.0.1:1080"}
    router = make_transport(policy, AddressPolicy())
    per_site = router.pick(httpx.URL("http://a.example/x"))
    other = router.pick(httpx.URL("https://b.example/x"))
    assert isinstance(per_site, httpx.AsyncHTTPTransport) and isinstance(other, httpx.AsyncHTTPTransport)
    assert isinstance(per_site._pool, httpcore.AsyncSOCKSProxy) and isinstance(other._pool, httpcore.AsyncSOCKSProxy)
    assert per_site is not other


def test_settings_proxy_is_secret_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from initiatives.settings import Settings

    monkeypatch.setenv("INITIATIVES_PROXY", f"http://u:{SECRET}@proxy.example:3128")
    settings = Settings()
    assert SECRET not in repr(settings)
    assert settings.fetch_options()["proxy"] == f"http://u:{SECRET}@proxy.example:3128"
    assert settings.fetch_options()["trust_env"] is False
    monkeypatch.setenv("INITIATIVES_PROXY", f"ftp://u:{SECRET}@proxy.example:21")
    with pytest.raises(ValidationError) as bad:
        Settings()
    assert SECRET not in str(bad.value)
