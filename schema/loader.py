"""Load one page's results into the database: one transaction, natural keys, never good-over-dead.

The loader is the only writer. Its rules are the invariants downstream apps rely on:
- every fetch attempt is recorded, whatever it got;
- a page whose newest fetch is not good keeps its last good article and records untouched;
- unchanged text (and parser version) leaves records as they are; changed text replaces the article's
  records in the same transaction, with keys derived from content so they survive re-parsing;
- shared rows (units, documents, frameworks, people, campaigns) are upserted on their natural keys, so two
  workers loading overlapping pages never duplicate them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from parsers import health
from parsers.records import GOOD_VERDICTS, PageResult, UnitRef
from parsers.records import Article as ArticleRecord
from parsers.records import Initiative as InitiativeRecord
from parsers.verdict import is_home as is_home_url
from schema import models as m


@dataclass(frozen=True, slots=True)
class FetchFacts:
    """Transport facts the loader stores beside the parse result (the fetch row)."""

    url: str
    fetched_at: dt.datetime
    http_status: int | None = None
    final_url: str | None = None
    status_chain: tuple[tuple[int, str], ...] = ()
    content_hash: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    site_name: str | None = None
    base_url: str | None = None
    #: re-parsing an archived body (no new fetch): no fetch row, and site health is left as it is.
    replay: bool = False


@dataclass(frozen=True, slots=True)
class LoadOutcome:
    url: str
    verdict: str
    article_written: bool = False
    records_written: int = 0
    kept_good_copy: bool = False
    site_transition: tuple[str, str] | None = None


@dataclass(slots=True)
class _Keys:
    """Shared-row ids already resolved in this transaction, to avoid re-selecting the same unit."""

    ids: dict[tuple[str, str], int] = field(default_factory=dict)


def site_host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.lower() if parts.netloc else "local"


def record_key(url: str, statement: str, occurrence: int) -> str:
    """Stable across re-parses of unchanged text; ``occurrence`` separates repeated statements."""
    digest = hashlib.sha256(f"{url}\x1f{statement}\x1f{occurrence}".encode()).hexdigest()
    return digest[:32]


def text_hash(article: ArticleRecord) -> str:
    parts = [article.title, str(article.published or ""), article.source or ""]
    parts += [f"{b.kind}:{b.text}" for b in article.body]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _insert(session: Session, model: type[m.Base]) -> Any:
    dialect = session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)


def _upsert_id(
    session: Session,
    keys: _Keys,
    model: type[m.Base],
    key: Mapping[str, Any],
    update: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> int:
    """Id of the row with natural key ``key``, inserting it (or refreshing ``update``) race-free.

    ``defaults`` are written only when the row is new; ``update`` also overwrites an existing row.
    """
    cache_key = (model.__tablename__, repr(sorted(key.items())))
    if cache_key in keys.ids and not update:
        return keys.ids[cache_key]
    stmt = _insert(session, model).values(**key, **(defaults or {}), **(update or {}))
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=dict(update))
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    session.execute(stmt)
    row_id = session.scalar(select(model.id).filter_by(**key))  # type: ignore[attr-defined]
    assert row_id is not None
    keys.ids[cache_key] = row_id
    return int(row_id)


def _unit_id(session: Session, keys: _Keys, unit: UnitRef) -> int:
    if unit.resolved:
        unit_id = _upsert_id(
            session,
            keys,
            m.Unit,
            {"name": unit.name},
            {
                "full_name": unit.full_name,
                "unit_type": unit.unit_type,
                "group_name": unit.group,
                "resolved": True,
            },
        )
    else:
        # An unresolved mention never downgrades a unit the gazetteer already knows.
        unit_id = _upsert_id(session, keys, m.Unit, {"name": unit.name}, defaults={"resolved": False})
    for alias in {*unit.aliases, unit.mention} - {""}:
        session.execute(
            _insert(session, m.UnitAlias)
            .values(unit_id=unit_id, alias=alias)
            .on_conflict_do_nothing(index_elements=["alias"])
        )
    return unit_id


def _write_records(
    session: Session, keys: _Keys, article_id: int, url: str, records: Sequence[InitiativeRecord]
) -> int:
    sections = {
        s.heading: s.id
        for s in session.scalars(select(m.Section).where(m.Section.article_id == article_id))
    }
    seen: Counter[str] = Counter()
    for position, rec in enumerate(records):
        seen[rec.statement] += 1
        init = m.Initiative(
            key=record_key(url, rec.statement, seen[rec.statement]),
            article_id=article_id,
            position=position,
            section_id=sections.get(rec.section) if rec.section else None,
            statement=rec.statement,
            org_body=rec.org_body,
        )
        session.add(init)
        session.flush()
        linked: set[int] = set()
        for upos, unit in enumerate(rec.units):
            unit_id = _unit_id(session, keys, unit)
            if unit_id not in linked:
                linked.add(unit_id)
                session.add(
                    m.InitiativeUnit(
                        initiative_id=init.id, unit_id=unit_id, position=upos, mention=unit.mention
                    )
                )
        for mpos, metric in enumerate(rec.metrics):
            session.add(
                m.Metric(
                    initiative_id=init.id,
                    position=mpos,
                    value=float(metric.value),
                    measure=metric.measure,
                    object=metric.object,
                )
            )
        for title in dict.fromkeys(rec.documents):
            doc_id = _upsert_id(session, keys, m.Document, {"title": title})
            session.add(m.InitiativeDocument(initiative_id=init.id, document_id=doc_id))
        for name in dict.fromkeys(rec.frameworks):
            fw_id = _upsert_id(session, keys, m.Framework, {"name": name})
            session.add(m.InitiativeFramework(initiative_id=init.id, framework_id=fw_id))
        people = {(p.name, p.title or ""): None for p in rec.people}
        for name, title in people:
            person_id = _upsert_id(session, keys, m.Person, {"name": name, "title": title})
            session.add(m.InitiativePerson(initiative_id=init.id, person_id=person_id))
    return len(records)


def _write_article(
    session: Session,
    keys: _Keys,
    page: m.Page,
    result: PageResult,
    fetched_at: dt.datetime,
    parser_version: str,
) -> tuple[bool, int]:
    """Upsert the article; replace its sections and records only when text or parser changed."""
    article = result.article
    assert article is not None
    new_hash = text_hash(article)
    row = session.scalar(
        select(m.Article).where(m.Article.page_id == page.id).with_for_update()
    )
    if row is not None and row.text_hash == new_hash and row.parser_version == parser_version:
        row.last_good_at = max(_aware(row.last_good_at), fetched_at) if row.last_good_at else fetched_at
        return False, 0
    if row is None:
        row = m.Article(page_id=page.id)
        session.add(row)
    row.title = article.title
    row.published = article.published
    row.published_precision = article.published_precision
    row.published_at = article.published_at
    row.source = article.source
    row.author = article.author
    row.editor = article.editor
    row.column_tag = article.column
    row.body = "\n".join(article.paragraphs)
    row.text_hash = new_hash
    row.parser_version = parser_version
    row.last_good_at = fetched_at
    session.flush()
    session.execute(delete(m.Initiative).where(m.Initiative.article_id == row.id))
    session.execute(delete(m.Section).where(m.Section.article_id == row.id))
    session.execute(delete(m.ArticleCampaign).where(m.ArticleCampaign.article_id == row.id))
    for position, heading in enumerate(article.sections):
        session.add(m.Section(article_id=row.id, position=position, heading=heading))
    for name in dict.fromkeys(article.campaigns):
        campaign_id = _upsert_id(session, keys, m.Campaign, {"name": name})
        session.add(m.ArticleCampaign(article_id=row.id, campaign_id=campaign_id))
    session.flush()
    written = _write_records(session, keys, row.id, page.url, result.initiatives)
    return True, written


def _observe_site(
    session: Session, site: m.Site, page_url: str, verdict: str, at: dt.datetime, policy: health.HealthPolicy
) -> tuple[str, str] | None:
    state = health.SiteHealth.from_dict(site.health) if site.health else health.SiteHealth()
    is_home = is_home_url(page_url) or (
        site.base_url is not None and page_url.rstrip("/") == site.base_url.rstrip("/")
    )
    new_state = health.observe(state, health.Observation(page_url, is_home, verdict, at), policy)
    site.health = new_state.to_dict()
    if verdict == "ok_with_notice":
        site.shows_closure_notice = True
    if new_state.status == site.status:
        return None
    transition = (site.status, new_state.status)
    session.add(
        m.SiteStatusChange(
            site_id=site.id,
            from_status=site.status,
            to_status=new_state.status,
            at=at,
            reason=f"{verdict} at {page_url}",
        )
    )
    site.status = new_state.status
    site.status_since = at
    return transition


def load_page(
    engine: Engine,
    result: PageResult,
    facts: FetchFacts,
    load_id: str,
    parser_version: str,
    policy: health.HealthPolicy | None = None,
) -> LoadOutcome:
    """Store one page's fetch, verdict, article and records in a single transaction."""
    policy = policy or health.HealthPolicy()
    verdict = result.verdict
    keys = _Keys()
    with Session(engine) as session, session.begin():
        host = site_host(facts.url)
        site_id = _upsert_id(session, keys, m.Site, {"host": host})
        site = session.get(m.Site, site_id)
        assert site is not None
        if facts.site_name and site.name != facts.site_name:
            site.name = facts.site_name
        if facts.base_url and site.base_url != facts.base_url:
            site.base_url = facts.base_url
        page_id = _upsert_id(session, keys, m.Page, {"url": facts.url})
        page = session.get(m.Page, page_id)
        assert page is not None
        page.site_id = site_id
        fetch_values: dict[str, Any] = {
            "fetched_at": facts.fetched_at,
            "http_status": facts.http_status,
            "final_url": facts.final_url,
            "status_chain": [list(hop) for hop in facts.status_chain],
            "verdict": verdict.name,
            "evidence": [
                {"rule": e.rule, "match": e.match, "where": e.where} for e in verdict.evidence
            ],
            "text_length": verdict.text_length,
            "main_length": verdict.main_length,
            "probe": (
                {"url": verdict.probe.url, "status": verdict.probe.status, "similarity": verdict.probe.similarity}
                if verdict.probe
                else None
            ),
            "content_hash": facts.content_hash,
            "encoding": result.encoding,
            "error": facts.error,
        }
        if not facts.replay:
            session.execute(
                _insert(session, m.Fetch)
                .values(page_id=page_id, load_id=load_id, **fetch_values)
                .on_conflict_do_update(index_elements=["page_id", "load_id"], set_=fetch_values)
            )
        newer = page.last_fetched_at is None or _aware(page.last_fetched_at) <= facts.fetched_at
        if newer:
            page.last_fetched_at = facts.fetched_at
            page.last_verdict = verdict.name
            page.content_hash = facts.content_hash or page.content_hash
        article_written, records = False, 0
        good = verdict.name in GOOD_VERDICTS and result.article is not None
        if good:
            if newer:
                page.etag = facts.etag
                page.last_modified = facts.last_modified
            previous = _aware(page.last_good_at) if page.last_good_at else facts.fetched_at
            page.last_good_at = max(previous, facts.fetched_at)
            article_written, records = _write_article(
                session, keys, page, result, facts.fetched_at, parser_version
            )
        transition = (
            None if facts.replay else _observe_site(session, site, facts.url, verdict.name, facts.fetched_at, policy)
        )
        # A page that is not good now but has an article: the last good copy stayed as it was.
        kept = not good and session.scalar(select(m.Article.id).where(m.Article.page_id == page_id)) is not None
    return LoadOutcome(facts.url, verdict.name, article_written, records, kept, transition)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
