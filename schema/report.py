"""Read-side summaries for operators: what the database holds now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from schema import models as m


@dataclass(frozen=True, slots=True)
class Summary:
    pages_by_verdict: dict[str, int]
    articles: int
    initiatives: int
    units_resolved: int
    units_unresolved: int
    sites: list[tuple[str, str, bool]]


@dataclass(frozen=True, slots=True)
class UnresolvedUnit:
    name: str
    mentions: int
    example: str


def summary(engine: Engine) -> Summary:
    with Session(engine) as s:
        verdicts = dict(
            s.execute(select(m.Page.last_verdict, func.count()).group_by(m.Page.last_verdict)).tuples().all()
        )
        units = dict(s.execute(select(m.Unit.resolved, func.count()).group_by(m.Unit.resolved)).tuples().all())
        return Summary(
            pages_by_verdict={str(k): int(v) for k, v in verdicts.items()},
            articles=s.scalar(select(func.count()).select_from(m.Article)) or 0,
            initiatives=s.scalar(select(func.count()).select_from(m.Initiative)) or 0,
            units_resolved=units.get(True, 0),
            units_unresolved=units.get(False, 0),
            sites=[
                (h, st, bool(n))
                for h, st, n in s.execute(
                    select(m.Site.host, m.Site.status, m.Site.shows_closure_notice).order_by(m.Site.host)
                ).tuples()
            ],
        )


def unresolved_units(engine: Engine, limit: int = 100) -> list[UnresolvedUnit]:
    """Units seen in text but missing from the gazetteer, most mentioned first, with one example."""
    with Session(engine) as s:
        rows = s.execute(
            select(m.Unit.name, func.count(m.InitiativeUnit.initiative_id), func.min(m.Initiative.statement))
            .join(m.InitiativeUnit, m.InitiativeUnit.unit_id == m.Unit.id)
            .join(m.Initiative, m.Initiative.id == m.InitiativeUnit.initiative_id)
            .where(m.Unit.resolved.is_(False))
            .group_by(m.Unit.name)
            .order_by(func.count(m.InitiativeUnit.initiative_id).desc(), m.Unit.name)
            .limit(limit)
        ).tuples()
        return [UnresolvedUnit(name, int(n), ex or "") for name, n, ex in rows]


@dataclass(frozen=True, slots=True)
class VersionLine:
    id: int
    status: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    seen_count: int
    title: str
    text_hash: str
    records: int
    likeness: float | None


@dataclass(frozen=True, slots=True)
class FetchLine:
    fetched_at: dt.datetime
    load_id: str
    http_status: int | None
    verdict: str
    content_hash: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class PageHistory:
    url: str
    last_verdict: str | None
    versions: list[VersionLine]
    fetches: list[FetchLine]


def page_history(engine: Engine, url: str) -> PageHistory | None:
    """A page's article versions (oldest first) and every fetch with its verdict; None for an unknown URL."""
    with Session(engine) as s:
        page = s.execute(select(m.Page.id, m.Page.last_verdict).where(m.Page.url == url)).one_or_none()
        if page is None:
            return None
        page_id, last_verdict = page
        records = (
            select(func.count()).where(m.Initiative.version_id == m.ArticleVersion.id).scalar_subquery()
        )
        versions = [
            VersionLine(vid, status, first, last, seen, title, digest, int(n), like)
            for vid, status, first, last, seen, title, digest, n, like in s.execute(
                select(
                    m.ArticleVersion.id, m.ArticleVersion.status, m.ArticleVersion.first_seen,
                    m.ArticleVersion.last_seen, m.ArticleVersion.seen_count, m.ArticleVersion.title,
                    m.ArticleVersion.text_hash, records, m.ArticleVersion.likeness,
                )
                .join(m.Article, m.Article.id == m.ArticleVersion.article_id)
                .where(m.Article.page_id == page_id)
                .order_by(m.ArticleVersion.first_seen, m.ArticleVersion.id)
            ).tuples()
        ]
        fetches = [
            FetchLine(*row)
            for row in s.execute(
                select(m.Fetch.fetched_at, m.Fetch.load_id, m.Fetch.http_status, m.Fetch.verdict,
                       m.Fetch.content_hash, m.Fetch.error)
                .where(m.Fetch.page_id == page_id)
                .order_by(m.Fetch.fetched_at, m.Fetch.id)
            ).tuples()
        ]
    return PageHistory(url, last_verdict, versions, fetches)
