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
    #: the group the text put the unit in ('' when none): two groups' 四院 are two entries.
    group: str = ""


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
            select(
                m.Unit.name, func.count(m.InitiativeUnit.initiative_id), func.min(m.Initiative.statement),
                m.Unit.group_name,
            )
            .join(m.InitiativeUnit, m.InitiativeUnit.unit_id == m.Unit.id)
            .join(m.Initiative, m.Initiative.id == m.InitiativeUnit.initiative_id)
            .where(m.Unit.resolved.is_(False))
            .group_by(m.Unit.id, m.Unit.name, m.Unit.group_name)
            .order_by(func.count(m.InitiativeUnit.initiative_id).desc(), m.Unit.name, m.Unit.group_name)
            .limit(limit)
        ).tuples()
        return [UnresolvedUnit(name, int(n), ex or "", group) for name, n, ex, group in rows]


@dataclass(frozen=True, slots=True)
class RunRow:
    """One flow run's row of ``load_runs``: what an operator checks after a night of crawls."""

    load_id: str
    flow: str
    started_at: str
    finished_at: str | None
    pages_by_verdict: dict[str, int]
    articles_written: int
    records_written: int
    not_modified: int
    errors: int

    @property
    def pages(self) -> int:
        return sum(self.pages_by_verdict.values())


def recent_runs(engine: Engine, limit: int = 20, flow: str | None = None) -> list[RunRow]:
    """The newest load runs first, with the counts their flow recorded."""
    q = select(m.LoadRun).order_by(m.LoadRun.started_at.desc(), m.LoadRun.id.desc()).limit(limit)
    if flow:
        q = q.where(m.LoadRun.flow == flow)
    with Session(engine) as s:
        rows = list(s.scalars(q))
    out = []
    for r in rows:
        stats = r.stats or {}
        out.append(RunRow(
            load_id=r.load_id,
            flow=r.flow,
            started_at=r.started_at.isoformat(timespec="seconds"),
            finished_at=r.finished_at.isoformat(timespec="seconds") if r.finished_at else None,
            pages_by_verdict={str(k): int(v) for k, v in (stats.get("pages_by_verdict") or {}).items()},
            articles_written=int(stats.get("articles_written") or 0),
            records_written=int(stats.get("records_written") or 0),
            not_modified=int(stats.get("not_modified") or 0),
            errors=len(stats.get("errors") or ()),
        ))
    return out


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
