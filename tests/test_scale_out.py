"""Scale-out on engines we already run: Dask for parsing, several workers on one PostgreSQL, shared politeness.

The invariants: the runner never changes results; two crawls of the same sources at once neither
duplicate nor lose rows; a crawl killed mid-run is finished by the next one with nothing twice; and two
workers together stay within one host's concurrency and spacing.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import create_engine, func, select

from flows.runners import in_order, task_runner
from initiatives.settings import Settings
from initiatives.testsite import SiteServer
from schema import models as m
from tests.conftest import DEMO_SITE, DEMO_SOURCES, ROOT


# --- the in-order pipeline --------------------------------------------------------------------------
class _Done:
    def __init__(self, value: int, log: list[str]) -> None:
        self.value, self.log = value, log

    def result(self) -> int:
        self.log.append(f"result {self.value}")
        return self.value * 10


def test_in_order_keeps_order_and_bounds_work_in_flight() -> None:
    log: list[str] = []

    def submit(i: int) -> _Done:
        log.append(f"submit {i}")
        return _Done(i, log)

    out = list(in_order(range(5), submit, ahead=2))
    assert out == [(i, i * 10) for i in range(5)]
    in_flight = peak = 0
    for entry in log:
        in_flight += 1 if entry.startswith("submit") else -1
        peak = max(peak, in_flight)
    assert peak == 3  # the batch being waited on plus two ahead
    assert log[:4] == ["submit 0", "submit 1", "submit 2", "result 0"]
    assert list(in_order([], submit, ahead=2)) == []


def test_task_runner_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask.task_runners import DaskTaskRunner
    from pydantic import ValidationError

    monkeypatch.delenv("INITIATIVES_TASK_RUNNER", raising=False)
    assert isinstance(task_runner(Settings()), ThreadPoolTaskRunner)
    monkeypatch.setenv("INITIATIVES_TASK_RUNNER", " Dask ")
    monkeypatch.setenv("INITIATIVES_DASK_WORKERS", "3")
    runner = task_runner(Settings())
    assert isinstance(runner, DaskTaskRunner)
    assert runner.cluster_kwargs["n_workers"] == 3
    monkeypatch.setenv("INITIATIVES_TASK_RUNNER", "ray")
    with pytest.raises(ValidationError, match="'thread' or 'dask'"):
        Settings()


# --- Dask gives the same results as threads ---------------------------------------------------------
def _pages() -> list[Path]:
    """The demo site and the project's own labelled fixture pages (articles and closed sites alike)."""
    own = ROOT / "tests" / "fixtures"
    return [*sorted(DEMO_SITE.glob("*.html")), *sorted((own / "verdict").glob("*.html"))[:12],
            *sorted((own / "initiatives").glob("*.txt"))[:3]]


@task(cache_policy=NO_CACHE)
def parse_paths(paths: list[str]) -> tuple[int, list[Any]]:
    from parsers.contract import to_contract
    from parsers.pipeline import process_file

    return os.getpid(), [to_contract(process_file(Path(p))) for p in paths]


def _parse_all(paths: list[str]) -> tuple[set[int], list[Any]]:
    batches = [paths[i : i + 3] for i in range(0, len(paths), 3)]
    pids: set[int] = set()
    out: list[Any] = []
    for _, (pid, results) in in_order(batches, parse_paths.submit, ahead=2):
        pids.add(pid)
        out += results
    return pids, out


@pytest.mark.flow
@pytest.mark.slow
def test_dask_local_cluster_parses_like_threads(prefect_harness: None) -> None:
    from prefect_dask.task_runners import DaskTaskRunner

    paths = [str(p) for p in _pages()]
    thread_runner = task_runner(Settings(task_runner="thread"))
    threads = flow(name="parse-threads")(_parse_all).with_options(task_runner=thread_runner)
    dask = flow(name="parse-dask")(_parse_all).with_options(
        task_runner=DaskTaskRunner(cluster_kwargs={"n_workers": 2, "threads_per_worker": 1, "processes": True})
    )
    thread_pids, expected = threads(paths)
    dask_pids, got = dask(paths)
    assert thread_pids == {os.getpid()}
    assert os.getpid() not in dask_pids and len(dask_pids) == 2  # both Dask worker processes did work
    assert len(expected) == len(paths)
    assert got == expected
    assert any(r["initiatives"] for r in expected)


# --- several workers on one PostgreSQL --------------------------------------------------------------
def _api_url() -> str:
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url, "the Prefect test harness sets an API URL"
    return str(url)


def _crawl_process(pg_url: str, sources: Path, data: Path, api_url: str, batch: int = 1) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "INITIATIVES_"))}
    env.update(
        PREFECT_API_URL=api_url, DO_NOT_TRACK="1", INITIATIVES_DATABASE_URL=pg_url,
        INITIATIVES_DATA_DIR=str(data), INITIATIVES_BATCH_SIZE=str(batch),
    )
    code = "import sys; from flows.crawl import crawl; crawl(sources_file=sys.argv[1])"
    return subprocess.Popen(
        [sys.executable, "-c", code, str(sources)], cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def _finish(proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait(10)
    assert proc.returncode == 0, out.decode(errors="replace")[-3000:]


def _counts(url: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as c:
            return {
                "pages": c.scalar(select(func.count()).select_from(m.Page)),
                "distinct_urls": c.scalar(select(func.count(func.distinct(m.Page.url)))),
                "articles": c.scalar(select(func.count()).select_from(m.Article)),
                "initiatives": c.scalar(select(func.count()).select_from(m.Initiative)),
                "record_keys": sorted(c.scalars(select(m.Initiative.key))),
                "units": sorted(c.scalars(select(m.Unit.name))),
                "sites": c.scalar(select(func.count()).select_from(m.Site)),
            }
    finally:
        engine.dispose()


@pytest.fixture
def reference(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Any]]]:
    """One crawl alone, into SQLite: what any number of concurrent or interrupted crawls must end with."""
    work = tmp_path_factory.mktemp("reference")
    with SiteServer(DEMO_SITE) as site:
        sources = work / "sources.toml"
        sources.write_text(DEMO_SOURCES.format(url=site.url, delay=0.0), encoding="utf-8")
        db = f"sqlite:///{work / 'ref.db'}"
        _finish(_crawl_process(db, sources, work / "data", _api_url(), batch=2))
        yield site.url, _counts(db)


def _same_rows(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["pages"] == got["distinct_urls"] == want["pages"]
    assert got["articles"] == want["articles"] >= 3
    assert got["record_keys"] == want["record_keys"]  # stable keys: nothing twice, nothing missing
    assert got["units"] == want["units"]
    assert got["sites"] == want["sites"] == 1


@pytest.mark.flow
@pytest.mark.slow
@pytest.mark.postgres
def test_two_crawls_at_once_on_overlapping_urls(
    prefect_harness: None, pg_url: str, tmp_path: Path, reference: tuple[str, dict[str, Any]]
) -> None:
    site_url, want = reference  # the same site server, so URLs and record keys are comparable
    from schema.db import upgrade

    upgrade(pg_url)  # both workers start on a migrated database, as deployments do after their first run
    sources = tmp_path / "sources.toml"
    sources.write_text(DEMO_SOURCES.format(url=site_url, delay=0.0), encoding="utf-8")
    procs = [_crawl_process(pg_url, sources, tmp_path / "data", _api_url()) for _ in range(2)]
    try:
        for p in procs:
            _finish(p)
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 9)
    _same_rows(_counts(pg_url), want)


@pytest.mark.flow
@pytest.mark.slow
@pytest.mark.postgres
def test_crawl_killed_mid_run_is_finished_by_the_next_run(
    prefect_harness: None, pg_url: str, tmp_path: Path, reference: tuple[str, dict[str, Any]]
) -> None:
    site_url, want = reference
    engine = create_engine(pg_url)
    sources = tmp_path / "sources.toml"
    # one request a second to the host, one page per batch: the kill lands between page loads.
    sources.write_text(DEMO_SOURCES.format(url=site_url, delay=1.0), encoding="utf-8")
    first = _crawl_process(pg_url, sources, tmp_path / "data", _api_url())
    try:
        deadline = time.monotonic() + 90
        articles = 0
        while time.monotonic() < deadline and first.poll() is None:
            try:
                with engine.connect() as c:
                    articles = c.scalar(select(func.count()).select_from(m.Article)) or 0
            except Exception:  # tables not created yet
                articles = 0
            if articles:
                break
            time.sleep(0.1)
        assert first.poll() is None, "the first crawl finished before it could be killed"
        assert 0 < articles < want["articles"], f"{articles} articles when killed"
    finally:
        if first.poll() is None:
            os.killpg(first.pid, 9)  # no cleanup: what an OOM kill or a lost machine does
        first.wait(10)
        engine.dispose()
    _finish(_crawl_process(pg_url, sources, tmp_path / "data", _api_url()))
    _same_rows(_counts(pg_url), want)


# --- politeness across workers ----------------------------------------------------------------------
@pytest.mark.flow
@pytest.mark.slow
def test_prefect_host_limiter_holds_across_workers(prefect_harness: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two limiters (two workers' fetchers, each on its own event loop) share one host's slot and spacing.

    Overlap is checked on the order of events; spacing as the server-side rate limit every request took (the
    limit's decay does the waiting, on the server), not as wall-clock gaps."""
    import prefect.concurrency.asyncio as prefect_concurrency

    from flows.fetch import FetchPolicy
    from flows.politeness import PrefectHostLimiter, limit_names

    taken: list[tuple[str, int]] = []
    real_rate_limit = prefect_concurrency.rate_limit

    async def recording_rate_limit(names: str, occupy: int = 1, **kwargs: Any) -> None:
        with lock:
            taken.append((names, occupy))
        await real_rate_limit(names, occupy=occupy, **kwargs)

    monkeypatch.setattr(prefect_concurrency, "rate_limit", recording_rate_limit)

    host = f"polite-{os.getpid()}-{time.monotonic_ns()}.example:8080"
    policy = FetchPolicy(per_host=1, min_delay=0.5)
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        async def run() -> None:
            limiter = PrefectHostLimiter(policy, timeout=60)
            for _ in range(3):
                async with limiter.acquire(host, policy.min_delay):
                    start = time.monotonic()
                    await asyncio.sleep(0.05)
                    with lock:
                        spans.append((start, time.monotonic()))

        try:
            asyncio.run(run())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(spans) == 6
    spans.sort()
    for (_, e1), (s2, _) in itertools.pairwise(spans):
        assert s2 >= e1, "two requests to one host overlapped across workers"
    assert taken == [(limit_names(host)[1], 1)] * 6  # every request waited for the host's rate-limit slot

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(limit_names(host)[0])
        rate = client.read_global_concurrency_limit_by_name(limit_names(host)[1])
    assert limit.limit == 1 and rate.slot_decay_per_second == pytest.approx(2.0)
