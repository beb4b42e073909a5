"""Discovery from saved listing pages, feeds and sitemaps: links, dates, and problems instead of errors."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

from flows import discover
from flows.discover import Found
from flows.sources import Listing, Site
from parsers.records import RawPage

FIXTURES = Path(__file__).parent / "fixtures" / "discover"
SITE = Site(name="t", base_url="http://127.0.0.1:9/", allow=(r"/news/\d+\.html$",))


def raw(name: str, url: str = "http://127.0.0.1:9/list_1.html", status: int = 200) -> RawPage:
    return RawPage(url, (FIXTURES / name).read_bytes(), status, {"content-type": "text/html; charset=utf-8"})


def test_listing_links_with_dates_and_allow_patterns() -> None:
    listing = Listing(url="http://127.0.0.1:9/list_{page}.html", link_selector="ul.news a", date_selector=".date")
    found = discover.listing_links(raw("listing_dated.html"), listing, SITE)
    assert found.problem is None
    assert [(f.url.rsplit("/", 1)[1], f.published) for f in found.links] == [
        ("3.html", dt.date(2024, 3, 2)),
        ("2.html", dt.date(2024, 2, 20)),
        ("1.html", dt.date(2023, 12, 31)),  # fragment dropped; the other host and /about are not allowed
    ]
    assert not discover.all_older(found.links, dt.date(2024, 1, 1))
    assert discover.all_older(found.links, dt.date(2024, 4, 1))
    assert [discover.in_range(f, dt.date(2024, 1, 1), dt.date(2024, 2, 28)) for f in found.links] == [
        False, True, False,
    ]


def test_changed_layout_or_dead_listing_is_a_problem_not_an_error() -> None:
    listing = Listing(url="http://127.0.0.1:9/list_{page}.html", link_selector="ul.news a")
    changed = discover.listing_links(raw("listing_redesigned.html"), listing, SITE)
    assert changed.links == () and changed.problem is not None and "no article links" in changed.problem
    gone = discover.listing_links(raw("listing_dated.html", status=404), listing, SITE)
    assert gone.links == () and gone.problem is not None and "HTTP 404" in gone.problem


def test_rss_and_atom_feeds() -> None:
    rss = discover.feed_links(raw("feed_rss.xml", "http://127.0.0.1:9/feed.xml"), SITE)
    assert [f.url for f in rss.links] == ["http://127.0.0.1:9/news/5.html", "http://127.0.0.1:9/news/4.html"]
    assert rss.links[0].published == dt.date(2024, 3, 5)
    atom = discover.feed_links(raw("feed_atom.xml", "http://127.0.0.1:9/atom.xml"), SITE)
    assert atom.links == (Found("http://127.0.0.1:9/news/7.html", dt.date(2024, 4, 1)),)


def test_sitemap_index_nested_and_gzipped() -> None:
    index = discover.sitemap_links(raw("sitemap_index.xml", "http://127.0.0.1:9/sitemap.xml"), SITE)
    assert index.links == () and index.sitemaps == ("http://127.0.0.1:9/sitemap-2024.xml",)
    body = gzip.compress((FIXTURES / "sitemap.xml").read_bytes())
    page = discover.sitemap_links(RawPage("http://127.0.0.1:9/sitemap-2024.xml.gz", body, 200), SITE)
    assert page.links == (Found("http://127.0.0.1:9/news/8.html", dt.date(2024, 5, 6)),)


def test_malformed_xml_is_reported() -> None:
    broken = discover.feed_links(RawPage("http://127.0.0.1:9/feed.xml", b"<rss><channel><item>", 200), SITE)
    assert broken.links == () and broken.problem is not None and "not XML" in broken.problem


def test_unparseable_links_are_skipped_and_counted_never_raised() -> None:
    page = (b'<html><body><ul class="news"><li><a href="http://[::1/x">broken</a></li>'
            b'<li><a href="http://127.0.0.1:99999/news/9.html">port</a></li>'
            b'<li><a href="/news/3.html">good</a></li></ul></body></html>')
    listing = Listing(url="http://127.0.0.1:9/list_{page}.html", link_selector="ul.news a")
    found = discover.listing_links(RawPage("http://127.0.0.1:9/list_1.html", page, 200,
                                           {"content-type": "text/html; charset=utf-8"}), listing, SITE)
    assert [f.url for f in found.links] == ["http://127.0.0.1:9/news/3.html"]
    assert found.problem is not None and "skipped 2 link(s)" in found.problem and "[::1/x" in found.problem
    feed = (b'<rss><channel><item><link>http://[::1/x</link></item>'
            b'<item><link>http://127.0.0.1:9/news/4.html</link></item></channel></rss>')
    rss = discover.feed_links(RawPage("http://127.0.0.1:9/feed.xml", feed, 200), SITE)
    assert [f.url for f in rss.links] == ["http://127.0.0.1:9/news/4.html"] and rss.problem is not None
    sitemap = b'<urlset><url><loc>http://[::1/x</loc></url></urlset>'
    only_bad = discover.sitemap_links(RawPage("http://127.0.0.1:9/sitemap.xml", sitemap, 200), SITE)
    assert only_bad.links == () and only_bad.problem is not None and "not valid URLs" in only_bad.problem


def test_nested_sitemaps_stay_on_the_sites_hosts() -> None:
    site = Site(name="t", base_url="http://127.0.0.1:9/", sitemaps=("http://maps.127.0.0.1.example/index.xml",))
    index = (b'<sitemapindex><sitemap><loc>http://127.0.0.1:9/a.xml</loc></sitemap>'
             b'<sitemap><loc>http://maps.127.0.0.1.example/b.xml</loc></sitemap>'
             b'<sitemap><loc>http://169.254.169.254/latest/meta-data/</loc></sitemap>'
             b'<sitemap><loc>http://127.0.0.1:8080/c.xml</loc></sitemap></sitemapindex>')
    d = discover.sitemap_links(RawPage("http://127.0.0.1:9/sitemap.xml", index, 200), site)
    assert d.sitemaps == ("http://127.0.0.1:9/a.xml", "http://maps.127.0.0.1.example/b.xml")
    assert d.problem is not None and "skipped 2 nested sitemap(s) on other hosts" in d.problem
