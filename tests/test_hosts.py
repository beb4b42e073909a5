"""One host key for every module, and the 0004 migration that merges sites keyed the older way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from parsers.hosts import host_key, host_key_or_none
from schema.db import make_engine, upgrade

IDN = "中文网.中国"
IDN_ASCII = "xn--fiq228c5hs.xn--fiqs8s"


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (f"http://{IDN}/a.html", IDN_ASCII),
        (f"http://{IDN_ASCII}/a.html", IDN_ASCII),
        ("http://News.Example.COM:80/x", "news.example.com"),
        ("https://news.example.com:443/x", "news.example.com"),
        ("https://news.example.com:80/x", "news.example.com:80"),
        ("http://news.example.com:8080/", "news.example.com:8080"),
        ("saved/page.html", "local"),
    ],
)
def test_one_key_for_every_spelling(url: str, key: str) -> None:
    assert host_key(url) == key


def test_unparseable_url_has_no_key() -> None:
    with pytest.raises(httpx.InvalidURL):
        host_key("http://[::1/x")
    assert host_key_or_none("http://[::1/x") is None


def test_every_module_keys_hosts_the_same_way() -> None:
    """The loader, backfill, reparse's lookup, the signals and the fetcher agree on both spellings."""
    from flows.backfill import _site_for
    from flows.signals import site_signals
    from flows.sources import Site
    from parsers.hosts import host_key
    from schema.loader import LoadOutcome

    site = Site(name="cn", base_url=f"http://{IDN}:80/")
    for url in (f"http://{IDN}/a.html", f"http://{IDN_ASCII}:80/b.html"):
        assert host_key(url) == site.host == IDN_ASCII
        assert _site_for(url, (site,)) == "cn"
        signal = site_signals([LoadOutcome(url, "error", site_transition=("active", "unreachable"))])[0]
        assert signal.host == IDN_ASCII


def _seed_old_keys(url: str) -> None:
    """Rows as the older loader wrote them: one site twice (Unicode and IDNA), one with an explicit :80."""
    upgrade(url, "0002")
    engine = make_engine(url)
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    sites = [
        (1, IDN, "cn", None), (2, IDN_ASCII, None, f"http://{IDN_ASCII}/"),
        (3, "news.example.com:80", "news", "http://news.example.com/"), (4, "other.example.org", "o", None),
    ]
    with engine.begin() as conn:
        for sid, host, name, base in sites:
            conn.execute(
                text("INSERT INTO sites (id, host, name, base_url, status, status_since, shows_closure_notice, "
                     "health) VALUES (:id, :host, :name, :base, 'active', :t, false, '{}')"),
                {"id": sid, "host": host, "name": name, "base": base, "t": now},
            )
        pages = [(1, f"http://{IDN}/a.html", 1), (2, f"http://{IDN_ASCII}/b.html", 2),
                 (3, "http://news.example.com:80/c.html", 3), (4, "http://other.example.org/d.html", 4)]
        for pid, page_url, sid in pages:
            conn.execute(text("INSERT INTO pages (id, url, site_id, first_seen) VALUES (:id, :url, :sid, :t)"),
                         {"id": pid, "url": page_url, "sid": sid, "t": now})
        conn.execute(
            text("INSERT INTO site_status_history (site_id, from_status, to_status, at, reason) "
                 "VALUES (1, 'active', 'degraded', :t, 'old')"), {"t": now})
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def test_migration_0004_merges_sites_keyed_the_other_way(fresh_url: str) -> None:
    _seed_old_keys(fresh_url)
    upgrade(fresh_url)
    upgrade(fresh_url)  # idempotent: a second run is a no-op
    engine = make_engine(fresh_url)
    with engine.connect() as conn:
        sites = conn.execute(text("SELECT id, host, name, base_url FROM sites ORDER BY id")).tuples().all()
        pages = dict(conn.execute(text("SELECT url, site_id FROM pages")).tuples().all())
        history = conn.execute(text("SELECT site_id FROM site_status_history")).scalars().all()
    engine.dispose()
    assert sites == [
        (2, IDN_ASCII, "cn", f"http://{IDN_ASCII}/"),  # the row already keyed right survives, name filled in
        (3, "news.example.com", "news", "http://news.example.com/"),
        (4, "other.example.org", "o", None),
    ]
    assert pages[f"http://{IDN}/a.html"] == pages[f"http://{IDN_ASCII}/b.html"] == 2
    assert pages["http://news.example.com:80/c.html"] == 3
    assert history == [2]


def test_recheck_finds_the_pages_of_a_site_with_an_international_name(engine: object) -> None:
    """The loader keys the page's site as the sources do, so recheck (``state.known_urls``) finds it."""
    from flows import state
    from flows.sources import Site
    from parsers.records import PageResult, Verdict
    from schema.loader import FetchFacts, load_page

    url = f"http://{IDN}:80/news/1.html"
    at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    load_page(engine, PageResult(url, Verdict("not_found")), FetchFacts(url, at, 404, url), "crawl-1", "1")  # type: ignore[arg-type]
    site = Site(name="cn", base_url=f"http://{IDN_ASCII}/")
    assert state.known_urls(engine, [site.host]) == [url]  # type: ignore[arg-type]
    assert list(state.site_health(engine, [site.host])) == [IDN_ASCII]  # type: ignore[arg-type]
