"""Page-verdict quality and speed on the labelled corpus, against two peers measured in the same run.

Quality: confusion matrix, precision and recall per verdict on ../shared/corpus/pages (41 labelled pages),
plus the 35 real news pages of ../shared/corpus/news, which must all be judged ``ok``.
Peers: a naive keyword check (what a pipeline without a rule catalogue does: any of 到期/续费/关闭/
expired/suspended/parked/for sale/404 on the page means dead) and trafilatura (``extract`` returning no
text means "no article"), both scored on article / no-article.
Speed: single core; parse+verdict (decode, one selectolax parse, visible lines, verdict) and verdict
alone on an already parsed Document whose lines are cached, as the pipeline shares one parse.

Run: .venv/bin/python benchmarks/bench_verdicts.py
"""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from parsers.decode import looks_binary
from parsers.document import Document
from parsers.records import CLOSURE_VERDICTS, GOOD_VERDICTS, VERDICTS, RawPage
from parsers.verdict import judge
from tests.conftest import shared_path

NAIVE_WORDS = ("到期", "续费", "关闭", "过期", "暂停", "expired", "suspended", "parked", "for sale", "404")


def load() -> list[tuple[str, str, RawPage]]:
    rows: list[tuple[str, str, RawPage]] = []
    pages, news = shared_path("corpus/pages"), shared_path("corpus/news")
    with (pages / "labels.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            body = (pages / row["file"]).read_bytes()
            rows.append((row["file"], row["verdict"], RawPage(url=f"http://example.com/p/{row['file']}", body=body)))
    for folder in sorted(p for p in news.iterdir() if (p / "page.html").is_file()):
        body = (folder / "page.html").read_bytes()
        raw = RawPage(url=f"http://news.example.com/{folder.name}.html", body=body)
        rows.append((f"news/{folder.name}", "ok", raw))
    return rows


def parse(raw: RawPage) -> Document | None:
    if looks_binary(raw.body):
        return None
    doc = Document.from_raw(raw)
    _ = doc.lines, doc.title
    return doc


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                     for r in rows)


def quality(rows: list[tuple[str, str, RawPage]], docs: list[Document | None]) -> None:
    pairs = []
    for (name, gold, raw), doc in zip(rows, docs, strict=True):
        v = judge(raw, doc)
        pairs.append((gold, v.name))
        if v.name != gold:
            print(f"  miss: {name}: gold {gold}, got {v.name} {[e.rule for e in v.evidence][:3]}")
    names = [n for n in VERDICTS if any(n in p for p in pairs)]
    counts = Counter(pairs)
    print("\nConfusion matrix (rows = gold, columns = predicted)")
    header = ["gold \\ pred", *names]
    print(table([header] + [[g, *(str(counts[(g, p)] or ".") for p in names)] for g in names]))
    print("\nPer verdict")
    out = [["verdict", "gold", "predicted", "precision", "recall"]]
    for n in names:
        tp = counts[(n, n)]
        gold_n = sum(c for (g, _), c in counts.items() if g == n)
        pred_n = sum(c for (_, p), c in counts.items() if p == n)
        out.append([n, str(gold_n), str(pred_n), f"{tp / pred_n:.3f}" if pred_n else "-",
                    f"{tp / gold_n:.3f}" if gold_n else "-"])
    print(table(out))
    total = len(pairs)
    correct = sum(1 for g, p in pairs if g == p)
    ok_closed = sum(1 for g, p in pairs if g in GOOD_VERDICTS and p in CLOSURE_VERDICTS)
    templ = [(g, p) for g, p in pairs if g in CLOSURE_VERDICTS]
    print(f"\noverall recall (accuracy) {correct}/{total} = {correct / total:.3f}; "
          f"template recall {sum(g == p for g, p in templ)}/{len(templ)}; ok pages judged closed: {ok_closed}")


def _has_article(trafilatura: Any, html: str) -> bool:
    return bool(trafilatura.extract(html))


def peers(rows: list[tuple[str, str, RawPage]], docs: list[Document | None]) -> None:
    import trafilatura  # bench peer only

    print("\nArticle / no-article agreement (gold: ok or ok_with_notice = article)")
    out = [["method", "accuracy", "dead pages taken as articles", "articles taken as dead", "pages/s"]]
    methods: dict[str, Callable[[RawPage, Document | None], bool]] = {
        "initiatives.verdict": lambda raw, doc: judge(raw, doc).name in GOOD_VERDICTS,
        "naive keywords": lambda raw, doc: doc is not None and not any(w in doc.visible_text.lower()
                                                                      for w in NAIVE_WORDS),
        "trafilatura.extract": lambda raw, doc: doc is not None and _has_article(trafilatura, doc.text),
    }
    for label, fn in methods.items():
        start = time.perf_counter()
        got = [fn(raw, doc) for (_, _, raw), doc in zip(rows, docs, strict=True)]
        elapsed = time.perf_counter() - start
        gold = [g in GOOD_VERDICTS for g, *_ in ((r[1],) for r in rows)]
        acc = sum(a == b for a, b in zip(got, gold, strict=True)) / len(rows)
        fp = sum(1 for a, b in zip(got, gold, strict=True) if a and not b)
        fn_ = sum(1 for a, b in zip(got, gold, strict=True) if b and not a)
        out.append([label, f"{acc:.3f}", str(fp), str(fn_), f"{len(rows) / elapsed:,.0f}"])
    print(table(out))


def speed(rows: list[tuple[str, str, RawPage]], docs: list[Document | None], rounds: int) -> None:
    print("\nSpeed (single core)")
    out = [["pages", "n", "parse+verdict pages/s", "verdict alone pages/s", "ms/page verdict"]]
    groups = {
        "news articles (typical)": [i for i, r in enumerate(rows) if r[0].startswith("news/")],
        "labelled corpus": [i for i, r in enumerate(rows) if not r[0].startswith("news/")],
        "all": list(range(len(rows))),
    }
    for label, idx in groups.items():
        start = time.perf_counter()
        for _ in range(max(1, rounds // 10)):
            for i in idx:
                judge(rows[i][2], parse(rows[i][2]))
        both = len(idx) * max(1, rounds // 10) / (time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(rounds):
            for i in idx:
                judge(rows[i][2], docs[i])
        alone = len(idx) * rounds / (time.perf_counter() - start)
        out.append([label, str(len(idx)), f"{both:,.0f}", f"{alone:,.0f}", f"{1000 / alone:.3f}"])
    print(table(out))


def main() -> None:
    rows = load()
    docs = [parse(raw) for _, _, raw in rows]
    print(f"{len(rows)} pages: {sum(1 for r in rows if not r[0].startswith('news/'))} labelled + "
          f"{sum(1 for r in rows if r[0].startswith('news/'))} news articles (gold ok)")
    quality(rows, docs)
    peers(rows, docs)
    speed(rows, docs, rounds=int(sys.argv[1]) if len(sys.argv) > 1 else 50)


if __name__ == "__main__":
    main()
