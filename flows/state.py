"""What the database already knows, read in bulk before a batch is planned (never per page in a loop).

Flows ask: which of these URLs already hold a good article (so crawl does not refetch them), with which
validators and archived body (for a conditional GET); how each site is doing (retired sites are only
probed); which URLs a resumed backfill already finished; and, for reparse, each page's newest good body.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from flows.fetch import Conditional
from parsers import health
from parsers.records import GOOD_VERDICTS
from schema import models as m

#: SQL IN lists are chunked to stay under SQLite's bound-parameter limit.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class PageState:
    url: str
    has_article: bool
    conditional: Conditional | None
    good_hash: str | None


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]


def _newest_good_hash(session: Session, page_ids: Sequence[int]) -> dict[int, str]:
    """page id -> content hash of its newest good fetch that has an archived body."""
    newest = (
        select(m.Fetch.page_id, func.max(m.Fetch.fetched_at).label("at"))
        .where(m.Fetch.page_id.in_(page_ids), m.Fetch.verdict.in_(GOOD_VERDICTS), m.Fetch.content_hash.is_not(None))
        .group_by(m.Fetch.page_id)
        .subquery()
    )
    rows = session.execute(
        select(m.Fetch.page_id, m.Fetch.content_hash).join(
            newest, (m.Fetch.page_id == newest.c.page_id) & (m.Fetch.fetched_at == newest.c.at)
        )
    )
    return {pid: h for pid, h in rows.tuples() if h}


def _current_version_hash(session: Session, page_ids: Sequence[int]) -> dict[int, str]:
    """page id -> archive key of the body its current article version was last read from, where known."""
    rows = session.execute(
        select(m.Article.page_id, m.ArticleVersion.content_hash)
        .join(m.ArticleVersion, m.ArticleVersion.article_id == m.Article.id)
        .where(m.Article.page_id.in_(page_ids), m.ArticleVersion.status == m.CURRENT,
               m.ArticleVersion.content_hash.is_not(None))
    )
    return {pid: h for pid, h in rows.tuples() if h}


def page_states(engine: Engine, urls: Sequence[str]) -> dict[str, PageState]:
    out: dict[str, PageState] = {}
    with Session(engine) as s:
        for part in _chunks(list(urls)):
            rows = s.execute(
                select(m.Page.id, m.Page.url, m.Page.etag, m.Page.last_modified, m.Article.id)
                .outerjoin(m.Article, m.Article.page_id == m.Page.id)
                .where(m.Page.url.in_(part))
            ).tuples().all()
            hashes = _newest_good_hash(s, [r[0] for r in rows])
            for pid, url, etag, modified, article_id in rows:
                cond = Conditional(etag, modified) if (etag or modified) and pid in hashes else None
                out[url] = PageState(url, article_id is not None, cond, hashes.get(pid))
    return out


def site_health(engine: Engine, hosts: Iterable[str]) -> dict[str, health.SiteHealth]:
    wanted = list(dict.fromkeys(hosts))
    with Session(engine) as s:
        rows = s.execute(select(m.Site.host, m.Site.health).where(m.Site.host.in_(wanted))).tuples().all()
    return {host: health.SiteHealth.from_dict(data) if data else health.SiteHealth() for host, data in rows}


def finished_urls(engine: Engine, load_id: str, urls: Sequence[str] | None = None) -> dict[str, dt.date | None]:
    """URLs a run with this load id already loaded (of ``urls``, or all), with their article dates."""
    q = (
        select(m.Page.url, m.Article.published)
        .join(m.Fetch, m.Fetch.page_id == m.Page.id)
        .outerjoin(m.Article, m.Article.page_id == m.Page.id)
        .where(m.Fetch.load_id == load_id)
    )
    with Session(engine) as s:
        if urls is None:
            return {url: day for url, day in s.execute(q).tuples()}
        out: dict[str, dt.date | None] = {}
        for part in _chunks(list(urls)):
            out.update((url, day) for url, day in s.execute(q.where(m.Page.url.in_(part))).tuples())
        return out


def known_urls(engine: Engine, hosts: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(hosts))
    with Session(engine) as s:
        return list(
            s.scalars(
                select(m.Page.url).join(m.Site, m.Site.id == m.Page.site_id).where(m.Site.host.in_(wanted))
                .order_by(m.Page.id)
            )
        )


@dataclass(frozen=True, slots=True)
class GoodBody:
    url: str
    content_hash: str
    fetched_at: dt.datetime
    http_status: int | None
    final_url: str | None


def good_bodies(
    engine: Engine,
    hosts: Sequence[str] | None,
    since: dt.date | None,
    until: dt.date | None,
    parser_version: str | None,
) -> list[GoodBody]:
    """Each selected page's newest good archived body: what reparse rebuilds from.

    Pages are selected by site host, by article date, and by the parser version that wrote their
    article (``None``: any). A page whose newest fetch is dead still yields its last good body, so a
    reparse refreshes the kept copy without ever replacing it by the dead page.
    """
    with Session(engine) as s:
        q = (
            select(m.Page.id)
            .join(m.Article, m.Article.page_id == m.Page.id)
            .join(m.Site, m.Site.id == m.Page.site_id)
            .order_by(m.Page.id)
        )
        if hosts:
            q = q.where(m.Site.host.in_(list(hosts)))
        if since:
            q = q.where(m.Article.published >= since)
        if until:
            q = q.where(m.Article.published <= until)
        if parser_version:
            q = q.where(m.Article.parser_version == parser_version)
        ids = list(s.scalars(q))
        out: list[GoodBody] = []
        for i in range(0, len(ids), CHUNK):
            part = ids[i : i + CHUNK]
            # The current article version's body, not a newer suspect one (a soft-404 taken for an article).
            hashes = _newest_good_hash(s, part) | _current_version_hash(s, part)
            rows = s.execute(
                select(m.Page.id, m.Page.url, m.Fetch.fetched_at, m.Fetch.http_status, m.Fetch.final_url,
                       m.Fetch.content_hash)
                .join(m.Fetch, m.Fetch.page_id == m.Page.id)
                .where(m.Page.id.in_(part), m.Fetch.verdict.in_(GOOD_VERDICTS))
                .order_by(m.Page.id, m.Fetch.fetched_at.desc())
            ).tuples()
            seen: set[int] = set()
            for pid, url, at, status, final, digest in rows:
                if pid in seen or digest is None or digest != hashes.get(pid):
                    continue
                seen.add(pid)
                aware = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
                out.append(GoodBody(url, digest, aware, status, final))
        return out
