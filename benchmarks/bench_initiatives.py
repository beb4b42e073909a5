"""Unit-initiative parser: quality against gold and single-core throughput.

Quality: precision and recall of (record, unit) pairs, org bodies, metrics, documents, frameworks and
people on the seed (against ../shared/gold), on the project's own fixture articles, and on the genre set
(tests/fixtures/genre: per field, per group, per pattern, records on negative articles).
Speed: articles per second on one core with the full unit registry loaded (every central SOE group), for
the seed and for the genre set's articles, and unit matching with the one compiled automaton against the
naive peer (a loop of str.find over every alias), measured in the same run.

    .venv/bin/python benchmarks/bench_initiatives.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import parsers
from parsers.cjkfold import fold
from parsers.initiatives import _campaign_occurrences, campaigns, no_records_reason, parse
from parsers.records import Article
from parsers.units import gazetteer
from tests.conftest import GOLD_FILE, SEED_FILE, shared_path
from tests.genre_support import SETS, evaluate, format_report, genre_article, genre_cases
from tests.initiatives_support import (
    FIELDS,
    Report,
    fixture_article,
    fixture_cases,
    load_expected,
    score,
    seed_article,
)


def quality_table(title: str, report: Report) -> None:
    print(f"\n{title}")
    print(f"{'field':<12}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}")
    for name in FIELDS:
        s = report.scores[name]
        print(f"{name:<12}{s.tp:>5}{s.fp:>5}{s.fn:>5}{s.precision:>11.3f}{s.recall:>8.3f}")
    print(
        f"missing gold records: {report.missing or 'none'}; records from general statements: {len(report.from_general)}"
    )


def rate(fn: Callable[[], object], seconds: float, rounds: int = 5) -> tuple[float, int]:
    """Calls per second, best of `rounds` (other processes on a shared machine only ever slow a round)."""
    fn()  # warm caches (gazetteer automaton, phrase patterns)
    best, total = 0.0, 0
    for _ in range(rounds):
        n, t0 = 0, time.process_time()
        while (elapsed := time.process_time() - t0) < seconds / rounds:
            fn()
            n += 1
        best, total = max(best, n / elapsed), total + n
    return best, total


def naive_find(aliases: list[str], paragraphs: list[str]) -> int:
    """The peer: one str.find loop per alias per paragraph (what the automaton replaces)."""
    hits = 0
    for text in paragraphs:
        for alias in aliases:
            start = text.find(alias)
            while start != -1:
                hits += 1
                start = text.find(alias, start + 1)
    return hits


def full(articles: list[Article]) -> Callable[[], None]:
    def run() -> None:
        """What parsers.pipeline does per article; every real article is new, so nothing cached."""
        for article in articles:
            _campaign_occurrences.cache_clear()
            fold.cache_clear()
            art = dataclasses.replace(article, campaigns=campaigns(article))
            no_records_reason(art, parse(art))

    return run


def python_peer_rate(seconds: float) -> float:
    """The same seed rate from the Python source (INITIATIVES_PURE_PYTHON=1), in a child process of this run."""
    env = dict(os.environ, INITIATIVES_PURE_PYTHON="1")
    cmd = [sys.executable, "-m", "benchmarks.bench_initiatives", "--seconds", str(seconds), "--seed-rate-only"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return float(out.split()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--seed-rate-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    seed = seed_article(shared_path(SEED_FILE))
    if args.seed_rate_only:
        print(f"{rate(full([seed]), args.seconds)[0]:.1f}")
        return
    gold = json.loads(shared_path(GOLD_FILE).read_text(encoding="utf-8"))
    quality_table("seed vs gold (frameworks: gold lists the minimum, extras count as fp)", score(parse(seed), gold))
    fixtures = Report()
    for text_path, expected_path in fixture_cases():
        score(parse(fixture_article(text_path)), load_expected(expected_path), fixtures)
    quality_table(f"own fixture articles ({len(fixture_cases())} files)", fixtures)

    cases = genre_cases()
    for name in SETS:
        part = [c for c in cases if c.set_name == name]
        if part:
            where = f"genre set '{name}' (tests/fixtures/genre), parse on the text dumps"
            print(f"\n{where}\n{format_report(evaluate(part))}")

    records = len(parse(seed))
    chars = sum(len(b.text) for b in seed.body)
    genre = [genre_article(c) for c in cases]
    genre_records = sum(len(parse(a)) for a in genre)
    genre_chars = sum(len(b.text) for a in genre for b in a.body)

    seed_s, _ = rate(full([seed]), args.seconds)
    genre_s, _ = rate(full(genre), args.seconds)
    genre_s *= len(genre)
    g = gazetteer()
    paragraphs = seed.paragraphs + [p for a in genre for p in a.paragraphs]
    aliases = sorted({a for u in g.units for a in (*u.aliases, *([u.full_name] if u.full_name else []))})
    auto_s, _ = rate(lambda: [g.find(p) for p in paragraphs], args.seconds)
    naive_s, _ = rate(lambda: naive_find(aliases, paragraphs), args.seconds)

    print(
        f"\nthroughput (best of 5 rounds), one core, full registry ({len(g.groups)} groups, {len(g.units)} units,"
        f" {len(aliases)} aliases), {args.seconds:.0f}s each"
    )
    print(f"{'what':<58}{'articles/s':>12}{'records/s':>12}")
    seed_what = f"seed: campaigns + parse + reason ({chars} chars, {records} rec)"
    print(f"{seed_what:<58}{seed_s:>12.0f}{seed_s * records:>12.0f}")
    genre_what = f"genre set: same ({len(genre)} art, {genre_chars // len(genre)} chars avg)"
    print(f"{genre_what:<58}{genre_s:>12.0f}{genre_s * genre_records / len(genre):>12.0f}")
    print(f"{'unit matching, seed + genre paragraphs: one automaton':<58}{auto_s:>12.1f}{'':>12}")
    print(f"{'unit matching, same: naive str.find loop (peer)':<58}{naive_s:>12.1f}{'':>12}")
    print(
        f"(automaton / peer = {auto_s / naive_s:.1f}x; the naive peer finds known aliases only,"
        " no prefixes, numbered or unknown units, no context rules)"
    )
    print(f"\nparsers: {parsers.status()}")
    if parsers.compiled_dir() is not None:
        peer = python_peer_rate(args.seconds)
        print(f"{'seed, same, the Python source (peer, child process)':<58}{peer:>12.0f}")
        print(f"(compiled / Python source = {seed_s / peer:.2f}x on the seed, same records: tests/test_compiled.py)")


if __name__ == "__main__":
    main()
