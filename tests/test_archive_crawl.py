"""A real crawl's WARC files: read back by warcio with 0 errors, indexed by ``warcio index``, checked by
``warcio check``, and re-parsed into exactly the records the crawl loaded."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from benchmarks.crawl_site import Background
from flows import batches, state
from flows.archive import RawArchive
from flows.archive_verdicts import record_verdicts
from flows.fetch import FetchPolicy
from flows.pages import Target
from flows.reparse import reparse_batch
from flows.session import FetchSession
from flows.sources import Site
from parsers.pipeline import PARSER_VERSION
from schema import models as m
from schema.db import make_engine, upgrade

pytestmark = pytest.mark.slow


def crawl(url: str, n: int, raw: Path, engine: Engine | None) -> int:
    """Fetch (and, given an engine, parse and load) n pages in batches of 100, as a crawl does."""
    site = Site(name="bench", base_url=url + "/")
    policy = FetchPolicy(concurrency=32, per_host=32, min_delay=0.0, allow_addresses=("127.0.0.1",))
    archive = RawArchive(raw)
    fetched = 0
    with FetchSession(policy, archive) as session:
        targets = [Target(f"{url}/news/{i}.html", "bench") for i in range(1, n + 1)]
        for i in range(0, n, 100):
            pages = session.fetch_batch(targets[i : i + 100])
            fetched += sum(1 for p in pages if p.raw.status == 200 and p.content_hash and p.record_id)
            if engine is not None:
                results = batches.parse_batch(pages, {"bench": site})
                batches.load_batch(engine, pages, results, {"bench": site}, "crawl-t")
                record_verdicts(archive, pages, results, "crawl-t", PARSER_VERSION)
    return fetched


def read_all(raw: Path) -> tuple[dict[str, int], list[str]]:
    kinds: dict[str, int] = {}
    problems: list[str] = []
    for path in sorted((raw / "warc").glob("*/*.warc.gz")):
        with open(path, "rb") as fh:
            for record in ArchiveIterator(fh, check_digests=True):
                record.content_stream().read()
                kinds[record.rec_type] = kinds.get(record.rec_type, 0) + 1
                problems += [f"{path.name}: {p}" for p in record.digest_checker.problems]
                if record.rec_type == "response" and record.digest_checker.passed is not True:
                    problems.append(f"{path.name}: response digest not checked")
    return kinds, problems


def test_the_warc_files_of_a_5000_page_crawl_read_back_with_0_errors(tmp_path: Path) -> None:
    with Background(5000) as site:
        assert crawl(site.url, 5000, tmp_path / "raw", None) == 5000
    kinds, problems = read_all(tmp_path / "raw")
    assert problems == []
    assert kinds == {"request": 5000, "response": 5000}
    files = sorted((tmp_path / "raw" / "warc").glob("*/*.warc.gz"))
    assert len(files) == 50  # one per batch
    warcio = str(Path(sys.executable).with_name("warcio"))
    checked = subprocess.run([warcio, "check", *map(str, files)], capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout[-500:]
    index = subprocess.run([warcio, "index", str(files[0])], capture_output=True, text=True, check=True, timeout=60)
    assert len(index.stdout.splitlines()) == 200


def records(engine: Engine) -> list[tuple[str, str, str]]:
    with Session(engine) as s:
        rows = s.execute(select(m.Page.url, m.Initiative.key, m.Initiative.statement)
                         .join(m.Article, m.Article.id == m.Initiative.article_id)
                         .join(m.Page, m.Page.id == m.Article.page_id)).tuples().all()
    return sorted(rows)


def test_reparse_from_the_warc_files_gives_the_records_the_crawl_loaded(tmp_path: Path) -> None:
    crawled_db, rebuilt_db = f"sqlite:///{tmp_path / 'c.db'}", f"sqlite:///{tmp_path / 'r.db'}"
    for database in (crawled_db, rebuilt_db):
        upgrade(database)
    engine, rebuilt = make_engine(crawled_db), make_engine(rebuilt_db)
    with Background(120) as site:
        assert crawl(site.url, 120, tmp_path / "raw", engine) == 120
        crawled = records(engine)
        assert len(crawled) >= 120
        # every page rebuilt from its WARC record alone, into an empty database
        bodies = state.good_bodies(engine, None, None, None, None)
        sites = {site.url.removeprefix("http://"): Site(name="bench", base_url=site.url + "/")}
        outcomes, problems = reparse_batch(rebuilt_db, str(tmp_path / "raw"), bodies, sites, "reparse-t")
    assert problems == [] and len(outcomes) == 120
    assert records(rebuilt) == crawled
    kinds, problems = read_all(tmp_path / "raw")
    assert problems == [] and kinds["metadata"] == 120  # a verdict beside every capture
    engine.dispose()
    rebuilt.dispose()


def test_a_warc_file_cut_mid_record_is_a_recorded_problem_and_reparse_goes_on(tmp_path: Path) -> None:
    crawled_db, rebuilt_db = f"sqlite:///{tmp_path / 'c.db'}", f"sqlite:///{tmp_path / 'r.db'}"
    for database in (crawled_db, rebuilt_db):
        upgrade(database)
    engine = make_engine(crawled_db)
    with Background(20) as site:
        assert crawl(site.url, 20, tmp_path / "raw", engine) == 20
        bodies = state.good_bodies(engine, None, None, None, None)
    engine.dispose()
    (path,) = sorted((tmp_path / "raw" / "warc").glob("*/crawl-*.warc.gz"))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 100])  # a crash in the middle of the last response record
    for index in (tmp_path / "raw").glob("index-*"):
        index.unlink()  # read the files afresh, as another machine would
    sites = {site.url.removeprefix("http://"): Site(name="bench", base_url=site.url + "/")}
    outcomes, problems = reparse_batch(rebuilt_db, str(tmp_path / "raw"), bodies, sites, "reparse-t")
    assert len(outcomes) == 19  # every whole record rebuilt
    assert any(path.name in p and "cut off" in p for p in problems)
    assert sum("missing" in p for p in problems) == 1  # the page whose record was cut
