"""The JSON contract of ``initiatives inspect --format json``; exports reuse it, so key names are fixed."""

from __future__ import annotations

from typing import Any

from parsers.records import Article, Initiative, PageResult


def _article(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "published": article.published.isoformat() if article.published else None,
        "source": article.source,
        "sections": article.sections,
        "paragraphs": article.paragraphs,
        "campaigns": list(article.campaigns),
    }


def _initiative(rec: Initiative) -> dict[str, Any]:
    return {
        "section": rec.section,
        "statement": rec.statement,
        "org_body": rec.org_body,
        "units": [
            {
                "mention": u.mention,
                "name": u.name,
                "full_name": u.full_name,
                "aliases": list(u.aliases),
                "resolved": u.resolved,
            }
            for u in rec.units
        ],
        "metrics": [{"value": m.value, "measure": m.measure, "object": m.object} for m in rec.metrics],
        "documents": list(rec.documents),
        "frameworks": list(rec.frameworks),
        "people": [{"name": p.name, "title": p.title} for p in rec.people],
    }


def to_contract(result: PageResult) -> dict[str, Any]:
    return {
        "target": result.target,
        "verdict": result.verdict.name,
        "evidence": [{"rule": e.rule, "match": e.match} for e in result.verdict.evidence],
        "article": _article(result.article) if result.article is not None else None,
        "initiatives": [_initiative(r) for r in result.initiatives],
    }
