"""The whole pure pipeline on the founding article, as a text dump and as an HTML page, against gold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parsers.pipeline import process_file
from parsers.records import PageResult
from tests.conftest import ROOT

SEED_HTML = ROOT / "initiatives" / "demo_site" / "live" / "aecc-zhuxin.html"


@pytest.fixture(scope="module")
def gold(gold_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(gold_path.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module", params=["text-dump", "html-page"])
def result(request: pytest.FixtureRequest) -> PageResult:
    path: Path = request.getfixturevalue("seed_path") if request.param == "text-dump" else SEED_HTML
    return process_file(path)


def test_verdict_and_article(result: PageResult, gold: dict[str, Any]) -> None:
    expected = gold["article"]
    assert result.verdict.name == expected["expected_verdict"]
    article = result.article
    assert article is not None
    assert article.title == expected["title"]
    assert article.source == expected["source"]
    assert article.published is not None and article.published.isoformat() == expected["published"]
    assert article.sections == expected["sections"]
    assert list(article.campaigns) == expected["campaigns"]
    body = "\n".join(article.paragraphs)
    leaked = [text for text in expected["must_not_be_in_body"] if text in body]
    assert leaked == []


def test_every_gold_record_with_units_metrics_and_documents(result: PageResult, gold: dict[str, Any]) -> None:
    records = list(result.initiatives)
    assert len(records) == len(gold["initiatives"])
    for rec, want in zip(records, gold["initiatives"], strict=True):
        assert rec.section == want["section"], want["id"]
        assert [(u.mention, u.name) for u in rec.units] == [(u["mention"], u["short"]) for u in want["units"]]
        assert rec.org_body == want["org_body"], want["id"]
        assert want["statement_starts"] in rec.statement, want["id"]
        assert [(m.value, m.measure, m.object) for m in rec.metrics] == [
            (m["value"], m["measure"], m["object"]) for m in want["metrics"]
        ], want["id"]
        assert list(rec.documents) == want["documents"], want["id"]
        assert set(want["frameworks"]) <= set(rec.frameworks), want["id"]
        assert [(p.name, p.title) for p in rec.people] == [(p["name"], p["title"]) for p in want["people"]]


def test_general_statements_make_no_record(result: PageResult, gold: dict[str, Any]) -> None:
    for opening in gold["not_unit_records"]:
        assert not any(rec.statement.startswith(opening[:12]) for rec in result.initiatives), opening
