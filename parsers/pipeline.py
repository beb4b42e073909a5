"""The pure path from one fetched page to everything the loader stores.

decode → one parse → verdict → article → records. No network, no database: the flows call this on
fetched bytes, ``initiatives inspect`` on files, and ``reparse`` on the raw archive, so all three agree.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from parsers import article as article_stage
from parsers import initiatives as initiatives_stage
from parsers import site_boilerplate
from parsers import verdict as verdict_stage
from parsers.document import Document, document_from_bytes
from parsers.records import GOOD_VERDICTS, Evidence, PageResult, Probe, RawPage, SiteSelectors, Verdict

#: bump when a stage changes its output, so ``reparse`` can find pages parsed by older code.
PARSER_VERSION = "2"  # 2: issue 14 (unit registry of every group, roles, measures)

#: file suffixes read as plain-text dumps (one paragraph per line, like the seed).
TEXT_SUFFIXES = frozenset({".txt", ".text"})


def parse_document(raw: RawPage) -> Document | None:
    """One decode and one parse per page; None when the body is not text at all."""
    if raw.error is not None or not raw.body:
        return None
    content_type = next((v for k, v in raw.headers.items() if k.lower() == "content-type"), None)
    return document_from_bytes(raw.url, raw.body, content_type)


#: evidence rule of a page whose processing raised: the page's outcome, never the batch's.
FAILED_RULE = "pipeline.exception"


def failed(url: str, exc: BaseException, stage: str = "pipeline") -> PageResult:
    """The outcome of a page that broke a stage: verdict ``error``, the exception named in its evidence.

    Such a page is one page's problem (site health counts it as page-level), loads like any other error
    page, and the rest of its batch goes on."""
    broke = f"{type(exc).__name__}: {exc}"[:200]
    verdict = Verdict("error", (Evidence(FAILED_RULE, broke, stage),))
    return PageResult(url, verdict, reason=f"{stage} failed: {broke}")


def is_failure(result: PageResult) -> bool:
    return any(e.rule == FAILED_RULE for e in result.verdict.evidence)


def process(
    raw: RawPage,
    selectors: SiteSelectors | None = None,
    probe: Probe | None = None,
    doc: Document | None = None,
    boilerplate: frozenset[str] = frozenset(),
) -> PageResult:
    """Judge, extract and parse one page. ``doc`` may be passed when the caller already parsed it;
    ``boilerplate`` is the host's learned line fingerprints (``parsers.site_boilerplate.learned``), empty
    when nothing is known.

    Never raises: this is the one per-page guard of every caller (crawl batches, reparse, ``inspect``),
    so an input that breaks any stage (a 4,301-digit number, a markup the parser chokes on) becomes that
    page's ``error`` outcome instead of failing its batch and every rerun of it."""
    try:
        return _process(raw, selectors, probe, doc, boilerplate)
    except Exception as exc:
        return failed(raw.url, exc)


def _process(
    raw: RawPage,
    selectors: SiteSelectors | None,
    probe: Probe | None,
    doc: Document | None,
    boilerplate: frozenset[str],
) -> PageResult:
    if doc is None:
        doc = parse_document(raw)
    verdict = verdict_stage.judge(raw, doc, probe)
    encoding = doc.encoding if doc is not None else None
    if verdict.name not in GOOD_VERDICTS or doc is None:
        return PageResult(raw.url, verdict, encoding=encoding, reason=f"verdict {verdict.name}")
    extraction = article_stage.extract(doc, verdict, selectors, boilerplate)
    if extraction.article is None:
        return PageResult(raw.url, verdict, encoding=encoding, reason=extraction.reason)
    article = extraction.article
    article = dataclasses.replace(article, campaigns=initiatives_stage.campaigns(article))
    records = initiatives_stage.parse(article)
    reason = initiatives_stage.no_records_reason(article, records)
    fingerprints = site_boilerplate.page_fingerprints(doc)
    return PageResult(raw.url, verdict, article, records, encoding, reason, fingerprints)


def raw_from_file(path: Path) -> RawPage:
    """A saved page as if fetched: ``.txt`` dumps are served as text/plain, everything else as HTML."""
    body = path.read_bytes()
    content_type = "text/plain" if path.suffix.lower() in TEXT_SUFFIXES else "text/html"
    return RawPage(url=str(path), body=body, status=200, headers={"content-type": content_type})


def process_file(path: Path, selectors: SiteSelectors | None = None) -> PageResult:
    return process(raw_from_file(path), selectors)
