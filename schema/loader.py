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
from dataclasses import dataclass
from functools import cache
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Engine, Table, TextClause, bindparam, delete, insert, select, text, tuple_
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


@cache
def _upsert(
    model: type[m.Base], cols: tuple[str, ...], key_cols: tuple[str, ...], update_cols: tuple[str, ...] = ()
) -> TextClause:
    """``INSERT … ON CONFLICT`` in the syntax SQLite and PostgreSQL share, built once per shape.

    SQLAlchemy cannot cache its dialect-specific upsert constructs, so they were compiled anew on every
    execution; this text is compiled once and typed from the model's columns (JSON, timezone-aware times).
    """
    table = cast(Table, model.__table__)

    def names(columns: tuple[str, ...]) -> str:
        return ", ".join(f'"{c}"' for c in columns)

    action = "DO NOTHING"
    if update_cols:
        action = "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in update_cols)
    values = ", ".join(f":{c}" for c in cols)
    sql = f"INSERT INTO {table.name} ({names(cols)}) VALUES ({values}) ON CONFLICT ({names(key_cols)}) {action}"
    return text(sql).bindparams(*(bindparam(c, type_=table.c[c].type) for c in cols))


def _upsert_id(
    session: Session, model: type[m.Base], key: Mapping[str, Any], defaults: Mapping[str, Any] | None = None
) -> int:
    """Id of the row with natural key ``key``, inserting it race-free; ``defaults`` fill a new row only."""
    row = {**key, **(defaults or {})}
    session.execute(_upsert(model, tuple(row), tuple(key)), row)
    row_id = session.scalar(select(model.id).filter_by(**key))  # type: ignore[attr-defined]
    assert row_id is not None
    return int(row_id)


def _ids(
    session: Session,
    model: type[m.Base],
    key_cols: tuple[str, ...],
    rows: Sequence[dict[str, Any]],
    update_cols: tuple[str, ...] = (),
) -> dict[tuple[Any, ...], int]:
    """Upsert many rows on their natural key in one statement; return ``{key values: id}``.

    Set-based on purpose: one page can name dozens of units, and a statement per row made loading, not
    parsing, the slowest stage of the pipeline.
    """
    unique = list({tuple(r[c] for c in key_cols): r for r in rows}.values())
    if not unique:
        return {}
    table = cast(Table, model.__table__)
    session.execute(_upsert(model, tuple(unique[0]), key_cols, update_cols), unique)
    cols = [table.c[c] for c in key_cols]
    wanted = [tuple(r[c] for c in key_cols) for r in unique]
    where = cols[0].in_([w[0] for w in wanted]) if len(cols) == 1 else tuple_(*cols).in_(wanted)
    return {tuple(row[1:]): int(row[0]) for row in session.execute(select(table.c.id, *cols).where(where))}


def _unit_ids(session: Session, units: Sequence[UnitRef]) -> dict[str, int]:
    """Ids by canonical name; resolved units refresh their gazetteer facts, unresolved ones never
    downgrade a unit the gazetteer already knows."""
    known = [
        {"name": u.name, "full_name": u.full_name, "unit_type": u.unit_type, "group_name": u.group, "resolved": True}
        for u in units
        if u.resolved
    ]
    ids = _ids(session, m.Unit, ("name",), known, ("full_name", "unit_type", "group_name", "resolved"))
    known_names = {k["name"] for k in known}
    unknown = [{"name": u.name, "resolved": False} for u in units if not u.resolved and u.name not in known_names]
    ids.update(_ids(session, m.Unit, ("name",), unknown))
    by_name = {name: unit_id for (name,), unit_id in ids.items()}
    aliases = {alias: by_name[u.name] for u in units for alias in (*u.aliases, u.mention) if alias}
    if aliases:
        session.execute(
            _upsert(m.UnitAlias, ("unit_id", "alias"), ("alias",)),
            [{"unit_id": unit_id, "alias": alias} for alias, unit_id in aliases.items()],
        )
    return by_name


def _link(session: Session, model: type[m.Base], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(cast(Table, model.__table__)), rows)


def _write_records(session: Session, article_id: int, url: str, records: Sequence[InitiativeRecord]) -> int:
    sections = {
        heading: section_id
        for section_id, heading in session.execute(
            select(m.Section.id, m.Section.heading).where(m.Section.article_id == article_id)
        ).tuples()
    }
    seen: Counter[str] = Counter()
    keys: list[str] = []
    rows = []
    for position, rec in enumerate(records):
        seen[rec.statement] += 1
        keys.append(record_key(url, rec.statement, seen[rec.statement]))
        rows.append(
            {
                "key": keys[-1],
                "article_id": article_id,
                "position": position,
                "section_id": sections.get(rec.section) if rec.section else None,
                "statement": rec.statement,
                "org_body": rec.org_body,
            }
        )
    _link(session, m.Initiative, rows)
    by_key = dict(
        session.execute(select(m.Initiative.key, m.Initiative.id).where(m.Initiative.article_id == article_id))
        .tuples()
        .all()
    )
    units = _unit_ids(session, [u for rec in records for u in rec.units])
    documents = _ids(session, m.Document, ("title",), [{"title": d} for rec in records for d in rec.documents])
    frameworks = _ids(session, m.Framework, ("name",), [{"name": f} for rec in records for f in rec.frameworks])
    people = _ids(
        session,
        m.Person,
        ("name", "title"),
        [{"name": p.name, "title": p.title or ""} for rec in records for p in rec.people],
    )
    unit_links, metrics, doc_links, fw_links, person_links = [], [], [], [], []
    for key, rec in zip(keys, records, strict=True):
        init_id = by_key[key]
        linked: set[int] = set()
        for upos, unit in enumerate(rec.units):
            if units[unit.name] not in linked:
                linked.add(units[unit.name])
                unit_links.append(
                    {"initiative_id": init_id, "unit_id": units[unit.name], "position": upos, "mention": unit.mention}
                )
        metrics += [
            {
                "initiative_id": init_id,
                "position": i,
                "value": float(mt.value),
                "measure": mt.measure,
                "object": mt.object,
            }
            for i, mt in enumerate(rec.metrics)
        ]
        doc_links += [{"initiative_id": init_id, "document_id": documents[(d,)]} for d in dict.fromkeys(rec.documents)]
        fw_links += [
            {"initiative_id": init_id, "framework_id": frameworks[(f,)]} for f in dict.fromkeys(rec.frameworks)
        ]
        person_links += [
            {"initiative_id": init_id, "person_id": people[pk]}
            for pk in dict.fromkeys((p.name, p.title or "") for p in rec.people)
        ]
    for model, link_rows in (
        (m.InitiativeUnit, unit_links),
        (m.Metric, metrics),
        (m.InitiativeDocument, doc_links),
        (m.InitiativeFramework, fw_links),
        (m.InitiativePerson, person_links),
    ):
        _link(session, model, link_rows)
    return len(records)


def _write_article(
    session: Session,
    page: m.Page,
    result: PageResult,
    fetched_at: dt.datetime,
    parser_version: str,
) -> tuple[bool, int]:
    """Upsert the article; replace its sections and records only when text or parser changed."""
    article = result.article
    assert article is not None
    new_hash = text_hash(article)
    row = session.scalar(select(m.Article).where(m.Article.page_id == page.id).with_for_update())
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
    campaigns = _ids(session, m.Campaign, ("name",), [{"name": c} for c in article.campaigns])
    _link(session, m.ArticleCampaign, [{"article_id": row.id, "campaign_id": cid} for cid in campaigns.values()])
    session.flush()
    written = _write_records(session, row.id, page.url, result.initiatives)
    return True, written


def _observe_site(
    session: Session, site: m.Site, page_url: str, verdict: str, at: dt.datetime, policy: health.HealthPolicy
) -> tuple[str, str] | None:
    state = health.SiteHealth.from_dict(site.health) if site.health else health.SiteHealth()
    is_home = is_home_url(page_url) or (site.base_url is not None and page_url.rstrip("/") == site.base_url.rstrip("/"))
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
    with Session(engine) as session, session.begin():
        host = site_host(facts.url)
        new_site = {"status": "active", "status_since": facts.fetched_at, "shows_closure_notice": False, "health": {}}
        site_id = _upsert_id(session, m.Site, {"host": host}, new_site)
        site = session.get(m.Site, site_id)
        assert site is not None
        if facts.site_name and site.name != facts.site_name:
            site.name = facts.site_name
        if facts.base_url and site.base_url != facts.base_url:
            site.base_url = facts.base_url
        page_id = _upsert_id(session, m.Page, {"url": facts.url}, {"first_seen": facts.fetched_at})
        page = session.get(m.Page, page_id)
        assert page is not None
        page.site_id = site_id
        fetch_values: dict[str, Any] = {
            "fetched_at": facts.fetched_at,
            "http_status": facts.http_status,
            "final_url": facts.final_url,
            "status_chain": [list(hop) for hop in facts.status_chain],
            "verdict": verdict.name,
            "evidence": [{"rule": e.rule, "match": e.match, "where": e.where} for e in verdict.evidence],
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
            row = {"page_id": page_id, "load_id": load_id, **fetch_values}
            session.execute(_upsert(m.Fetch, tuple(row), ("page_id", "load_id"), tuple(fetch_values)), row)
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
            article_written, records = _write_article(session, page, result, facts.fetched_at, parser_version)
        transition = (
            None if facts.replay else _observe_site(session, site, facts.url, verdict.name, facts.fetched_at, policy)
        )
        # A page that is not good now but has an article: the last good copy stayed as it was.
        kept = not good and session.scalar(select(m.Article.id).where(m.Article.page_id == page_id)) is not None
    return LoadOutcome(facts.url, verdict.name, article_written, records, kept, transition)


def record_run(engine: Engine, load_id: str, flow: str, started_at: dt.datetime, stats: Mapping[str, Any]) -> None:
    """The run's row in ``load_runs`` (dlt's load id): a repeated publish of the same run overwrites it."""
    row = {
        "load_id": load_id,
        "flow": flow,
        "started_at": started_at,
        "finished_at": dt.datetime.now(dt.UTC),
        "stats": dict(stats),
    }
    with Session(engine) as session, session.begin():
        session.execute(_upsert(m.LoadRun, tuple(row), ("load_id",), ("finished_at", "stats")), row)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything stored here is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
