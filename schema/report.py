"""Read-side summaries for operators: what the database holds now."""

from __future__ import annotations

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
