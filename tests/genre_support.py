"""The project's own evaluation set of the genre (issue 14 item 7), and its scorer.

Each case is `tests/fixtures/genre/<group>_<slug>.txt`, a text dump laid out like the seed (title, source and
date line, paragraphs and headings), written for the project, with `<stem>.gold.json` in the seed gold's
format plus `group` (a key of ../shared/reference/central_soes.tsv), `negative` (the article has no unit
record: visits, meetings with attendees, group-level round-ups, template pages, speeches, notices) and
`patterns` (the tags of `PATTERNS` it exercises).

Scoring reuses tests/initiatives_support.py: the Article is built by `dump_article` (the seed's rules) and
records are scored by `score`, whose `match_records` says when a parsed record is a gold record (the gold
`statement_starts` occurs in the parsed statement with no sentence end before it). The `units` field is the
(record, unit) pair score on unit short names; the recall of metrics, documents, frameworks and people is
their found rate. `--pipeline` scores what production does with a text dump instead (parsers.pipeline:
verdict, article extraction with its own heading rules, then records).

The folder holds several sets, told apart by the gold's optional `set` key (docs/records-evaluation.md):
`own` (no key: written together with the parser's rules, a development set), `blind` (written before
reading the rules, then used to fix methods), `fresh` (written after those fixes), `fresh2` (longer articles
carrying real pages' clutter: bylines, captions, quotes, related-news footers; scored, then used to fix
methods), `fresh3` (the same kind, written after the fixes and never tuned on: the estimate for unseen
articles; its misses were then fixed by family), `fresh4` (the same kind, written after the second round
of fixes and never tuned on) and `fresh5` (the same kind, written after that on the groups the older sets cover
little: CNNC, CEC, CSSC, CSGC, COMAC, CASIC, 中国建筑; scored before any fix, then fixed by family) and `fresh6`
(the same kind on the seven groups of the kept-apart real articles, with pages of 1,800–3,500 characters;
scored before any fix, then fixed by family). Each set is scored and printed on its own.

    uv run --frozen python -m tests.genre_support [--pipeline] [--articles] [--set SET]   # SET: one of SETS
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parsers.initiatives import parse
from parsers.pipeline import process_file
from parsers.records import Article, Initiative
from tests.initiatives_support import FIELDS, Report, dump_article, score

GENRE = Path(__file__).parent / "fixtures" / "genre"
#: the sets of the folder, in the order they are reported; `own` is the default when the gold has no `set`.
SETS = ("own", "blind", "fresh", "fresh2", "fresh3", "fresh4", "fresh5", "fresh6")
#: fields whose recall is reported as a found rate (share of the gold's items found in the matched record).
FOUND = ("metrics", "documents", "frameworks", "people")

#: what each pattern tag means; every tag is covered by at least two articles (tests/test_genre_set.py).
PATTERNS: dict[str, str] = {
    "prefix_short": "group prefix + short name (航空工业成飞党委, 中航西飞, 航天科工三院)",
    "numbered_institute": "numbered institutes alone or under an academy (八院804所, 14所, 七〇二所, 五院总体设计部)",
    "prefix_list": "one prefix over a list (航空工业洪都、昌飞、哈飞等单位党委)",
    "single_unit_measures": "title or first sentence names one unit; later measures do not repeat it",
    "joint_actors": "X党委与Y党委…开展党建共建: one record with both units",
    "person_leads": "党委书记、董事长XX带领…: the person belongs to the unit's record",
    "attendees_not_actors": "attendees and speakers' affiliations are not records",
    "visited_not_actor": "units visited by leaders are not records",
    "description_not_actor": "units as places or in descriptions (…也成为…基地) are not records",
    "group_level_not_actor": "group-level actions (集团党组, 集团公司) are not unit records",
    "general_statement": "statements about 各单位/所属单位 are context, not records",
    "garbage_span_guard": "a unit name never starts with a verb or a person (紧密结合…, 张三代表…)",
    "heading_punctuation": "section headings with commas, quotes and spaces",
    "traditional": "traditional-script re-host of a simplified original",
    "fullwidth_digits": "full-width digits in counts and institute numbers",
    "abbreviation": "an abbreviation defined in the article (以下简称“宏远”) names that unit later",
    "not_metric_idiom": "idioms and ordinals that are not metrics (一场学习交流, 二十届)",
    "unresolved_unit": "a unit missing from the reference after its group prefix: kept, unresolved",
    "group_collision": "a short name two groups share, told apart by the prefix (试飞中心, 四院, 58所, 东安)",
    "non_defence_group": "a group outside defence and aerospace (国家电网, 中国石化)",
    "template_page": "a unit site's channel or template page: navigation and headlines, no article",
}


@dataclass(frozen=True)
class GenreCase:
    text: Path
    gold: dict[str, Any]

    @property
    def name(self) -> str:
        return self.text.stem

    @property
    def group(self) -> str:
        return str(self.gold["group"])

    @property
    def set_name(self) -> str:
        return str(self.gold.get("set", "own"))

    @property
    def negative(self) -> bool:
        return bool(self.gold["negative"])

    @property
    def patterns(self) -> list[str]:
        return list(self.gold["patterns"])


def genre_cases(folder: Path = GENRE, sets: Collection[str] = SETS) -> list[GenreCase]:
    """The cases of the named sets (all by default), in file-name order."""
    cases = []
    for text in sorted(folder.glob("*.txt")):
        gold: dict[str, Any] = json.loads(text.with_suffix(".gold.json").read_text(encoding="utf-8"))
        case = GenreCase(text, gold)
        if case.set_name in sets:
            cases.append(case)
    return cases


def genre_article(case: GenreCase) -> Article:
    return dump_article(case.text)


Parser = Callable[[GenreCase], tuple[Initiative, ...]]


def parse_dump(case: GenreCase) -> tuple[Initiative, ...]:
    return parse(genre_article(case))


def parse_pipeline(case: GenreCase) -> tuple[Initiative, ...]:
    return process_file(case.text).initiatives


@dataclass
class GenreReport:
    overall: Report = field(default_factory=Report)
    by_group: dict[str, Report] = field(default_factory=dict)
    by_pattern: dict[str, Report] = field(default_factory=dict)
    by_article: dict[str, Report] = field(default_factory=dict)
    #: (article, statement) of every record parsed from a negative article.
    negative_records: list[tuple[str, str]] = field(default_factory=list)
    articles: int = 0
    negatives: int = 0


def evaluate(cases: Sequence[GenreCase], parser: Parser = parse_dump) -> GenreReport:
    """Each article is scored once into the overall report, its group's and each of its patterns'."""
    out = GenreReport(articles=len(cases), negatives=sum(c.negative for c in cases))
    for case in cases:
        records = parser(case)
        where = f"{case.name}:"
        score(records, case.gold, out.overall, where)
        score(records, case.gold, out.by_group.setdefault(case.group, Report()), where)
        score(records, case.gold, out.by_article.setdefault(case.name, Report()), where)
        for tag in case.patterns:
            score(records, case.gold, out.by_pattern.setdefault(tag, Report()), where)
        if case.negative:
            out.negative_records += [(case.name, r.statement) for r in records]
    return out


def _pr(report: Report, name: str = "units") -> str:
    s = report.scores[name]
    return f"{s.precision:>7.3f}{s.recall:>7.3f}{s.tp:>5}{s.fp:>5}{s.fn:>5}"


def format_report(r: GenreReport, articles: bool = False) -> str:
    lines = [f"{r.articles} articles ({r.negatives} negative); units = (record, unit) pairs on short names", ""]
    lines.append(f"{'field':<12}{'P':>7}{'R':>7}{'tp':>5}{'fp':>5}{'fn':>5}")
    lines += [f"{name:<12}{_pr(r.overall, name)}" for name in FIELDS]
    found = ", ".join(f"{n} {r.overall.scores[n].tp}/{r.overall.scores[n].tp + r.overall.scores[n].fn}" for n in FOUND)
    lines += ["", f"found: {found}", f"unit records on negatives: {len(r.negative_records)}"]
    lines += [f"  {name}: {statement[:40]}" for name, statement in r.negative_records]
    tables = [("group", r.by_group), ("pattern", r.by_pattern)] + ([("article", r.by_article)] if articles else [])
    for title, table in tables:
        lines += ["", f"{'(record, unit) pairs by ' + title:<34}{'P':>7}{'R':>7}{'tp':>5}{'fp':>5}{'fn':>5}"]
        lines += [f"{key:<34}{_pr(rep)}" for key, rep in sorted(table.items())]
    lines += ["", f"missing gold records ({len(r.overall.missing)}): {' '.join(r.overall.missing) or 'none'}"]
    lines.append(f"records from general statements: {len(r.overall.from_general)}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Score the records parser on the project's genre set.")
    ap.add_argument("--pipeline", action="store_true", help="score parsers.pipeline on the dumps instead")
    ap.add_argument("--articles", action="store_true", help="also break the pairs down by article")
    ap.add_argument("--set", choices=SETS, action="append", help="score only this set (repeatable; default all)")
    args = ap.parse_args(argv)
    parser = parse_pipeline if args.pipeline else parse_dump
    for name in args.set or SETS:
        cases = genre_cases(sets=(name,))
        if cases:
            print(f"=== {name} set ===\n{format_report(evaluate(cases, parser), args.articles)}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
