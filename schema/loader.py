"""Load pages' results into the database: natural keys, never good-over-dead, a batch at a time.

The loader is the only writer. Its rules are the invariants downstream apps rely on:
- every fetch attempt is recorded, whatever it got;
- a page whose newest fetch is not good keeps its last good article and records untouched;
- every distinct good text of a page is kept as an article version with its own records (schema/versions.py
  decides which one readers see: a text that is not plausibly the same article stays a suspect until
  confirmed); unchanged text (and parser version) leaves records as they are; record keys derive from
  content, so an unchanged statement has the same key in every version and survives re-parsing;
- shared rows (units, documents, frameworks, people, campaigns) are upserted on their natural keys, so two
  workers loading overlapping pages never duplicate them;
- a page is all there or not at all: a batch is one transaction; if the database refuses it, the batch is
  rolled back and loaded page by page, so only the page it refuses fails (its outcome says why) and every
  other page is loaded whole.

Why a batch and set-based statements: one transaction and a dozen statements per page made loading, not
parsing, the slowest stage of the pipeline. Now each table gets one statement per batch (Core, no ORM
unit of work), and what a batch writes is exactly what loading its pages one by one would write: pages
are applied in order, and a URL repeated within a batch starts a new group that sees the earlier writes.
Rows are locked and upserted in key order, so concurrent workers take locks in the same order.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    TextClause,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from parsers import health, site_boilerplate
from parsers.hosts import host_key
from parsers.pipeline import failed
from parsers.records import GOOD_VERDICTS, PageResult, UnitRef
from parsers.records import Article as ArticleRecord
from parsers.records import Initiative as InitiativeRecord
from parsers.verdict import is_home as is_home_url
from schema import models as m
from schema import versions as versions_rules

log = logging.getLogger(__name__)

#: pages written by one set of statements: keeps IN lists and multi-row statements far below SQLite's
#: bound-parameter limit whatever the batch size.
GROUP = 200
#: errors that say nothing about a page (lost connection, locked database, deadlock): the batch is not
#: retried page by page but raised, so the caller (a Prefect task with retries) runs it again.
TRANSIENT = (sa_exc.OperationalError, sa_exc.InterfaceError)


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
    #: the page served a text kept as a suspect version: readers still see the current one.
    suspect: bool = False
    site_transition: tuple[str, str] | None = None
    #: set when the database refused this page: nothing of it was written (the rest of its batch was).
    error: str | None = None


#: one page to load: what the parsers made of it, and how it was fetched.
Item = tuple[PageResult, FetchFacts]


def record_key(url: str, statement: str, occurrence: int) -> str:
    """Stable across re-parses of unchanged text; ``occurrence`` separates repeated statements."""
    digest = hashlib.sha256(f"{url}\x1f{statement}\x1f{occurrence}".encode()).hexdigest()
    return digest[:32]


def text_hash(article: ArticleRecord) -> str:
    parts = [article.title, str(article.published or ""), article.source or ""]
    parts += [f"{b.kind}:{b.text}" for b in article.body]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _number(value: float) -> int | float:
    """Counts stay integers: the column is NUMERIC, so 4 reads back as 4, not 4.0."""
    return int(value) if float(value).is_integer() else float(value)


@cache
def _group_names() -> dict[str, str]:
    # The unit registry's own group table (parsers/data/groups.tsv): one place names the groups.
    from parsers.units import gazetteer

    return {key: group.label for key, group in gazetteer().groups.items() if group.label}


def group_name(key: str) -> str | None:
    """The group's name for the ``groups`` table; None for a key the gazetteer does not name."""
    return _group_names().get(key)


def _table(model: type[m.Base]) -> Table:
    return cast(Table, model.__table__)


SITES = _table(m.Site)
PAGES = _table(m.Page)
ARTICLES = _table(m.Article)
VERSIONS = _table(m.ArticleVersion)
SECTIONS = _table(m.Section)
INITIATIVES = _table(m.Initiative)


@cache
def _upsert(
    model: type[m.Base], cols: tuple[str, ...], key_cols: tuple[str, ...], update_cols: tuple[str, ...] = ()
) -> TextClause:
    """``INSERT … ON CONFLICT`` in the syntax SQLite and PostgreSQL share, built once per shape.

    SQLAlchemy cannot cache its dialect-specific upsert constructs, so they were compiled anew on every
    execution; this text is compiled once and typed from the model's columns (JSON, timezone-aware times).
    """
    table = _table(model)

    def names(columns: tuple[str, ...]) -> str:
        return ", ".join(f'"{c}"' for c in columns)

    action = "DO NOTHING"
    if update_cols:
        action = "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in update_cols)
    values = ", ".join(f":{c}" for c in cols)
    sql = f"INSERT INTO {table.name} ({names(cols)}) VALUES ({values}) ON CONFLICT ({names(key_cols)}) {action}"
    return text(sql).bindparams(*(bindparam(c, type_=table.c[c].type) for c in cols))


@cache
def _update_by_id(model: type[m.Base], cols: tuple[str, ...]) -> Any:
    """``UPDATE … WHERE id = :_id`` for an executemany over many rows, built once per shape."""
    table = _table(model)
    return update(table).where(table.c.id == bindparam("_id")).values({c: bindparam(c) for c in cols})


def _ids(
    conn: Connection,
    model: type[m.Base],
    key_cols: tuple[str, ...],
    rows: Sequence[dict[str, Any]],
    update_cols: tuple[str, ...] = (),
) -> dict[tuple[Any, ...], int]:
    """Upsert many rows on their natural key in one statement; return ``{key values: id}``.

    Rows go in key order so two workers upserting overlapping rows lock them in the same order.
    """
    by_key = {tuple(r[c] for c in key_cols): r for r in rows}
    if not by_key:
        return {}
    wanted = sorted(by_key)
    unique = [by_key[k] for k in wanted]
    table = _table(model)
    conn.execute(_upsert(model, tuple(unique[0]), key_cols, update_cols), unique)
    cols = [table.c[c] for c in key_cols]
    where = cols[0].in_([w[0] for w in wanted]) if len(cols) == 1 else tuple_(*cols).in_(wanted)
    return {tuple(row[1:]): int(row[0]) for row in conn.execute(select(table.c.id, *cols).where(where))}


def unit_key(unit: UnitRef) -> tuple[str, str]:
    """A unit's natural key in ``units``: (group, name), the group ``NO_GROUP`` when the parser knows none."""
    return (unit.group or m.NO_GROUP, unit.name)


def _unit_ids(conn: Connection, units: Sequence[UnitRef]) -> dict[tuple[str, str], int]:
    """Ids by ``unit_key``; resolved units refresh their gazetteer facts, unresolved ones never downgrade a
    unit the gazetteer already knows in the same group."""
    known = [
        {"group_name": unit_key(u)[0], "name": u.name, "full_name": u.full_name, "unit_type": u.unit_type,
         "resolved": True}
        for u in units
        if u.resolved
    ]
    ids = _ids(conn, m.Unit, ("group_name", "name"), known, ("full_name", "unit_type", "resolved"))
    group_keys = sorted({u.group for u in units if u.group})
    _ids(conn, m.Group, ("key",), [{"key": k, "name": group_name(k)} for k in group_keys], ("name",))
    unknown = [
        {"group_name": unit_key(u)[0], "name": u.name, "resolved": False}
        for u in units
        if not u.resolved and unit_key(u) not in ids
    ]
    ids.update(_ids(conn, m.Unit, ("group_name", "name"), unknown))
    return {(str(group), str(name)): unit_id for (group, name), unit_id in ids.items()}


def _link(conn: Connection, model: type[m.Base], rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(insert(_table(model)), rows)


@dataclass(slots=True)
class _Written:
    """A version written in this batch (new, or its parser changed): its sections and records are written."""

    article_id: int
    version_id: int
    url: str
    article: ArticleRecord
    records: Sequence[InitiativeRecord]
    sections: dict[str, int] = field(default_factory=dict)


def _write_records(conn: Connection, written: Sequence[_Written]) -> None:
    """Records of every rewritten article in the batch, with their units, metrics, documents, frameworks
    and people: one statement per table."""
    rows: list[dict[str, Any]] = []
    keyed: list[tuple[tuple[int, str], InitiativeRecord]] = []
    for w in written:
        seen: Counter[str] = Counter()
        for position, rec in enumerate(w.records):
            seen[rec.statement] += 1
            key = record_key(w.url, rec.statement, seen[rec.statement])
            keyed.append(((w.version_id, key), rec))
            rows.append(
                {
                    "key": key,
                    "article_id": w.article_id,
                    "version_id": w.version_id,
                    "position": position,
                    "section_id": w.sections.get(rec.section) if rec.section else None,
                    "statement": rec.statement,
                    "org_body": rec.org_body,
                }
            )
    if not rows:
        return
    _link(conn, m.Initiative, rows)
    version_ids = [w.version_id for w in written]
    c = INITIATIVES.c
    by_key = {
        (version_id, key): init_id
        for version_id, key, init_id in conn.execute(
            select(c.version_id, c.key, c.id).where(c.version_id.in_(version_ids))
        ).tuples()
    }
    records = [rec for _, rec in keyed]
    all_units = [u for rec in records for u in rec.units]
    units = _unit_ids(conn, all_units)
    # Aliases are keyed by (alias, unit): one alias may name units of several groups, so none overwrites another.
    aliases = sorted({(alias, units[unit_key(u)]) for u in all_units for alias in (*u.aliases, u.mention) if alias})
    if aliases:
        conn.execute(
            _upsert(m.UnitAlias, ("alias", "unit_id"), ("alias", "unit_id")),
            [{"alias": a, "unit_id": unit_id} for a, unit_id in aliases],
        )
    documents = _ids(conn, m.Document, ("title",), [{"title": d} for rec in records for d in rec.documents])
    frameworks = _ids(conn, m.Framework, ("name",), [{"name": f} for rec in records for f in rec.frameworks])
    people = _ids(
        conn,
        m.Person,
        ("name", "title"),
        [{"name": p.name, "title": p.title or ""} for rec in records for p in rec.people],
    )
    unit_links: list[dict[str, Any]] = []
    metrics: list[dict[str, Any]] = []
    doc_links: list[dict[str, Any]] = []
    fw_links: list[dict[str, Any]] = []
    person_links: list[dict[str, Any]] = []
    for vkey, rec in keyed:
        init_id = by_key[vkey]
        linked: set[int] = set()
        for upos, unit in enumerate(rec.units):
            unit_id = units[unit_key(unit)]
            if unit_id not in linked:
                linked.add(unit_id)
                unit_links.append(
                    {"initiative_id": init_id, "unit_id": unit_id, "position": upos, "mention": unit.mention}
                )
        metrics += [
            {
                "initiative_id": init_id,
                "position": i,
                "value": _number(mt.value),
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
        _link(conn, model, link_rows)


_ARTICLE_COLS = (
    "page_id",
    "title",
    "published",
    "published_precision",
    "published_at",
    "source",
    "author",
    "editor",
    "column_tag",
    "body",
    "text_hash",
    "parser_version",
    "last_good_at",
)
#: a version's own copy of its text (the article columns it shares).
_CONTENT_COLS = _ARTICLE_COLS[1:12]
_VERSION_STATE_COLS = ("status", "parser_version", "first_seen", "last_seen", "seen_count", "content_hash")


@dataclass(frozen=True, slots=True)
class _Good:
    """A good page of the batch: its article becomes a version (new or seen before)."""

    page_id: int
    url: str
    result: PageResult
    fetched_at: dt.datetime
    replay: bool
    #: raw-archive key of the body.
    content_hash: str | None


def _content(article: ArticleRecord, new_hash: str, parser_version: str) -> dict[str, Any]:
    return {
        "title": article.title,
        "published": article.published,
        "published_precision": article.published_precision,
        "published_at": article.published_at,
        "source": article.source,
        "author": article.author,
        "editor": article.editor,
        "column_tag": article.column,
        "body": "\n".join(article.paragraphs),
        "text_hash": new_hash,
        "parser_version": parser_version,
    }


def _seen(version: dict[str, Any], at: dt.datetime, content_hash: str | None, replay: bool) -> None:
    """Count a fetch that served this text once, whenever it is loaded (a repeated run adds nothing); a
    replay counts nothing. The newest body's archive key is kept for reparse."""
    first, last = _aware(version["first_seen"]), _aware(version["last_seen"])
    if content_hash and (at >= last or not version["content_hash"]):
        version["content_hash"] = content_hash
    if replay:
        return
    if at > last:
        version["last_seen"], version["seen_count"] = at, version["seen_count"] + 1
    elif at < first:
        version["first_seen"], version["seen_count"] = at, version["seen_count"] + 1


@dataclass(slots=True)
class _VersionPlan:
    """What one batch does to articles and versions, before any of it is written."""

    parser_version: str
    #: article rows to upsert on page id with their (new current) content.
    articles: list[dict[str, Any]] = field(default_factory=list)
    #: articles whose current text was served again: only ``last_good_at`` moves.
    touched: list[dict[str, Any]] = field(default_factory=list)
    #: new versions: (page id, row without article_id, page URL, parsed page).
    new: list[tuple[int, dict[str, Any], str, PageResult]] = field(default_factory=list)
    #: known versions whose state changed, by id.
    changed: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: known versions whose records are rebuilt (new parser version): id → (URL, parsed page).
    rebuilt: dict[int, tuple[str, PageResult]] = field(default_factory=dict)
    #: page id → (article rewritten for readers, records written for readers, the text is a suspect version).
    outcome: dict[int, tuple[bool, int, bool]] = field(default_factory=dict)

    def promote(self, versions: Mapping[str, dict[str, Any]], chosen: dict[str, Any] | None) -> None:
        """Make ``chosen`` (None: a new version) current: the old current is superseded, suspects dropped."""
        for v in versions.values():
            if v is chosen:
                continue
            if v["status"] == m.CURRENT:
                self._set(v, status=m.SUPERSEDED)
            elif v["status"] == m.SUSPECT:
                self._set(v, status=m.DROPPED)
        if chosen is not None:
            self._set(chosen, status=m.CURRENT)

    def _set(self, version: dict[str, Any], **values: Any) -> None:
        version.update(values)
        self.changed[version["id"]] = version


def _plan_good(
    plan: _VersionPlan,
    good: _Good,
    new_hash: str,
    article_row: Mapping[str, Any] | None,
    current_text: tuple[str, str] | None,
    versions: dict[str, dict[str, Any]],
    records: Mapping[int, int],
) -> None:
    """Decide what one good page does to its article's versions (docs/schema.md, "Article versions").

    ``current_text`` (title, body of the current version) is given whenever the text is new or superseded.
    """
    article = good.result.article
    assert article is not None
    pv, at = plan.parser_version, good.fetched_at
    row = {**_content(article, new_hash, pv), "page_id": good.page_id, "last_good_at": at}
    n_records = len(good.result.initiatives)
    if article_row is None:
        plan.articles.append(row)
        first = _new_version(row, m.CURRENT, at, None, good.content_hash)
        plan.new.append((good.page_id, first, good.url, good.result))
        plan.outcome[good.page_id] = (True, n_records, False)
        return
    # None only in a database edited by hand: then any text may become current by the same rules.
    current = next((v for v in versions.values() if v["status"] == m.CURRENT), None)
    # A good fetch no older than the current text's last sighting may move the current mark.
    latest = current is None or at >= _aware(current["last_seen"])
    known = versions.get(new_hash)
    last = article_row["last_good_at"]
    if known is None:
        assert current_text is not None
        like = versions_rules.likeness(*current_text, article.title, row["body"])
        status = m.SUPERSEDED if not latest else m.CURRENT if like.plausible else m.SUSPECT
        new = _new_version(row, status, at, like.text, good.content_hash)
        plan.new.append((good.page_id, new, good.url, good.result))
        if status == m.CURRENT:
            plan.promote(versions, None)
            plan.articles.append(row)
        current_now = status == m.CURRENT
        plan.outcome[good.page_id] = (current_now, n_records if current_now else 0, status == m.SUSPECT)
        return
    before = dict(known)
    _seen(known, at, good.content_hash, good.replay)
    stale = known["parser_version"] != pv or (known is current and article_row["parser_version"] != pv)
    if stale:
        known["parser_version"] = pv
        plan.rebuilt[known["id"]] = (good.url, good.result)
    if known is current:
        if latest and not good.replay:
            plan.promote(versions, current)  # the page serves its article again: pending suspects are dropped
        if stale:
            plan.articles.append({**row, "last_good_at": max(_aware(last), at)})
        else:
            plan.touched.append({"_id": article_row["id"], "last_good_at": max(_aware(last), at)})
    elif latest and not good.replay:
        if known["status"] == m.SUSPECT:
            current_records = records.get(current["id"], 0) if current is not None else 0
            if versions_rules.confirmed(known["seen_count"], records.get(known["id"], 0), current_records):
                plan.promote(versions, known)
        elif known["status"] == m.SUPERSEDED:  # an earlier text is back (an edit undone)
            assert current_text is not None
            if versions_rules.likeness(*current_text, article.title, row["body"]).plausible:
                plan.promote(versions, known)
    if known != before:
        plan.changed[known["id"]] = known
    if known["status"] == m.CURRENT and known is not current:
        plan.articles.append(row)
    readers = known["status"] == m.CURRENT and (stale or known is not current)
    plan.outcome[good.page_id] = (readers, n_records if readers else 0, known["status"] == m.SUSPECT)


def _new_version(
    row: Mapping[str, Any], status: str, at: dt.datetime, like: float | None, content_hash: str | None
) -> dict[str, Any]:
    return {
        **{c: row[c] for c in _CONTENT_COLS},
        "status": status,
        "first_seen": at,
        "last_seen": at,
        "seen_count": 1,
        "likeness": like,
        "content_hash": content_hash,
    }


def _write_articles(
    conn: Connection,
    goods: Sequence[_Good],
    existing: Mapping[int, Mapping[str, Any]],
    parser_version: str,
) -> dict[int, tuple[bool, int, bool]]:
    """Store the good pages' texts as versions; rewrite articles only where the current version changed.

    Returns ``{page id: (article rewritten, records written for readers, suspect)}`` for every good page.
    """
    article_ids = [row["id"] for row in existing.values()]
    versions: dict[int, dict[str, dict[str, Any]]] = {}
    if article_ids:
        v = VERSIONS.c
        for vrow in conn.execute(
            select(v.id, v.article_id, v.text_hash, *(v[c] for c in _VERSION_STATE_COLS))
            .where(v.article_id.in_(article_ids))
            .order_by(v.id)
        ).mappings():
            versions.setdefault(vrow["article_id"], {})[vrow["text_hash"]] = dict(vrow)
    # Only a text that may move the current mark needs the current text (likeness) or record counts (a
    # suspect's confirmation); the common case, the current text served again, needs neither.
    hashes = {g.page_id: text_hash(cast(ArticleRecord, g.result.article)) for g in goods}
    compare: set[int] = set()
    count: set[int] = set()
    for good in goods:
        if (row := existing.get(good.page_id)) is not None:
            known = versions.get(row["id"], {}).get(hashes[good.page_id])
            if known is None or known["status"] == m.SUPERSEDED:
                compare.add(row["id"])
            elif known["status"] == m.SUSPECT:
                count.add(row["id"])
    texts: dict[int, tuple[str, str]] = {}
    if compare:
        a = ARTICLES.c
        texts = {aid: (title, body) for aid, title, body in conn.execute(
            select(a.id, a.title, a.body).where(a.id.in_(sorted(compare)))
        ).tuples()}
    records: dict[int, int] = {}
    if count:
        i = INITIATIVES.c
        records = dict(
            conn.execute(
                select(i.version_id, func.count())
                .join(VERSIONS, VERSIONS.c.id == i.version_id)
                .where(VERSIONS.c.article_id.in_(sorted(count)))
                .group_by(i.version_id)
            ).tuples().all()
        )
    plan = _VersionPlan(parser_version)
    for good in goods:
        article_row = existing.get(good.page_id)
        aid = article_row["id"] if article_row is not None else None
        by_hash = versions.get(aid, {}) if aid is not None else {}
        current_text = texts.get(aid) if aid is not None else None
        _plan_good(plan, good, hashes[good.page_id], article_row, current_text, by_hash, records)
    if plan.touched:
        conn.execute(_update_by_id(m.Article, ("last_good_at",)), plan.touched)
    if plan.articles:
        conn.execute(_upsert(m.Article, _ARTICLE_COLS, ("page_id",), _ARTICLE_COLS[1:]), plan.articles)
    if plan.changed:
        conn.execute(
            _update_by_id(m.ArticleVersion, _VERSION_STATE_COLS),
            [{"_id": vid, **{c: v[c] for c in _VERSION_STATE_COLS}} for vid, v in sorted(plan.changed.items())],
        )
    new_pages = [pid for pid, *_ in plan.new]
    ids = dict(
        conn.execute(select(ARTICLES.c.page_id, ARTICLES.c.id).where(ARTICLES.c.page_id.in_(new_pages))).tuples().all()
    ) if new_pages else {}
    new_ids: dict[tuple[int, str], int] = {}
    if plan.new:
        rows = [{"article_id": ids[pid], **vrow} for pid, vrow, _, _ in plan.new]
        conn.execute(insert(VERSIONS), rows)
        v = VERSIONS.c
        new_ids = {
            (article_id, hash_): vid
            for vid, article_id, hash_ in conn.execute(
                select(v.id, v.article_id, v.text_hash).where(v.article_id.in_(sorted(set(ids.values()))))
            ).tuples()
        }
    if plan.rebuilt:
        rebuilt = sorted(plan.rebuilt)
        for table in (INITIATIVES, SECTIONS, _table(m.ArticleCampaign)):
            conn.execute(delete(table).where(table.c.version_id.in_(rebuilt)))
    article_of = {vid: row["id"] for row in existing.values() for vid in
                  (v["id"] for v in versions.get(row["id"], {}).values())}
    written = [
        _Written(ids[pid], new_ids[(ids[pid], vrow["text_hash"])], url, r.article, r.initiatives)
        for pid, vrow, url, r in plan.new
        if r.article
    ] + [
        _Written(article_of[vid], vid, url, r.article, r.initiatives)
        for vid, (url, r) in sorted(plan.rebuilt.items())
        if r.article
    ]
    _write_version_records(conn, written)
    return plan.outcome


def _write_version_records(conn: Connection, written: Sequence[_Written]) -> None:
    """Sections, campaigns and records of every version written in this batch, a statement per table."""
    if not written:
        return
    _link(
        conn,
        m.Section,
        [
            {"article_id": w.article_id, "version_id": w.version_id, "position": position, "heading": heading}
            for w in written
            for position, heading in enumerate(w.article.sections)
        ],
    )
    by_version = {w.version_id: w for w in written}
    if any(w.article.sections for w in written):
        # Ordered by position: of two equal headings the later one holds the records, as it always did.
        sections = conn.execute(
            select(SECTIONS.c.version_id, SECTIONS.c.heading, SECTIONS.c.id)
            .where(SECTIONS.c.version_id.in_(list(by_version)))
            .order_by(SECTIONS.c.version_id, SECTIONS.c.position)
        ).tuples()
        for version_id, heading, section_id in sections:
            by_version[version_id].sections[heading] = section_id
    campaigns = _ids(conn, m.Campaign, ("name",), [{"name": c} for w in written for c in w.article.campaigns])
    _link(
        conn,
        m.ArticleCampaign,
        [
            {"article_id": w.article_id, "version_id": w.version_id, "campaign_id": campaigns[(c,)]}
            for w in written
            for c in dict.fromkeys(w.article.campaigns)
        ],
    )
    _write_records(conn, written)


@dataclass(slots=True)
class _SiteState:
    """A site row being updated by the batch: health stays parsed until the batch is written."""

    id: int
    name: str | None
    base_url: str | None
    status: str
    status_since: dt.datetime
    shows_closure_notice: bool
    health_json: dict[str, Any]
    boilerplate_json: dict[str, Any]
    #: parsed on the first observation, serialised once when the batch is written.
    state: health.SiteHealth | None = None
    #: the site's boilerplate after this batch's new articles (None: unchanged).
    boilerplate: site_boilerplate.SiteBoilerplate | None = None

    def learn(self, fingerprints: frozenset[str]) -> None:
        """One more article of the host: its lines count toward the site's boilerplate."""
        if self.boilerplate is None:
            self.boilerplate = site_boilerplate.SiteBoilerplate.from_dict(self.boilerplate_json)
        self.boilerplate = site_boilerplate.observe(self.boilerplate, fingerprints)

    def observe(
        self, verdict: str, facts: FetchFacts, policy: health.HealthPolicy, run: str
    ) -> tuple[str, str] | None:
        if self.state is None:
            self.state = health.SiteHealth.from_dict(self.health_json) if self.health_json else health.SiteHealth()
        url, at, base = facts.url, facts.fetched_at, self.base_url
        is_home = is_home_url(url) or (base is not None and url.rstrip("/") == base.rstrip("/"))
        obs = health.Observation(url, is_home, verdict, at, facts.error, facts.http_status)
        self.state = health.observe(self.state, obs, policy, run)
        if verdict == "ok_with_notice":
            self.shows_closure_notice = True
        if self.state.status == self.status:
            return None
        transition = (self.status, self.state.status)
        self.status = self.state.status
        self.status_since = at
        return transition

    def row(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "name": self.name,
            "base_url": self.base_url,
            "status": self.status,
            "status_since": self.status_since,
            "shows_closure_notice": self.shows_closure_notice,
            "health": self.state.to_dict() if self.state is not None else self.health_json,
            "boilerplate": self.boilerplate.to_dict() if self.boilerplate is not None else self.boilerplate_json,
        }


def _lock_sites(conn: Connection, items: Sequence[Item]) -> dict[str, _SiteState]:
    """The batch's sites, created if new and locked for the batch (health is read, changed, written)."""
    first: dict[str, FetchFacts] = {}
    for _, facts in items:
        first.setdefault(host_key(facts.url), facts)
    new = [
        {"host": host, "status": "active", "status_since": facts.fetched_at, "shows_closure_notice": False,
         "health": {}, "boilerplate": {}}
        for host, facts in sorted(first.items())
    ]
    conn.execute(_upsert(m.Site, tuple(new[0]), ("host",)), new)
    c = SITES.c
    rows = conn.execute(
        select(c.host, c.id, c.name, c.base_url, c.status, c.status_since, c.shows_closure_notice, c.health,
               c.boilerplate)
        .where(c.host.in_(sorted(first)))
        .order_by(c.id)
        .with_for_update()
    ).tuples()
    return {host: _SiteState(*rest) for host, *rest in rows}


_PAGE_COLS = ("site_id", "last_fetched_at", "last_verdict", "last_good_at", "etag", "last_modified", "content_hash")


def _lock_pages(conn: Connection, items: Sequence[Item]) -> dict[str, dict[str, Any]]:
    """The batch's page rows (created if new), locked: ``newer`` and ``last_good_at`` are read-modify-write."""
    new = sorted((facts.url, facts.fetched_at) for _, facts in items)
    conn.execute(_upsert(m.Page, ("url", "first_seen"), ("url",)), [{"url": u, "first_seen": t} for u, t in new])
    c = PAGES.c
    rows = conn.execute(
        select(c.url, c.id, *(c[name] for name in _PAGE_COLS))
        .where(c.url.in_([u for u, _ in new]))
        .order_by(c.id)
        .with_for_update()
    ).mappings()
    return {row["url"]: dict(row) for row in rows}


def _fetch_row(page_id: int, load_id: str, result: PageResult, facts: FetchFacts) -> dict[str, Any]:
    verdict = result.verdict
    return {
        "page_id": page_id,
        "load_id": load_id,
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


_FETCH_COLS = (
    "page_id", "load_id", "fetched_at", "http_status", "final_url", "status_chain", "verdict", "evidence",
    "text_length", "main_length", "probe", "content_hash", "encoding", "error",
)


def _load_group(
    conn: Connection, items: Sequence[Item], load_id: str, parser_version: str, policy: health.HealthPolicy
) -> list[LoadOutcome]:
    """Pages with distinct URLs, applied in order, in the caller's transaction."""
    sites = _lock_sites(conn, items)
    pages = _lock_pages(conn, items)
    fetches = [_fetch_row(pages[f.url]["id"], load_id, r, f) for r, f in items if not f.replay]
    if fetches:
        conn.execute(_upsert(m.Fetch, _FETCH_COLS, ("page_id", "load_id"), _FETCH_COLS[2:]), fetches)
    c = ARTICLES.c
    existing = {
        row["page_id"]: dict(row)
        for row in conn.execute(
            select(c.page_id, c.id, c.text_hash, c.parser_version, c.last_good_at)
            .where(c.page_id.in_([p["id"] for p in pages.values()]))
            .order_by(c.id)
            .with_for_update()
        ).mappings()
    }
    goods: list[_Good] = []
    transitions: list[tuple[str, str] | None] = []
    history: list[dict[str, Any]] = []
    for result, facts in items:
        page, site = pages[facts.url], sites[host_key(facts.url)]
        verdict = result.verdict.name
        if facts.site_name and site.name != facts.site_name:
            site.name = facts.site_name
        if facts.base_url and site.base_url != facts.base_url:
            site.base_url = facts.base_url
        page["site_id"] = site.id
        last = page["last_fetched_at"]
        newer = last is None or _aware(last) <= facts.fetched_at
        if newer:
            page["last_fetched_at"] = facts.fetched_at
            page["last_verdict"] = verdict
            page["content_hash"] = facts.content_hash or page["content_hash"]
        if verdict in GOOD_VERDICTS and result.article is not None:
            if newer:
                page["etag"] = facts.etag
                page["last_modified"] = facts.last_modified
            previous = _aware(page["last_good_at"]) if page["last_good_at"] else facts.fetched_at
            page["last_good_at"] = max(previous, facts.fetched_at)
            goods.append(_Good(page["id"], facts.url, result, facts.fetched_at, facts.replay, facts.content_hash))
        transition = None if facts.replay else site.observe(verdict, facts, policy, load_id)
        transitions.append(transition)
        if transition is not None:
            at, why = facts.fetched_at, f"{verdict} at {facts.url}"
            history.append({"site_id": site.id, "from_status": transition[0], "to_status": transition[1], "at": at,
                            "reason": why})
    conn.execute(
        _update_by_id(m.Page, _PAGE_COLS), [{"_id": p["id"], **{k: p[k] for k in _PAGE_COLS}} for p in pages.values()]
    )
    written = _write_articles(conn, goods, existing, parser_version)
    for item in goods:
        # a new current text only: a refetch of the same text counts once, a suspect text not at all
        if written.get(item.page_id, (False, 0, False))[0] and item.result.fingerprints:
            sites[host_key(item.url)].learn(item.result.fingerprints)
    ordered = sorted(sites.values(), key=lambda s: s.id)
    conn.execute(_update_by_id(m.Site, tuple(ordered[0].row())[1:]), [s.row() for s in ordered])
    _link(conn, m.SiteStatusChange, history)
    outcomes = []
    for (result, facts), transition in zip(items, transitions, strict=True):
        page_id = pages[facts.url]["id"]
        good = result.verdict.name in GOOD_VERDICTS and result.article is not None
        rewritten, readers, suspect = written.get(page_id, (False, 0, False))
        outcomes.append(
            LoadOutcome(
                facts.url,
                result.verdict.name,
                article_written=rewritten,
                records_written=readers,
                suspect=suspect,
                # A page that is not good now, or served a suspect text, but has an article: the last good copy
                # stayed as it was.
                kept_good_copy=(not good or suspect) and page_id in existing,
                site_transition=transition,
            )
        )
    return outcomes


def _groups(items: Sequence[Item]) -> Iterator[list[Item]]:
    """Consecutive runs of distinct URLs, at most ``GROUP`` long: a repeated URL must see its earlier load."""
    group: list[Item] = []
    urls: set[str] = set()
    for item in items:
        if item[1].url in urls or len(group) >= GROUP:
            yield group
            group, urls = [], set()
        group.append(item)
        urls.add(item[1].url)
    if group:
        yield group


def _load(
    conn: Connection, items: Sequence[Item], load_id: str, parser_version: str, policy: health.HealthPolicy
) -> list[LoadOutcome]:
    return [o for group in _groups(items) for o in _load_group(conn, group, load_id, parser_version, policy)]


def _why(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:500]


def load_pages(
    engine: Engine,
    items: Sequence[Item],
    load_id: str,
    parser_version: str,
    policy: health.HealthPolicy | None = None,
) -> list[LoadOutcome]:
    """Store a batch of pages in one transaction; one outcome per item, in order.

    If the batch fails it is rolled back and loaded page by page, each page in its own transaction: a
    page the database still refuses gets an outcome with ``error`` set and nothing of it is written.
    Transient errors (``TRANSIENT``) are raised instead, for the caller to retry the batch.
    """
    policy = policy or health.HealthPolicy()
    if not items:
        return []
    with engine.connect() as conn:
        try:
            with conn.begin():
                return _load(conn, items, load_id, parser_version, policy)
        except TRANSIENT:
            raise
        except Exception as exc:
            if len(items) == 1:
                return [_refused(items[0], exc, conn, load_id, parser_version, policy)]
            log.warning("batch of %d pages failed (%s); loading page by page", len(items), _why(exc))
        outcomes: list[LoadOutcome] = []
        for item in items:
            try:
                with conn.begin():
                    outcomes += _load(conn, [item], load_id, parser_version, policy)
            except TRANSIENT:
                raise
            except Exception as exc:
                outcomes.append(_refused(item, exc, conn, load_id, parser_version, policy))
    return outcomes


def _refused(
    item: Item, exc: Exception, conn: Connection, load_id: str, parser_version: str, policy: health.HealthPolicy
) -> LoadOutcome:
    """The outcome of a page the database refused. Its fetch is still recorded where possible, as an
    ``error`` page whose evidence names the exception (no article, no records: nothing of what was
    refused), so the page's story is in the database and a rerun upserts the same row."""
    result, facts = item
    log.warning("page %s not loaded: %s", facts.url, _why(exc))
    if not facts.replay:
        try:
            with conn.begin():
                _load(conn, [(failed(facts.url, exc, "load"), facts)], load_id, parser_version, policy)
        except TRANSIENT:
            raise
        except Exception as again:  # e.g. a URL that names no host: nothing of it can be stored
            log.warning("page %s: not even its failure could be recorded: %s", facts.url, _why(again))
    return LoadOutcome(facts.url, result.verdict.name, error=_why(exc))


def load_page(
    engine: Engine,
    result: PageResult,
    facts: FetchFacts,
    load_id: str,
    parser_version: str,
    policy: health.HealthPolicy | None = None,
) -> LoadOutcome:
    """Store one page's fetch, verdict, article and records in a single transaction; raises if refused."""
    with engine.begin() as conn:
        return _load(conn, [(result, facts)], load_id, parser_version, policy or health.HealthPolicy())[0]


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
