"""Site-level boilerplate (issue 19): learned per host from stored pages, applied by extraction as an input.

A standing line that no page-level rule recognises (a column's footer that reads like a sentence) is kept
on a single page and dropped once enough of the host's other pages show it is the site's, not the
article's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from flows import state
from parsers import site_boilerplate as sb
from parsers.article import line_fingerprint
from parsers.pipeline import process
from parsers.records import RawPage
from schema import models as m
from schema.loader import FetchFacts, load_page, load_pages

HOST = "127.0.0.1:9"
#: the site's standing footer: prose-like, so only repetition across pages gives it away.
FOOTER = "本栏目稿件由港务集团党群工作部统一编发，各基层单位的通讯员每周五前报送本周工作动态。"
T0 = dt.datetime(2026, 2, 1, 8, 0, tzinfo=dt.UTC)

#: one story per page, numbered so no two pages share an article line.
PARAS = [
    "{i}号泊位完成岸桥远程操控改造，司机在中控室即可完成装卸作业，单机效率提升约一成。",
    "改造涉及{i}台设备的线缆和控制柜，施工期间码头保持正常作业，没有影响船舶靠泊计划。",
]


def _story(i: int) -> tuple[str, list[str]]:
    return f"港务集团第{i}号泊位完成改造", [p.format(i=i) for p in PARAS]


def _page(title: str, paras: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f"<html><head><title>{title}_港务新闻</title></head><body>"
        f"<div class='nav'><a href='/'>首页</a> <a href='/news/'>港务新闻</a></div>"
        f"<div class='main'><h1>{title}</h1><div class='content'>{body}<p>{FOOTER}</p></div></div>"
        "</body></html>"
    ).encode()


def _raw(i: int) -> RawPage:
    title, paras = _story(i)
    return RawPage(url=f"http://{HOST}/news/{i}.html", body=_page(title, paras), status=200,
                   headers={"content-type": "text/html"})


def _body(result_article: object) -> str:
    return "\n".join(b.text for b in getattr(result_article, "body", ()))


def test_state_learns_only_repeated_lines_after_enough_pages() -> None:
    s = sb.SiteBoilerplate()
    for i in range(sb.MIN_PAGES - 1):
        s = sb.observe(s, {"chrome", f"a{i}"})
    assert sb.learned(s) == frozenset()  # a short series shares lines without being the site's chrome
    s = sb.observe(s, {"chrome", "last"})
    assert sb.learned(s) == {"chrome"}
    # after a redesign the old chrome stops counting as new pages come in
    for i in range(sb.MIN_PAGES + 1):
        s = sb.observe(s, {"new-chrome", f"b{i}"})
    assert "chrome" not in sb.learned(s) and "new-chrome" in sb.learned(s)
    assert sb.SiteBoilerplate.from_dict(s.to_dict()) == s


def test_state_stays_bounded() -> None:
    s = sb.SiteBoilerplate()
    for i in range(sb.MIN_PAGES + 10):
        s = sb.observe(s, {"chrome", *(f"p{i}-{j}" for j in range(400))})
    assert len(s.counts) <= sb.MAX_FINGERPRINTS
    assert "chrome" in sb.learned(s)


def test_extraction_drops_learned_lines_and_keeps_them_without() -> None:
    alone = process(_raw(0))
    assert alone.article is not None and FOOTER in _body(alone.article)
    learned = frozenset({line_fingerprint(FOOTER)})
    with_site = process(_raw(0), boilerplate=learned)
    assert with_site.article is not None
    text = _body(with_site.article)
    assert FOOTER not in text and _story(0)[1][0] in text
    assert line_fingerprint(FOOTER) in alone.fingerprints


def _facts(url: str, at: dt.datetime, digest: str) -> FetchFacts:
    return FetchFacts(url=url, fetched_at=at, http_status=200, final_url=url, content_hash=digest)


def test_loader_learns_per_host_and_flows_read_it(engine: Engine) -> None:
    results = [process(_raw(i)) for i in range(sb.MIN_PAGES)]
    items = [
        (r, _facts(r.target, T0 + dt.timedelta(minutes=i), f"{i:064d}")) for i, r in enumerate(results)
    ]
    load_pages(engine, items[:-1], "run-1", "1")
    assert state.site_boilerplate(engine, [HOST]) == {}  # one page short of MIN_PAGES
    load_pages(engine, items[-1:], "run-1", "1")
    learned = state.site_boilerplate(engine, [HOST])
    assert line_fingerprint(FOOTER) in learned[HOST]
    assert line_fingerprint(_story(0)[1][0]) not in learned[HOST]
    # the next page, parsed with what the site taught, loses the footer
    nxt = process(_raw(sb.MIN_PAGES), boilerplate=learned[HOST])
    assert nxt.article is not None and FOOTER not in _body(nxt.article)


def test_refetching_an_unchanged_page_does_not_count_twice(engine: Engine) -> None:
    result = process(_raw(0))
    for hour in range(4):
        load_page(engine, result, _facts(result.target, T0 + dt.timedelta(hours=hour), "0" * 64), f"run-{hour}", "1")
    with Session(engine) as s:
        data = s.execute(select(m.Site.boilerplate).where(m.Site.host == HOST)).scalar_one()
    assert sb.SiteBoilerplate.from_dict(data).pages == 1
    assert state.site_boilerplate(engine, [HOST]) == {}
