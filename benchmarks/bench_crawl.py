"""``make bench-crawl``: crawl throughput against a local synthetic site, beside Scrapy and plain aiohttp.

A separate server process (``benchmarks/crawl_site.py``) serves N article pages of about 30 KB with a
fixed latency on 127.0.0.1. Each measurement runs in a fresh child process (so peak memory is its own and
no warm cache leaks between contenders), rounds are interleaved, and the table shows medians:

- ``ours fetch+archive``: ``flows.session.FetchSession`` (the crawler's shared httpx client, robots.txt,
  politeness, conditional GET, raw archive on disk) — the fetch stage alone; its CPU and peak memory
  include the archive writer's child process (peak = the two processes' peaks added);
- ``ours httpcore``: the same on httpx's default transport (httpcore's pool) for http://, the client we did
  not pick for direct http:// (kept to show why);
- ``ours pipeline``: fetch + verdict + extraction + records + load into SQLite, as a flow run does it:
  batches parsed in the run's parse pool (``flows.parse_pool``, ``INITIATIVES_PARSE_WORKERS`` processes,
  ``INITIATIVES_PARSE_AHEAD`` batches ahead) while this process fetches and loads in order; CPU split per
  stage (parse from the workers' own clocks) and the workers' CPU beyond parsing;
- ``aiohttp``: a plain aiohttp client reading every body, nothing else (the floor);
- ``scrapy``: a Scrapy spider downloading the same pages (bodies dropped).

All use 32 concurrent requests. The latency ceiling is concurrency / latency (640 pages/s at 50 ms).
``others``: how many CPUs processes outside the bench (other users of the machine) kept busy while a
contender ran, on average; on a shared machine a contender's pages/s means little without it.

    .venv/bin/python -m benchmarks.bench_crawl            # N = 1,000 and 10,000; 50 ms and 5 ms; 3 rounds
    .venv/bin/python -m benchmarks.bench_crawl --quick    # N = 1,000 only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONCURRENCY = 32
BATCH = 100
#: batches in flight ahead of the one being consumed, so the fetch pipe never drains between batches.
LOOKAHEAD = 3


def _usage() -> dict[str, float]:
    """CPU of this process plus its finished children (our archive writer: children count once they
    have exited, so read this after the crawler is closed), and this process's peak memory."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"cpu": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
            "peak_mb": me.ru_maxrss / 1024, "children_cpu": kids.ru_utime + kids.ru_stime}


def _children_peak_mb() -> float:
    """Peak memory of the live child processes (Linux /proc). ``RUSAGE_CHILDREN`` cannot say: its
    maxrss counts a child's pages from between fork and exec, when it was still a copy of this process."""
    total = 0.0
    for tasks in Path("/proc/self/task").glob("*/children"):
        for pid in tasks.read_text().split():
            status = Path(f"/proc/{pid}/status")
            for line in status.read_text().splitlines() if status.exists() else []:
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total


def _children_cpu() -> dict[str, float]:
    """CPU seconds so far of the live child processes by kind (Linux /proc): the archive writer and the
    parse workers, read before they exit (``RUSAGE_CHILDREN`` adds them up only once they have)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for tasks in Path("/proc/self/task").glob("*/children"):
        for pid in tasks.read_text().split():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            kind = ("writer" if b"flows.archive_writer" in cmdline
                    else "parse workers" if b"multiprocessing" in cmdline else "other")
            utime, stime = stat[stat.rfind(")") + 2 :].split()[11:13]
            out[kind] = out.get(kind, 0.0) + (int(utime) + int(stime)) / tick
    return out


def _urls(base: str, n: int) -> list[str]:
    return [f"{base}/news/{i}.html" for i in range(1, n + 1)]


# --- contenders (each runs in its own process) ----------------------------------------------------------
def run_ours(base: str, n: int, pipeline: bool, http_client: str = "aiohttp") -> dict[str, Any]:
    from flows import batches
    from flows.archive import RawArchive
    from flows.fetch import FetchPolicy
    from flows.pages import FetchedPage, Target
    from flows.parse_pool import ParsePool
    from flows.runners import in_order
    from flows.session import FetchSession
    from flows.sources import Site
    from initiatives.settings import Settings
    from parsers.records import PageResult
    from schema.db import make_engine, upgrade

    # The bench site is on 127.0.0.1, which the crawler refuses unless allowed.
    policy = FetchPolicy(concurrency=CONCURRENCY, per_host=CONCURRENCY, min_delay=0.0, allow_addresses=("127.0.0.1",),
                         http_client=http_client)  # type: ignore[arg-type]
    # Parse processes and parse batches in flight as a flow run reads them (INITIATIVES_PARSE_WORKERS, ...).
    settings = Settings()
    targets = [Target(u, "bench") for u in _urls(base, n)]
    chunks = [targets[i : i + BATCH] for i in range(0, n, BATCH)]
    stage = {"parse": 0.0, "load": 0.0}
    pages_ok = 0
    ahead = 0
    with tempfile.TemporaryDirectory() as tmp:
        archive = RawArchive(Path(tmp) / "raw")
        engine = None
        if pipeline:
            url = f"sqlite:///{tmp}/bench.db"
            upgrade(url)
            engine = make_engine(url)
        sites = {"bench": Site(name="bench", base_url=base + "/")}
        with ParsePool(settings.parse_workers if pipeline else 0) as pool, FetchSession(policy, archive) as session:
            # Timing starts with the client open (imports and TLS contexts are one-off set-up).
            start_cpu = _usage()["cpu"]
            started = time.perf_counter()
            loop_cpu0 = session.cpu_seconds()
            pending = [session.submit_batch(c) for c in chunks[:LOOKAHEAD]]

            def fetched() -> Iterator[list[FetchedPage]]:
                nxt = LOOKAHEAD
                while pending:
                    pages = pending.pop(0).result()
                    if nxt < len(chunks):
                        pending.append(session.submit_batch(chunks[nxt]))
                        nxt += 1
                    yield pages

            class Parsing:
                """A batch handed to the run's parse pool, as ``flows.crawl.run_targets`` hands it; the
                CPU this thread spends on it is parse CPU (all of it when the pool has no workers)."""

                def __init__(self, pages: list[FetchedPage]) -> None:
                    self.parsed = pool.submit(batches.parse_inputs(pages, sites))

                def result(self) -> list[PageResult]:
                    t0 = time.thread_time()
                    results = self.parsed.result()
                    stage["parse"] += time.thread_time() - t0
                    return results

            if engine is None:
                for pages in fetched():
                    pages_ok += sum(1 for p in pages if p.raw.status == 200 and p.content_hash)
            else:
                pool.start()  # as run_targets does: the workers start while the first batches are fetched
                ahead = pool.ahead(settings.parse_ahead)
                for pages, results in in_order(fetched(), Parsing, ahead):
                    pages_ok += sum(1 for p in pages if p.raw.status == 200 and p.content_hash)
                    t1 = time.thread_time()
                    batches.load_batch(engine, pages, results, sites, "bench")
                    stage["load"] += time.thread_time() - t1
            fetch_cpu = session.cpu_seconds() - loop_cpu0
            elapsed = time.perf_counter() - started
            children_mb = _children_peak_mb()
            kids_cpu = _children_cpu()
            parse_workers_cpu = pool.worker_cpu
        usage = _usage()  # after the session and the pool closed: the writer and the workers count
        if engine is not None:
            engine.dispose()
    # the fetch loop thread, and the archive writer child (flows/archive_writer.py)
    fetch_split = {"loop": fetch_cpu, "writer": kids_cpu.get("writer", 0.0)}
    stage_cpu = {"fetch+archive": sum(fetch_split.values())}
    if pipeline:
        # parse: in the parse workers (their own clocks) or, without workers, in this thread; other: the
        # rest of both (batches crossing the pipes, the workers' start-up, the flow's own loop)
        stage_cpu.update(parse=stage["parse"] + parse_workers_cpu, load=stage["load"])
        stage_cpu["other"] = usage["cpu"] - start_cpu - sum(stage_cpu.values())
    return {"pages": pages_ok, "seconds": elapsed, "cpu": usage["cpu"] - start_cpu,
            "peak_mb": usage["peak_mb"] + children_mb, "stage_cpu": stage_cpu, "fetch_split": fetch_split,
            "parse_workers": pool.workers, "parse_ahead": ahead,
            "workers_cpu": {"parsing": parse_workers_cpu, "process": kids_cpu.get("parse workers", 0.0)}}


def run_aiohttp(base: str, n: int) -> dict[str, Any]:
    import asyncio

    import aiohttp

    async def main() -> int:
        ok = 0
        queue = iter(_urls(base, n))
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

            async def worker() -> None:
                nonlocal ok
                for url in queue:
                    async with session.get(url) as resp:
                        await resp.read()
                        ok += resp.status == 200

            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return ok

    start_cpu = _usage()["cpu"]
    started = time.perf_counter()
    ok = asyncio.run(main())
    elapsed = time.perf_counter() - started
    usage = _usage()
    return {"pages": ok, "seconds": elapsed, "cpu": usage["cpu"] - start_cpu, "peak_mb": usage["peak_mb"]}


def run_scrapy(base: str, n: int) -> dict[str, Any]:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    counter = {"ok": 0}

    class Bench(scrapy.Spider):  # type: ignore[misc]
        name = "bench"

        async def start(self):  # type: ignore[no-untyped-def]
            for url in _urls(base, n):
                yield scrapy.Request(url, dont_filter=True)

        def parse(self, response):  # type: ignore[no-untyped-def]
            counter["ok"] += response.status == 200
            return None

    process = CrawlerProcess(settings={
        "CONCURRENT_REQUESTS": CONCURRENCY, "CONCURRENT_REQUESTS_PER_DOMAIN": CONCURRENCY,
        "DOWNLOAD_DELAY": 0, "ROBOTSTXT_OBEY": True, "LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False,
        "COOKIES_ENABLED": False, "RETRY_ENABLED": False, "HTTPCACHE_ENABLED": False,
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
    })
    process.crawl(Bench)
    start_cpu = _usage()["cpu"]
    started = time.perf_counter()
    process.start()
    elapsed = time.perf_counter() - started
    usage = _usage()
    return {"pages": counter["ok"], "seconds": elapsed, "cpu": usage["cpu"] - start_cpu, "peak_mb": usage["peak_mb"]}


CONTENDERS = {
    "ours fetch+archive": lambda b, n: run_ours(b, n, pipeline=False),
    "ours httpcore": lambda b, n: run_ours(b, n, pipeline=False, http_client="httpcore"),
    "ours pipeline": lambda b, n: run_ours(b, n, pipeline=True),
    "aiohttp": run_aiohttp,
    "scrapy": run_scrapy,
}


# --- orchestration -----------------------------------------------------------------------------------------
class Server:
    def __init__(self, articles: int, latency: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.crawl_site", "--articles", str(articles),
             "--latency", str(latency)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            self.proc.kill()
            raise RuntimeError("crawl_site.py did not start")
        self.base = f"http://127.0.0.1:{line[1]}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (Linux /proc/stat; 0 elsewhere)."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _process_cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    utime, stime = stat[stat.rfind(")") + 2 :].split()[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


def measure(name: str, base: str, n: int, server: Server) -> dict[str, Any]:
    """One contender in its own process. ``others``: CPUs that processes other than the contender and the
    bench site kept busy meanwhile, on average (the machine is shared; a busy minute halves a result)."""
    before = (_busy_cpu_seconds(), _process_cpu_seconds(server.proc.pid), resource.getrusage(resource.RUSAGE_CHILDREN),
              time.perf_counter())
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_crawl", "--worker", name, "--base", base, "--n", str(n)],
        capture_output=True, text=True, check=False, cwd=ROOT, env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    wall = time.perf_counter() - before[3]
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    mine = kids.ru_utime + kids.ru_stime - before[2].ru_utime - before[2].ru_stime
    mine += _process_cpu_seconds(server.proc.pid) - before[1]
    if out.returncode != 0:
        raise RuntimeError(f"{name} failed: {out.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if data["pages"] != n:
        raise RuntimeError(f"{name}: {data['pages']} of {n} pages fetched")
    data["others"] = max(0.0, (_busy_cpu_seconds() - before[0] - mine) / wall)
    return data


def table(n: int, latency: float, runs: dict[str, list[dict[str, Any]]]) -> str:
    ceiling = CONCURRENCY / latency
    med = {k: {f: statistics.median(r[f] for r in v) for f in ("seconds", "cpu", "peak_mb", "others")}
           for k, v in runs.items()}
    rate = {k: n / m["seconds"] for k, m in med.items()}
    lines = [f"\nN = {n:,}, latency {latency * 1000:g} ms, ceiling {ceiling:,.0f} pages/s "
             f"(medians of {len(next(iter(runs.values())))} rounds)",
             f"{'contender':<22}{'pages/s':>9}{'of ceiling':>11}{'CPU ms/page':>12}{'peak MB':>9}"
             f"{'others':>7}{'× scrapy':>9}{'× aiohttp':>10}"]
    for k in runs:
        lines.append(f"{k:<22}{rate[k]:>9,.0f}{rate[k] / ceiling:>11.2f}{med[k]['cpu'] / n * 1000:>12.2f}"
                     f"{med[k]['peak_mb']:>9.0f}{med[k]['others']:>7.2f}"
                     + (f"{rate[k] / rate['scrapy']:>9.2f}" if "scrapy" in rate else "")
                     + (f"{rate[k] / rate['aiohttp']:>10.2f}" if "aiohttp" in rate else ""))
    pipe = runs.get("ours pipeline")
    if pipe:
        split = {s: statistics.median(r["stage_cpu"][s] for r in pipe) / n * 1000 for s in pipe[0]["stage_cpu"]}
        lines.append(f"pipeline ({pipe[0]['parse_workers']} parse workers, {pipe[0]['parse_ahead']} batches ahead) "
                     "CPU ms/page by stage: " + ", ".join(f"{s} {v:.2f}" for s, v in split.items()))
    if pipe and pipe[0]["parse_workers"]:  # the workers' own CPU beyond parsing: start-up, batches in and out
        work = {s: statistics.median(r["workers_cpu"][s] for r in pipe) / n * 1000 for s in ("parsing", "process")}
        lines.append(f"parse workers CPU ms/page: parsing {work['parsing']:.2f}, "
                     f"whole processes {work['process']:.2f}")
    fetch = runs.get("ours fetch+archive")
    if fetch:  # the fetch loop thread is the one that limits pages/s at 5 ms; the writer runs beside it
        where = {s: statistics.median(r["fetch_split"][s] for r in fetch) / n * 1000 for s in ("loop", "writer")}
        lines.append(f"fetch+archive CPU ms/page: fetch loop thread {where['loop']:.2f}, "
                     f"archive writer process {where['writer']:.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Crawl throughput vs Scrapy and aiohttp on 127.0.0.1.")
    parser.add_argument("--quick", action="store_true", help="N = 1,000 only")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="*", help="override N values")
    parser.add_argument("--latencies", type=float, nargs="*", default=[0.05, 0.005])
    parser.add_argument("--only", nargs="*", choices=list(CONTENDERS), help="subset of contenders")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(CONTENDERS[args.worker](args.base, args.n)))
        return
    sizes = args.sizes or ([1_000] if args.quick else [1_000, 10_000])
    names = args.only or list(CONTENDERS)
    print(f"bench-crawl: {', '.join(names)}; concurrency {CONCURRENCY}; {os.cpu_count()} CPUs; rounds {args.rounds}")
    for n in sizes:
        for latency in args.latencies:
            server = Server(n, latency)
            try:
                runs: dict[str, list[dict[str, Any]]] = {k: [] for k in names}
                for _ in range(args.rounds):
                    for k in names:
                        runs[k].append(measure(k, server.base, n, server))
            finally:
                server.close()
            print(table(n, latency, runs), flush=True)


if __name__ == "__main__":
    main()
