"""Article-version plausibility (schema/versions.py) measured on real articles: what the thresholds rest on.

Pairs, from ../shared/corpus:
- same article, edited: each news/news2 article against perturbed copies of itself (5 characters changed,
  a third of one paragraph rewritten, one paragraph replaced, a paragraph appended, the last one dropped, the
  title edited and one paragraph replaced): these should be plausible (become current at once);
- unrelated: each article against 8 texts extracted from labelled non-article pages of pages/ and wild/
  (closure, error, challenge, soft-404 pages: what a verdict mistake would hand the loader), against
  other articles of the same site (a reused URL) and of other sites: these must never be plausible.
Peer: difflib.SequenceMatcher.ratio (the standard library's text likeness) on the same pairs, same run.

Run: make bench-versions
"""

from __future__ import annotations

import csv
import difflib
import random
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from parsers.article import extract
from parsers.pipeline import parse_document
from parsers.records import RawPage, Verdict
from schema import versions
from tests.conftest import ROOT

CORPUS = ROOT.parent / "shared" / "corpus"
EDITS = ("typos", "paragraph edited", "paragraph replaced", "paragraph appended", "paragraph dropped",
         "title edited + paragraph replaced")
Text = tuple[str, list[str]]


def _extracted(path: Path) -> Text | None:
    doc = parse_document(RawPage("http://bench.invalid/a", path.read_bytes(), 200, {"content-type": "text/html"}))
    if doc is None:
        return None
    article = extract(doc, Verdict("ok")).article
    return (article.title, article.paragraphs) if article is not None else None


def articles() -> list[tuple[str, Text]]:
    out: list[tuple[str, Text]] = []
    for d in sorted((CORPUS / "news2").iterdir()):
        if (d / "cleaned.txt").is_file():
            paras = [line for line in (d / "cleaned.txt").read_text(encoding="utf-8").splitlines() if line.strip()]
            site = (d / "origin.txt").read_text(encoding="utf-8").split("_")[1]
            out.append((site, ((d / "title.txt").read_text(encoding="utf-8").strip(), paras)))
    for d in sorted((CORPUS / "news").iterdir()):
        if (d / "page.html").is_file() and (got := _extracted(d / "page.html")) is not None:
            out.append((f"news/{d.name}", got))
    return [(site, t) for site, t in out if t[1]]


def non_articles() -> list[Text]:
    out: list[Text] = []
    for labels, folder in ((CORPUS / "pages" / "labels.tsv", CORPUS / "pages"),
                           (CORPUS / "wild" / "labels.tsv", CORPUS / "wild" / "pages")):
        with labels.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                if row["verdict"] not in ("ok", "ok_with_notice", "unsure"):
                    got = _extracted(folder / row["file"])
                    if got is not None and got[1]:
                        out.append(got)
    return out


def edit(kind: str, text: Text, rnd: random.Random, pool: list[str]) -> Text:
    title, paras = text[0], list(text[1])
    i = len(paras) // 2
    if kind == "typos":
        for _ in range(5):
            j = rnd.randrange(len(paras))
            if paras[j]:
                k = rnd.randrange(len(paras[j]))
                paras[j] = paras[j][:k] + "某" + paras[j][k + 1:]
    elif kind == "paragraph edited":
        s = paras[i]
        n = max(1, len(s) // 3)
        k = rnd.randrange(max(1, len(s) - n))
        paras[i] = s[:k] + rnd.choice(pool)[:n] + s[k + n:]
    elif kind == "paragraph replaced":
        paras[i] = rnd.choice(pool)
    elif kind == "paragraph appended":
        paras.append("(更正)" + rnd.choice(pool))
    elif kind == "paragraph dropped":
        paras = paras[:-1] or paras
    else:
        title, paras[i] = title[: max(1, len(title) - 3)] + "(更新)", rnd.choice(pool)
    return title, paras


def pairs() -> list[tuple[str, Text, Text]]:
    rnd = random.Random(15)
    arts, dead = articles(), non_articles()
    pool = [p for _, (_, paras) in arts for p in paras]
    out: list[tuple[str, Text, Text]] = []
    for site, text in arts:
        out += [(f"edited: {kind}", text, edit(kind, text, rnd, pool)) for kind in EDITS]
        out += [("unrelated: non-article page", text, d) for d in rnd.sample(dead, 8)]
        out += [("unrelated: same-site article", text, t) for s, t in arts if s == site and t != text][:3]
        out += [("unrelated: other article", text, t) for _, t in rnd.sample(arts, 3) if t != text]
    print(f"{len(arts)} articles, {len(dead)} non-article pages' extracted texts, {len(out)} pairs")
    return out


def ours(a: Text, b: Text) -> tuple[bool, float, float]:
    like = versions.likeness(a[0], "\n".join(a[1]), b[0], "\n".join(b[1]))
    return like.plausible, like.text, like.title


def peer(a: Text, b: Text) -> float:
    return difflib.SequenceMatcher(None, "\n".join([a[0], *a[1]]), "\n".join([b[0], *b[1]]), autojunk=False).ratio()


def _rate(fn: Callable[[Text, Text], object], sample: list[tuple[str, Text, Text]]) -> float:
    start = time.perf_counter()
    for _, a, b in sample:
        fn(a, b)
    return len(sample) / (time.perf_counter() - start)


def main() -> None:
    rows = pairs()
    by: dict[str, list[tuple[bool, float, float]]] = defaultdict(list)
    for kind, a, b in rows:
        by[kind].append(ours(a, b))
    print(f"\nthresholds: text >= {versions.TEXT_MIN}, or title >= {versions.TITLE_MIN} and text >= "
          f"{versions.TEXT_MIN_SAME_TITLE}")
    print(f"{'pairs':<44}{'n':>6}{'plausible':>11}{'text min':>10}{'text p50':>10}{'text max':>10}{'title max':>11}")
    for kind in sorted(by):
        got = by[kind]
        texts = sorted(t for _, t, _ in got)
        print(f"{kind:<44}{len(got):>6}{sum(p for p, _, _ in got) / len(got):>11.3f}{texts[0]:>10.3f}"
              f"{texts[len(texts) // 2]:>10.3f}{texts[-1]:>10.3f}{max(t for _, _, t in got):>11.3f}")
    edited = [p for k, g in by.items() if k.startswith("edited") for p, _, _ in g]
    unrelated = [p for k, g in by.items() if k.startswith("unrelated") for p, _, _ in g]
    print(f"\nedits made current at once: {sum(edited)}/{len(edited)} ({sum(edited) / len(edited):.3f}); the rest "
          f"wait as suspects for {versions.CONFIRMATIONS} fetches")
    print(f"unrelated texts made current: {sum(unrelated)}/{len(unrelated)}")
    sample = rows[:: max(1, len(rows) // 600)]
    ours_rate, peer_rate = _rate(ours, sample), _rate(peer, sample)
    print(f"\nspeed on {len(sample)} pairs: ours {ours_rate:,.0f} pairs/s, difflib ratio {peer_rate:,.0f} pairs/s "
          f"({ours_rate / peer_rate:.1f}x)")


if __name__ == "__main__":
    main()
