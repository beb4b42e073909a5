"""What the pipeline concluded about each archived fetch, as WARC metadata records beside the captures.

The response records are written before anything parses them (a crash must not lose a body), so the
verdict comes later, in its own small file per batch: one ``metadata`` record per page, referring to the
page's response or revisit record (``WARC-Refers-To``), with the verdict, its evidence, the load id and the
parser version. A WARC reader then has the page and why it was (or was not) taken as an article, without
the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flows.archive import RawArchive
from flows.pages import FetchedPage
from parsers.records import PageResult


def verdict_fields(page: FetchedPage, result: PageResult, load_id: str, parser_version: str) -> dict[str, Any]:
    verdict = result.verdict
    return {
        "verdict": verdict.name,
        "evidence": [{"rule": e.rule, "match": e.match, "where": e.where} for e in verdict.evidence],
        "load_id": load_id,
        "parser_version": parser_version,
        "http_status": page.http_status,
        "status_chain": [list(hop) for hop in page.raw.status_chain],
        "final_url": page.raw.final_url,
        "sha256": page.content_hash,
        "reason": result.reason,
    }


def record_verdicts(
    archive: RawArchive, pages: Sequence[FetchedPage], results: Sequence[PageResult], load_id: str,
    parser_version: str,
) -> None:
    """One metadata record per archived page of a loaded batch (pages with no record are skipped)."""
    archive.put_metadata([
        (page.target.url, page.record_id, verdict_fields(page, result, load_id, parser_version))
        for page, result in zip(pages, results, strict=True) if page.record_id
    ])
