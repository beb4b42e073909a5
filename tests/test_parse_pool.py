"""Parsing in worker processes (flows/parse_pool.py): the same results as in the run's own process, batches
that survive a worker's death, workers that end with their parent, and a crawl that gives the same rows
with or without workers. Waits are bounded, never timed."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from flows import batches, parse_worker
from flows.fetch import Conditional
from flows.lifetime import descendants
from flows.pages import FetchedPage, Target
from flows.parse_pool import MAX_RESTARTS, ParsePool
from flows.sources import Site
from initiatives.settings import Settings
from parsers.pipeline import raw_from_file
from parsers.records import PageResult, SiteSelectors
from schema import models as m
from schema.db import make_engine
from tests.conftest import DEMO_SITE, DEMO_SOURCES, ROOT
from tests.test_lifetime import alive, wait_gone

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and /proc are Linux's")


def _pages(copies: int = 1) -> list[FetchedPage]:
    """The demo site and the project's own labelled pages (articles, closed sites, text dumps), fetched
    from nowhere: as the fetch stage hands them on."""
    own = ROOT / "tests" / "fixtures"
    paths = [*sorted(DEMO_SITE.glob("*.html")), *sorted((own / "verdict").glob("*.html"))[:12],
             *sorted((own / "initiatives").glob("*.txt"))[:3]]
    at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    cond = Conditional(etag='"v1"', last_modified=None)
    return [FetchedPage(Target(f"http://news.example/{i}/{p.name}", "news", cond if i % 2 else None, "ab" * 32),
                        raw_from_file(p), at, 0.25, "cd" * 32, 200, f"<urn:uuid:{i}>")
            for i in range(copies) for p in paths]


SITES = {"news": Site(name="news", base_url="http://news.example/")}


def test_pages_and_results_cross_process_boundaries_unchanged() -> None:
    pages = _pages()
    results = batches.parse_batch(pages, SITES)
    assert pickle.loads(pickle.dumps(pages)) == pages
    assert pickle.loads(pickle.dumps(results)) == results
    assert parse_worker.unpack(parse_worker.pack(results)) == results  # as workers send them back
    assert any(r.article is not None and r.initiatives for r in results)  # records, units, metrics included
    assert {r.verdict.name for r in results} >= {"ok", "expired"}
    items = batches.parse_inputs(pages, SITES, {"news.example": frozenset({"f1", "f2"})})
    assert pickle.loads(pickle.dumps(items)) == items
    assert items[0][2] == frozenset({"f1", "f2"})


def test_workers_parse_like_the_runs_own_process() -> None:
    pages = _pages()
    sites = {"news": Site(name="news", base_url="http://news.example/", selectors={"title": "h1"})}
    want = batches.parse_batch(pages, sites)
    assert batches.parse_inputs(pages, sites)[0][1] == SiteSelectors(title="h1")
    with ParsePool(2) as pool:
        assert batches.parse_batch(pages, sites, pool=pool) == want  # not started: parsed here
        assert pool.worker_cpu == 0.0
        pool.start()
        half = len(pages) // 2
        first, second = pool.submit(batches.parse_inputs(pages[:half], sites)), batches.parse_batch(
            pages[half:], sites, pool=pool)
        assert first.result() + second == want
        assert pool.worker_cpu > 0.0 and pool.take_problems() == []
    assert not pool.running


def test_no_workers_parses_here() -> None:
    pages = _pages()
    with ParsePool(0) as pool:
        pool.start()
        assert not pool.running
        assert pool.parse(batches.parse_inputs(pages, SITES)) == batches.parse_batch(pages, SITES)


def _workers(parent: int) -> list[int]:
    """The parse workers among a process's children (spawned interpreters), not the resource tracker."""
    out = []
    for pid in descendants(parent):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"--multiprocessing-fork" in cmdline:
            out.append(pid)
    return out


@linux_only
def test_a_worker_killed_mid_batch_costs_nothing_but_a_restart() -> None:
    pages = _pages(copies=20)  # a batch that keeps a worker busy well past the kill
    want = batches.parse_batch(pages[:40], SITES)
    with ParsePool(2) as pool:
        pool.start()
        assert pool.parse(batches.parse_inputs(pages[:40], SITES)) == want  # both workers up
        before = _workers(os.getpid())
        assert len(before) == 2
        in_flight = pool.submit(batches.parse_inputs(pages, SITES))
        os.kill(before[0], signal.SIGKILL)
        assert in_flight.result() == batches.parse_batch(pages, SITES)  # parsed again, here
        (problem,) = pool.take_problems()
        assert "parse worker process died" in problem and f"1 of {MAX_RESTARTS}" in problem
        assert pool.restarts == 1 and pool.running
        cpu = pool.worker_cpu
        assert pool.parse(batches.parse_inputs(pages[:40], SITES)) == want  # new workers take the next batch
        assert pool.worker_cpu > cpu
        after = _workers(os.getpid())
        assert len(after) == 2 and not set(after) & set(before)
        assert wait_gone(before[1])  # the broken pool's other worker was ended with it


@linux_only
def test_past_the_restarts_the_run_parses_here() -> None:
    pages = _pages()
    want = batches.parse_batch(pages, SITES)
    with ParsePool(1) as pool:
        pool.start()
        for _ in range(MAX_RESTARTS + 1):
            assert pool.parse(batches.parse_inputs(pages[:2], SITES)) == want[:2]  # the worker is up
            (worker,) = _workers(os.getpid())
            os.kill(worker, signal.SIGKILL)
            assert wait_gone(worker)
            assert pool.parse(batches.parse_inputs(pages, SITES)) == want  # the broken pool's batch
        assert pool.restarts == MAX_RESTARTS and not pool.running and not _workers(os.getpid())
        problems = pool.take_problems()
        assert len(problems) == MAX_RESTARTS + 1 and "no more restarts" in problems[-1]
        assert pool.parse(batches.parse_inputs(pages, SITES)) == want


def _garbage(items: list[parse_worker.ParseItem]) -> tuple[bytes, float]:
    """Stands in for ``parse_worker.parse_timed`` in the workers: a batch whose results cannot be read back."""
    return b"not a pickle", 0.0


def test_a_batch_that_cannot_come_back_is_parsed_here(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = _pages()
    want = batches.parse_batch(pages, SITES)
    with ParsePool(1) as pool:
        pool.start()
        monkeypatch.setattr(parse_worker, "parse_timed", _garbage)
        assert pool.parse(batches.parse_inputs(pages, SITES)) == want
        (problem,) = pool.take_problems()
        assert "could not return a batch (UnpicklingError" in problem
        assert pool.running and pool.restarts == 0  # the workers are fine; the next batch goes to them
        monkeypatch.undo()
        assert pool.parse(batches.parse_inputs(pages, SITES)) == want and pool.worker_cpu > 0


POOL_PARENT = """
import os, sys, time
from flows import batches
from flows.parse_pool import ParsePool
from tests.test_parse_pool import SITES, _pages, _workers

with ParsePool(2) as pool:
    pool.start()
    pool.parse(batches.parse_inputs(_pages(), SITES))
    print("PIDS", *_workers(os.getpid()), flush=True)
    time.sleep(600)
"""


@linux_only
def test_workers_end_after_their_parent_is_killed() -> None:
    from tests.test_lifetime import read_pids, spawn

    parent = spawn(POOL_PARENT)
    workers: list[int] = []
    try:
        workers = read_pids(parent)
        assert len(workers) == 2 and all(alive(w) for w in workers)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)
        for worker in workers:
            assert wait_gone(worker), "a parse worker outlived its parent"
    finally:
        parent.kill()
        parent.wait(timeout=30)
        for worker in workers:
            if alive(worker):
                os.kill(worker, signal.SIGKILL)


def test_parse_workers_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from flows.parse_pool import workers_for

    monkeypatch.delenv("INITIATIVES_PARSE_WORKERS", raising=False)
    assert Settings().parse_workers == min(os.cpu_count() or 1, 4)
    monkeypatch.setenv("INITIATIVES_PARSE_WORKERS", "0")
    assert Settings().parse_workers == 0
    monkeypatch.setenv("INITIATIVES_PARSE_WORKERS", "3")
    assert workers_for(Settings()) == 3
    assert workers_for(Settings(task_runner="dask")) == 0  # Dask's workers parse; no pool beside them
    monkeypatch.setenv("INITIATIVES_PARSE_WORKERS", "-1")
    with pytest.raises(ValidationError, match="parse_workers"):
        Settings()


# --- the crawl flow, with and without workers ---------------------------------------------------------
def _die_once(items: list[parse_worker.ParseItem]) -> tuple[list[PageResult], float]:
    """Stands in for ``parse_worker.parse_timed`` in the workers: the first batch any of them takes kills
    its worker (as the kernel's out-of-memory killer would); every later batch is parsed as usual."""
    try:
        fd = os.open(os.environ["PARSE_POOL_TEST_KILL_ONCE"], os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return parse_worker.parse_timed(items)
    os.close(fd)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


def _rows(database: str) -> dict[str, Any]:
    engine = make_engine(database)
    try:
        with engine.connect() as c:
            return {
                "pages": sorted(c.execute(select(m.Page.url, m.Page.last_verdict)).tuples()),
                "articles": sorted(c.execute(select(m.Article.title, m.Article.body)).tuples()),
                "records": sorted(c.execute(select(m.Initiative.key, m.Initiative.statement)).tuples()),
                "units": sorted(c.scalars(select(m.Unit.name))),
            }
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def demo_sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    from initiatives.testsite import SiteServer

    work = tmp_path_factory.mktemp("site")
    with SiteServer(DEMO_SITE) as site:
        sources = work / "sources.toml"
        sources.write_text(DEMO_SOURCES.format(url=site.url, delay=0.0), encoding="utf-8")
        yield sources


def _crawl(sources: Path, data: Path, workers: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from flows.crawl import crawl

    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(data))
    monkeypatch.setenv("INITIATIVES_BATCH_SIZE", "1")  # a batch per page: the pool starts, batches overlap
    monkeypatch.setenv("INITIATIVES_PARSE_WORKERS", str(workers))
    result = crawl(sources_file=str(sources))
    assert isinstance(result, dict)
    return result


@pytest.mark.flow
@pytest.mark.slow
@linux_only
def test_crawl_gives_the_same_rows_with_parse_workers_even_when_one_dies(
    prefect_harness: None, demo_sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = _crawl(demo_sources, tmp_path / "here", 0, monkeypatch)
    workers = _crawl(demo_sources, tmp_path / "workers", 2, monkeypatch)
    monkeypatch.setenv("PARSE_POOL_TEST_KILL_ONCE", str(tmp_path / "killed"))
    monkeypatch.setattr(parse_worker, "parse_timed", _die_once)
    killed = _crawl(demo_sources, tmp_path / "killed-run", 2, monkeypatch)

    want = _rows(Settings(data_dir=tmp_path / "here").database)
    assert want["articles"] and want["records"] and len(want["pages"]) >= 4
    assert "parse workers" not in here["stage_cpu_seconds"]
    assert "parse workers" in workers["stage_cpu_seconds"]  # batches were parsed in the workers
    assert _rows(Settings(data_dir=tmp_path / "workers").database) == want
    assert (tmp_path / "killed").exists()  # a worker did die mid-batch
    assert any("parse worker process died" in p for p in killed["problems"]), killed["problems"]
    assert _rows(Settings(data_dir=tmp_path / "killed-run").database) == want
    for result in (workers, killed):
        assert result["pages_by_verdict"] == here["pages_by_verdict"]
        assert result["records_written"] == here["records_written"] > 0

    # reparse: archived bodies read in the flow, parsed in the workers, loaded in order, as replays
    from flows.reparse import reparse

    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path / "workers"))
    again = reparse(sources_file=str(demo_sources))
    assert isinstance(again, dict)
    assert "parse workers" in again["stage_cpu_seconds"]
    assert sum(again["pages_by_verdict"].values()) == len(want["articles"]) > 1
    assert _rows(Settings(data_dir=tmp_path / "workers").database) == want
    assert not _workers(os.getpid())  # each run's pool ended with it
