"""CPU per page of the parse stage (``parsers.pipeline.process``), and a dump of its every output.

Sets: ``bench`` (pages as ``benchmarks/crawl_site.py`` serves them, with the headers a fetch records),
and the real pages of ../shared's corpus/news, news2, pages and wild, whichever are present. Timing is
this process's CPU (``time.process_time``), the median of ``--rounds`` passes over each set, so load from
other jobs on a shared machine moves it less than wall time; ``--batch`` times ``flows.batches.parse_batch``
on the bench pages too, in batches as a crawl hands them over; ``--stages`` splits process() into its
stages (decode and parse, document walk, verdict, extraction, records, fingerprints), each timed apart.

``--dump FILE`` writes every page's full result (verdict and evidence, article, records, fingerprints,
and with ``--walk`` the document walk) as JSON lines, with and without learned boilerplate: a speed change
must leave the file byte-identical.

    uv run --frozen python -m benchmarks.parse_cpu [--rounds 5] [--batch] [--stages] [--dump out.jsonl [--walk]]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import hashlib
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks import crawl_site
from parsers.pipeline import parse_document, process
from parsers.records import PageResult, RawPage
from tests.conftest import shared_root
from tests.verdict_support import load_labelled, load_news

BENCH_BASE = "http://127.0.0.1:8080"
#: lines on at least this many pages of one corpus set are passed as learned boilerplate in the dump,
#: so the extractor's boilerplate branch is exercised too.
BOILERPLATE_PAGES = 3


def bench_pages(n: int) -> list[RawPage]:
    """Article pages as the bench crawl receives them (status, headers and final URL as a fetch records)."""
    out = []
    for i in range(1, n + 1):
        url = f"{BENCH_BASE}/news/{i}.html"
        body = crawl_site.article_html(i)
        headers = {"Content-Type": "text/html; charset=utf-8", "Etag": f'"a{i}"',
                   "Content-Length": str(len(body))}
        out.append(RawPage(url=url, body=body, status=200, headers=headers, final_url=url,
                           status_chain=((200, url),)))
    return out


def corpus_sets(bench: int) -> dict[str, list[tuple[str, RawPage]]]:
    sets: dict[str, list[tuple[str, RawPage]]] = {
        "bench": [(p.url, p) for p in bench_pages(bench)]
    }
    root = shared_root() / "corpus"
    for name in ("news", "news2"):
        if (root / name).is_dir():
            sets[name] = [(c.name, c.raw) for c in load_news(root / name)]
    for name in ("pages", "wild"):
        if (root / name / "labels.tsv").is_file():
            sets[name] = [(f"{name}/{c.name}", c.raw) for c in load_labelled(root / name)]
    return sets


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (frozenset, set)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _walk(raw: RawPage) -> Any:
    doc = parse_document(raw)
    if doc is None:
        return None
    return {"title": doc.title, "blocks": [list(b) for b in doc.walk.blocks],
            "containers": [list(c) for c in doc.walk.containers], "meta": doc.meta}


def dump(sets: dict[str, list[tuple[str, RawPage]]], path: Path, walk: bool) -> None:
    with path.open("w", encoding="utf-8") as out:
        for set_name, pages in sets.items():
            results = [process(raw) for _, raw in pages]
            seen = Counter(fp for r in results for fp in r.fingerprints)
            learned = frozenset(fp for fp, n in seen.items() if n >= BOILERPLATE_PAGES)
            for (name, raw), result in zip(pages, results, strict=True):
                row: dict[str, Any] = {"set": set_name, "page": name, "result": _plain(result)}
                if learned:
                    with_bp = process(raw, boilerplate=learned)
                    row["with_boilerplate"] = _plain(with_bp.article) if with_bp != result else "same"
                if walk:
                    row["walk"] = _walk(raw)
                out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"wrote {path} ({hashlib.sha256(path.read_bytes()).hexdigest()[:16]})")


def _cpu(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        gc.collect()
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


STAGES = ("parse", "walk", "verdict", "extract", "records", "fingerprints")


def stage_split(raws: list[RawPage], rounds: int) -> dict[str, float]:
    """CPU seconds per page of each stage of ``pipeline.process``, done the way it does them (the walk,
    which the verdict asks for first, timed apart); median over rounds."""
    from parsers import article, initiatives, site_boilerplate, verdict
    from parsers.records import GOOD_VERDICTS

    per_round: list[dict[str, float]] = []
    for _ in range(rounds):
        gc.collect()
        spent = dict.fromkeys(STAGES, 0.0)
        for raw in raws:
            t0 = time.process_time()
            doc = parse_document(raw)
            t1 = time.process_time()
            if doc is not None:
                _ = doc.walk
            t2 = time.process_time()
            judged = verdict.judge(raw, doc)
            t3 = time.process_time()
            spent["parse"] += t1 - t0
            spent["walk"] += t2 - t1
            spent["verdict"] += t3 - t2
            if judged.name not in GOOD_VERDICTS or doc is None:
                continue
            found = article.extract(doc, judged).article
            t4 = time.process_time()
            spent["extract"] += t4 - t3
            if found is None:
                continue
            found = dataclasses.replace(found, campaigns=initiatives.campaigns(found))
            initiatives.no_records_reason(found, initiatives.parse(found))
            t5 = time.process_time()
            site_boilerplate.page_fingerprints(doc)
            spent["records"] += t5 - t4
            spent["fingerprints"] += time.process_time() - t5
        per_round.append({k: v / len(raws) for k, v in spent.items()})
    return {k: statistics.median(r[k] for r in per_round) for k in STAGES}


def _process_all(raws: list[RawPage]) -> list[PageResult]:
    return [process(r) for r in raws]


def _batch_fn(raws: list[RawPage], batch: int) -> Callable[[], object]:
    from flows import batches
    from flows.pages import FetchedPage, Target
    from flows.sources import Site

    sites = {"bench": Site(name="bench", base_url=BENCH_BASE + "/")}
    now = dt.datetime.now(dt.UTC)
    pages = [FetchedPage(Target(r.url, "bench"), r, now, 0.0, hashlib.sha256(r.body).hexdigest(), 200)
             for r in raws]
    chunks = [pages[i : i + batch] for i in range(0, len(pages), batch)]

    def run() -> list[PageResult]:
        return [r for c in chunks for r in batches.parse_batch(c, sites)]

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--bench-pages", type=int, default=300)
    parser.add_argument("--sets", nargs="*", help="subset of: bench news news2 pages wild")
    parser.add_argument("--batch", action="store_true", help="time parse_batch on the bench pages too")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--stages", action="store_true", help="split process() into its stages")
    parser.add_argument("--dump", type=Path, help="write every result to this JSON-lines file and exit")
    parser.add_argument("--walk", action="store_true", help="with --dump: the document walk too")
    args = parser.parse_args()
    sets = corpus_sets(args.bench_pages)
    if args.sets:
        sets = {k: v for k, v in sets.items() if k in args.sets}
    if args.dump:
        dump(sets, args.dump, args.walk)
        return
    for pages in sets.values():  # warm the rule catalogues and caches once
        for _, raw in pages[:3]:
            process(raw)
    print(f"{'set':<8}{'pages':>7}{'ms/page':>10}   (process(), CPU, median of {args.rounds})")
    for name, pages in sets.items():
        raws = [raw for _, raw in pages]
        cpu = _cpu(partial(_process_all, raws), args.rounds)
        print(f"{name:<8}{len(raws):>7}{cpu / len(raws) * 1000:>10.3f}")
    if args.stages:
        print(f"\n{'set':<8}" + "".join(f"{k:>13}" for k in STAGES) + "   (ms/page, CPU, each stage apart)")
        for name, pages in sets.items():
            split = stage_split([raw for _, raw in pages], args.rounds)
            print(f"{name:<8}" + "".join(f"{split[k] * 1000:>13.3f}" for k in STAGES))
    if args.batch and "bench" in sets:
        raws = [raw for _, raw in sets["bench"]]
        cpu = _cpu(_batch_fn(raws, args.batch_size), args.rounds)
        print(f"{'batch':<8}{len(raws):>7}{cpu / len(raws) * 1000:>10.3f}   (parse_batch, {args.batch_size} a batch)")


if __name__ == "__main__":
    main()
