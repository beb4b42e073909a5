"""``make demo``: the real flow against bundled pages served on 127.0.0.1, twice.

Pass 1 crawls a live site (the founding article with its closure banner, a normal article, a GBK page,
a dead link) and a site that has expired. Pass 2 lets the live site expire too and crawls again, to show
that a dead site's notice never overwrites what was already collected. Pass 3 runs ``recover``: a
loopback web archive (``initiatives/fake_archives.py``, answering like the Wayback Machine) holds a
capture of the founding article at its original address on the expired site, taken before the site died,
and recovery brings it back with its records and its provenance.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, text

from initiatives.fake_archives import FakeArchive, FakeCapture
from initiatives.settings import Settings
from initiatives.testsite import SiteServer
from schema.db import make_engine
from schema.report import Summary, summary

SITE_ROOT = Path(__file__).resolve().parent / "demo_site"

SOURCES = """\
[[sites]]
name = "jungong"
base_url = "{live}/"
start_urls = ["{live}/aecc-zhuxin.html"]
# the demo site is on this machine, which the crawler refuses unless told otherwise
allow_addresses = ["127.0.0.1"]

[[sites.listings]]
url = "{live}/index.html"
link_selector = "a.art"

[sites.politeness]
concurrency = 4
min_delay = 0.0

[[sites]]
name = "expired-site"
base_url = "{dead}/"
start_urls = ["{dead}/", "{dead}/news/2023/1116/zhuxin.html"]
allow_addresses = ["127.0.0.1"]

[sites.politeness]
concurrency = 2
min_delay = 0.0
"""


def render(console: Console, title: str, s: Summary) -> None:
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    for verdict, n in sorted(s.pages_by_verdict.items()):
        table.add_row(f"pages: {verdict}", str(n))
    table.add_row("articles", str(s.articles))
    table.add_row("initiative records", str(s.initiatives))
    table.add_row("units (in the registry)", str(s.units_resolved))
    table.add_row("units (unresolved)", str(s.units_unresolved))
    for host, status, notice in s.sites:
        table.add_row(f"site {host}", status + (" (closure notice seen)" if notice else ""))
    console.print(table)


#: the founding article's original address on the expired site, and when the archive captured it.
FOUNDING_PATH = "/news/2023/1116/zhuxin.html"
CAPTURED = "20231117093000"


def render_recovered(console: Console, engine: Engine) -> None:
    table = Table(title="Recovered from the web archive", show_header=True, header_style="bold")
    for column in ("url", "title", "archive", "captured", "capture URL"):
        table.add_column(column)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT url, title, recovered_from, capture_time, capture_url FROM v_articles"
            " WHERE recovered_from IS NOT NULL ORDER BY url")).tuples().all()
    for url, title, archive, captured, capture_url in rows:
        table.add_row(url, title[:30], archive, str(captured)[:19], capture_url)
    console.print(table)


def run_demo(settings: Settings, fresh: bool = True) -> tuple[Summary, Summary, Summary]:
    console = Console()
    demo_dir = (settings.data_dir / "demo").resolve()
    if fresh and demo_dir.exists():
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True, exist_ok=True)
    # Without a configured API, Prefect starts a temporary server whose state lives in PREFECT_HOME; keep
    # it beside the demo data rather than in the user's home, where another run may hold its database.
    if not os.environ.get("PREFECT_API_URL"):
        os.environ.setdefault("PREFECT_HOME", str(demo_dir / "prefect"))
    from flows.crawl import crawl
    from flows.recover import recover
    # The flow reads its settings from the environment, like a deployment would.
    os.environ["INITIATIVES_DATA_DIR"] = str(demo_dir)
    os.environ.pop("INITIATIVES_DATABASE_URL", None)
    demo_settings = Settings()
    sources = demo_dir / "sources.toml"
    expired_page = SITE_ROOT / "dead" / "expired.html"
    with (SiteServer(SITE_ROOT / "live") as live, SiteServer(SITE_ROOT / "live", expired_page) as dead,
          FakeArchive() as archive):
        sources.write_text(SOURCES.format(live=live.url, dead=dead.url), encoding="utf-8")
        console.print(f"[bold]Pass 1[/]: live site {live.url}, expired site {dead.url}")
        crawl(sources_file=str(sources))
        engine = make_engine(demo_settings.database)
        first = summary(engine)
        render(console, "After pass 1", first)
        console.print(f"[bold]Pass 2[/]: {live.url} now answers every URL with its hosting provider's notice")
        live.catch_all = expired_page
        crawl(sources_file=str(sources))
        second = summary(engine)
        render(console, "After pass 2 (articles and records kept)", second)
        founding = (SITE_ROOT / "live" / "aecc-zhuxin.html").read_bytes()
        archive.add(FakeCapture(f"{dead.url}{FOUNDING_PATH}", CAPTURED, founding))
        for name in ("WAYBACK_URL", "COMMONCRAWL_INDEX_URL", "COMMONCRAWL_DATA_URL"):
            os.environ[f"INITIATIVES_{name}"] = archive.url
        os.environ["INITIATIVES_ARCHIVE_RATE"] = "20"
        # the loopback archive is an internal address: allowed explicitly, for this port only
        allowed = os.environ.get("INITIATIVES_ALLOW_ADDRESSES", "")
        os.environ["INITIATIVES_ALLOW_ADDRESSES"] = ",".join(filter(None, (allowed, archive.url.split("//")[1])))
        console.print(f"[bold]Pass 3[/]: recover dead pages from the web archive at {archive.url}")
        recover(sources_file=str(sources))
        third = summary(engine)
        render(console, "After pass 3 (recovered from the web archive)", third)
        render_recovered(console, engine)
        engine.dispose()
    console.print(f"Database: {demo_settings.database}")
    return first, second, third
