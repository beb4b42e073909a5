"""The normalized database downstream apps read.

Every table that can be written twice has a natural unique key, so the loader can upsert and a repeated
run changes nothing. Shared things (units, documents, frameworks, people, campaigns) are rows of their
own, linked from records, so one unit is one row however many articles mention it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012 - SQLAlchemy reads it here


def _utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Site(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))
    base_url: Mapped[str | None] = mapped_column(String(2048))
    #: active, degraded, expired, parked, suspended or unreachable (see parsers.health).
    status: Mapped[str] = mapped_column(String(32), default="active")
    status_since: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc)
    #: True once any page of the site showed a hosting/closure notice, even beside a good article.
    shows_closure_notice: Mapped[bool] = mapped_column(Boolean, default=False)
    #: serialised parsers.health.SiteHealth, so health decisions survive between runs.
    health: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: serialised parsers.site_boilerplate.SiteBoilerplate: line fingerprints repeating across the host's
    #: pages, learned as articles come in and passed to extraction (migration 0005).
    boilerplate: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    history: Mapped[list[SiteStatusChange]] = relationship(back_populates="site", order_by="SiteStatusChange.id")


class SiteStatusChange(Base):
    __tablename__ = "site_status_history"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str | None] = mapped_column(Text)
    site: Mapped[Site] = relationship(back_populates="history")


class LoadRun(Base):
    """One run of a flow (dlt's load id): every fetch row points at the run that wrote it."""

    __tablename__ = "load_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    load_id: Mapped[str] = mapped_column(String(64), unique=True)
    flow: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Page(Base):
    __tablename__ = "pages"
    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"), index=True)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc)
    last_fetched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: verdict of the newest fetch; may be a closure while the article below stays the last good copy.
    last_verdict: Mapped[str | None] = mapped_column(String(32))
    last_good_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(128))
    #: sha256 of the newest body, the key into the raw archive.
    content_hash: Mapped[str | None] = mapped_column(String(64))


class Fetch(Base):
    """Every attempt, good or bad: the audit trail behind a page's verdict."""

    __tablename__ = "fetches"
    __table_args__ = (UniqueConstraint("page_id", "load_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    load_id: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    http_status: Mapped[int | None] = mapped_column(Integer)
    final_url: Mapped[str | None] = mapped_column(String(2048))
    status_chain: Mapped[list[Any]] = mapped_column(default=list)
    verdict: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    text_length: Mapped[int] = mapped_column(Integer, default=0)
    main_length: Mapped[int] = mapped_column(Integer, default=0)
    probe: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    encoding: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)


class RecoveredCapture(Base):
    """Where a recovered page's text came from: a capture in a public web archive (``flows/recover.py``).

    One row per capture a page was recovered from; ``v_articles`` shows the newest as the article's
    provenance while no good live fetch has come since (a live copy always wins)."""

    __tablename__ = "recovered_captures"
    __table_args__ = (UniqueConstraint("page_id", "archive", "captured_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), index=True)
    #: ``wayback`` or ``commoncrawl``.
    archive: Mapped[str] = mapped_column(String(32))
    captured_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    #: the replay URL (Wayback ``id_``) or ``<WARC file URL>@<offset>`` (Common Crawl).
    capture_url: Mapped[str] = mapped_column(String(2048))
    #: sha256 of the body as stored in the raw archive (a response record with ``WARC-Source-URI``).
    content_hash: Mapped[str] = mapped_column(String(64))
    load_id: Mapped[str] = mapped_column(String(64))
    recovered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utc)


class _ArticleText:
    """The fields of one article text, shared by the current copy (``articles``) and every version."""

    title: Mapped[str] = mapped_column(Text)
    #: "day", or "month" when the page shows only a year and month (published is then the 1st).
    published_precision: Mapped[str] = mapped_column(String(8), default="day")
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False))
    source: Mapped[str | None] = mapped_column(String(255))
    author: Mapped[str | None] = mapped_column(String(255))
    editor: Mapped[str | None] = mapped_column(String(255))
    column_tag: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    #: sha256 of the extracted text: unchanged text means records are left exactly as they are.
    text_hash: Mapped[str] = mapped_column(String(64))
    parser_version: Mapped[str] = mapped_column(String(32))


class Article(_ArticleText, Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"), unique=True)
    published: Mapped[dt.date | None] = mapped_column(Date, index=True)
    #: when the source last served this article as a good page (it may be dead now).
    last_good_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sections: Mapped[list[Section]] = relationship(order_by="Section.position", cascade="all, delete-orphan")


#: version states (docs/schema.md, "Article versions"): readers' views show only the current one.
CURRENT, SUSPECT, SUPERSEDED, DROPPED = "current", "suspect", "superseded", "dropped"


class ArticleVersion(_ArticleText, Base):
    """One distinct good text of a page, with its own sections and records.

    ``articles`` holds a copy of the current version, so everything that reads one article per page keeps
    working; a fetch never deletes a version, it only adds one or moves the ``current`` mark.
    """

    __tablename__ = "article_versions"
    __table_args__ = (UniqueConstraint("article_id", "text_hash"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    #: current, suspect, superseded or dropped.
    status: Mapped[str] = mapped_column(String(16))
    published: Mapped[dt.date | None] = mapped_column(Date)
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    #: distinct fetch times that served this text (a repeated run adds nothing): a suspect's confirmations.
    seen_count: Mapped[int] = mapped_column(Integer, default=1)
    #: schema.versions.likeness to the version that was current when this one arrived (None: first one).
    likeness: Mapped[float | None] = mapped_column(Float)
    #: raw-archive key of the newest body that served this text: what reparse rebuilds the version from.
    content_hash: Mapped[str | None] = mapped_column(String(64))


class Section(Base):
    __tablename__ = "sections"
    __table_args__ = (UniqueConstraint("version_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("article_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text)


class Campaign(Base):
    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class ArticleCampaign(Base):
    __tablename__ = "article_campaigns"
    version_id: Mapped[int] = mapped_column(
        ForeignKey("article_versions.id", ondelete="CASCADE"), primary_key=True
    )
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)


#: ``units.group_name`` of a unit no group is known for. Not NULL: the column is half of the natural key, and
#: NULLs never collide in a unique key (two 四院 without a group would be two rows); views show it as NULL.
NO_GROUP = ""


class Unit(Base):
    """A unit of a group: the natural key is (group, name), since groups share short names (四院 of CASC and
    of CASIC, 试飞中心 of AVIC and of COMAC) and an unresolved unit carries its group too (migration 0007)."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("group_name", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: canonical short name (中国航发东安 → 东安).
    name: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(255))
    unit_type: Mapped[str | None] = mapped_column(String(64))
    #: the central SOE group's key (AECC, CASC …: parsers' UnitRef.group), ``NO_GROUP`` when unknown; its
    #: name is in ``groups``.
    group_name: Mapped[str] = mapped_column(String(64), default=NO_GROUP, server_default=text("''"))
    #: False for units seen in text but missing from the gazetteer, kept for operators to add.
    resolved: Mapped[bool] = mapped_column(Boolean, default=True)


class Group(Base):
    """Central SOE groups by key, with the name the gazetteer gives (filled by the loader from unit refs)."""

    __tablename__ = "groups"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(255))


class UnitAlias(Base):
    """A name a unit goes by; one alias may name units of several groups (四院), so the key is the pair."""

    __tablename__ = "unit_aliases"
    __table_args__ = (UniqueConstraint("alias", "unit_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    alias: Mapped[str] = mapped_column(String(255))


class Initiative(Base):
    __tablename__ = "initiatives"
    __table_args__ = (UniqueConstraint("version_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable record key: hash of page URL and statement, so re-parsing unchanged text keeps it, and an
    #: unchanged statement has the same key in every version of its page (unique within a version).
    key: Mapped[str] = mapped_column(String(40), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("article_versions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    section_id: Mapped[int | None] = mapped_column(ForeignKey("sections.id", ondelete="SET NULL"))
    statement: Mapped[str] = mapped_column(Text)
    org_body: Mapped[str | None] = mapped_column(String(32))


class InitiativeUnit(Base):
    __tablename__ = "initiative_units"
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer)
    mention: Mapped[str] = mapped_column(String(255))


class Metric(Base):
    __tablename__ = "metrics"
    __table_args__ = (UniqueConstraint("initiative_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    initiative_id: Mapped[int] = mapped_column(ForeignKey("initiatives.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    #: NUMERIC, so a count stays 4 (not 4.0) for readers; Python sees a float.
    value: Mapped[float] = mapped_column(Numeric(asdecimal=False))
    measure: Mapped[str] = mapped_column(String(16))
    object: Mapped[str] = mapped_column(String(255))


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(512), unique=True)


class InitiativeDocument(Base):
    __tablename__ = "initiative_documents"
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)


class Framework(Base):
    __tablename__ = "frameworks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)


class InitiativeFramework(Base):
    __tablename__ = "initiative_frameworks"
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"), primary_key=True)


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("name", "title"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    #: '' rather than NULL when no title is given, so the unique key works on every database.
    title: Mapped[str] = mapped_column(String(64), default="")


class InitiativePerson(Base):
    __tablename__ = "initiative_people"
    initiative_id: Mapped[int] = mapped_column(
        ForeignKey("initiatives.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
