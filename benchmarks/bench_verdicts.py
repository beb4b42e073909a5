"""Page-verdict quality and speed on both labelled sets, against a peer measured in the same run.

Sets: ../shared/corpus/wild (519 real pages, 37 languages; reported whole and as the two halves of its
template split, see ``tests/verdict_support.split``) and ../shared/corpus/pages (41 pages); the real news pages of
../shared/corpus/news and news2 must all stay ``ok``.
Quality: confusion matrix, closure precision and recall, non-article pages taken as articles, articles
taken as non-articles (``tests/verdict_support.score``; ``unsure`` rows are left out).
Peers: a title-keyword classifier (a dead-page word in the title, in English or Chinese, means dead:
what a pipeline without rules or signals does), scored and timed the same way; and trafilatura
(``extract`` returning no text means "no article"), scored on article / no-article only.
Speed: pages per CPU second of this process (``time.process_time``, so a machine shared with other jobs
does not slow the figure down), verdict alone on already parsed Documents (the pipeline shares one
parse), and parse+verdict.

Run: make bench-verdicts   (or: uv run --frozen python -m benchmarks.bench_verdicts [rounds])
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence

from parsers.document import Document
from parsers.records import VERDICTS, RawPage, Verdict
from parsers.verdict import judge
from tests.conftest import shared_path
from tests.verdict_support import Case, Score, load_labelled, load_news, parse, score, split

PEER_WORDS = {
    "not_found": ("404", "not found", "不存在", "找不到"),
    "blocked": ("403", "forbidden", "access denied", "禁止访问", "拒绝访问"),
    "error": ("500", "502", "503", "error", "错误"),
    "suspended": ("maintenance", "suspended", "维护", "关闭"),
    "expired": ("expired", "过期", "到期"),
    "parked": ("for sale", "parked", "出售"),
    "default_page": ("welcome to nginx", "it works", "coming soon", "建设中"),
}


def title_keywords(raw: RawPage, doc: Document | None) -> Verdict:
    """The peer: the first verdict whose words appear in the title, else ok."""
    title = doc.title.lower() if doc is not None else ""
    for name, words in PEER_WORDS.items():
        if any(w in title for w in words):
            return Verdict(name)  # type: ignore[arg-type]
    return Verdict("ok")


def trafilatura_article(raw: RawPage, doc: Document | None) -> Verdict:
    """The article/no-article peer: trafilatura finds a text or not (it names no kind of dead page)."""
    import trafilatura  # bench peer only

    return Verdict("ok" if doc is not None and trafilatura.extract(doc.text) else "error")


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
                     for r in rows)


def confusion(s: Score) -> str:
    names = [n for n in (*VERDICTS, "unsure") if any(n in p for p in s.pairs)]
    header = ["gold \\ pred", *names]
    return table([header] + [[g, *(str(s.counts[(g, p)] or ".") for p in names)] for g in names
                             if any(gg == g for gg, _ in s.pairs)])


def summary_row(label: str, s: Score) -> list[str]:
    return [label, str(s.n), f"{s.closure_precision:.3f}", f"{s.closure_recall:.3f}",
            f"{s.dead_as_article}/{s.non_articles} = {s.dead_as_article_share:.1%}",
            f"{s.articles_as_dead}/{s.articles}", f"{s.exact:.3f}"]


def judge_all(cases: Sequence[Case], docs: Sequence[Document | None],
              fn: Callable[[RawPage, Document | None], Verdict]) -> list[str]:
    return [fn(c.raw, d).name for c, d in zip(cases, docs, strict=True)]


def quality(sets: dict[str, list[Case]], docs: dict[str, list[Document | None]], verbose: bool) -> None:
    header = ["set", "pages", "closure P", "closure R", "non-articles taken as articles",
              "articles taken as non-articles", "exact"]
    methods: tuple[tuple[str, Callable[[RawPage, Document | None], Verdict]], ...] = (
        ("initiatives.verdict", judge), ("peer: title keywords", title_keywords),
        ("peer: trafilatura.extract (article or not; closure columns meaningless)", trafilatura_article))
    for method, fn in methods:
        rows = [header]
        for label, cases in sets.items():
            got = judge_all(cases, docs[label], fn)
            s = score(cases, got)
            rows.append(summary_row(label, s))
            if method == "initiatives.verdict" and label in ("wild", "pages"):
                print(f"\n{label}: confusion matrix (rows = gold, columns = predicted)")
                print(confusion(s))
                if verbose:
                    for c, g in zip(cases, got, strict=True):
                        if g != c.gold and c.gold != "unsure":
                            print(f"  miss: {c.name} [{c.template}] gold {c.gold}, got {g}")
        print(f"\n{method}")
        print(table(rows))


def speed(cases: list[Case], docs: list[Document | None], rounds: int) -> None:
    print("\nSpeed (pages per CPU second, one core, all labelled pages)")
    out = [["method", "verdict alone pages/s", "parse+verdict pages/s"]]
    for label, fn in (("initiatives.verdict", judge), ("peer: title keywords", title_keywords)):
        start = time.process_time()
        for _ in range(rounds):
            for c, d in zip(cases, docs, strict=True):
                fn(c.raw, d)
        alone = len(cases) * rounds / (time.process_time() - start)
        start = time.process_time()
        for c in cases:
            fn(c.raw, parse(c.raw))
        both = len(cases) / (time.process_time() - start)
        out.append([label, f"{alone:,.0f}", f"{both:,.0f}"])
    print(table(out))


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 5
    verbose = "-v" in sys.argv
    wild = load_labelled(shared_path("corpus/wild"))
    pages = load_labelled(shared_path("corpus/pages"))
    half_a, half_b = split(wild)
    news = load_news(shared_path("corpus/news")) + load_news(shared_path("corpus/news2"))
    sets = {"wild": wild, "wild half A (dev)": half_a, "wild half B (check)": half_b, "pages": pages,
            "wild+pages": wild + pages, "news+news2 (all ok)": news}
    docs = {label: [parse(c.raw) for c in cases] for label, cases in sets.items()}
    print(f"{len(wild)} wild pages (halves {len(half_a)}/{len(half_b)}), {len(pages)} pages, "
          f"{len(news)} news pages")
    quality(sets, docs, verbose)
    speed(wild + pages, docs["wild"] + docs["pages"], rounds)


if __name__ == "__main__":
    main()
