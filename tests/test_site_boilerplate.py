"""Site-level boilerplate (issue 19): learned per host from stored pages, applied by extraction as an input.

A standing line that no page-level rule recognises (a column's footer that reads like a sentence) is kept
on a single page and dropped once the host's other pages show it is the site's, not the article's.
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
from schema.loader import FetchFacts, load_page

HOST = "127.0.0.1:9"
#: the site's standing footer: prose-like, so only repetition across pages gives it away.
FOOTER = "本栏目稿件由港务集团党群工作部统一编发，各基层单位的通讯员每周五前报送本周工作动态。"
T0 = dt.datetime(2026, 2, 1, 8, 0, tzinfo=dt.UTC)

STORIES = [
    ("集装箱码头完成岸桥远控改造",
     ["3月5日，集装箱码头完成第四台岸桥的远程操控改造，司机在中控室即可完成装卸作业。",
      "改造后单机作业效率提升约一成，高空作业时间大幅减少，冬季作业条件明显改善。"]),
    ("散货码头启用皮带机巡检机器人",
     ["散货码头在两条主皮带线上投用了巡检机器人，可自动识别托辊异响和皮带跑偏。",
      "机器人每两小时巡检一次，发现异常后将图像和位置推送到维修班组的手持终端。"]),
    ("港务集团开展汛期安全大检查",
     ["港务集团组织各码头开展汛期安全大检查，重点排查排水设施、临时用电和高边坡。",
      "检查组共发现隐患二十三项，已整改十九项，其余四项明确了责任人和完成时限。"]),
    ("客运码头新增无障碍登船通道",
     ["客运码头新建的无障碍登船通道投入使用，轮椅旅客可沿坡道直接进入客船。",
      "码头还在候船厅设置了爱心座椅和助行器租借点，服务人员提供一对一引导。"]),
]


def _page(title: str, paras: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paras)
    return (
        f"<html><head><title>{title}_港务新闻</title></head><body>"
        f"<div class='nav'><a href='/'>首页</a> <a href='/news/'>港务新闻</a></div>"
        f"<div class='main'><h1>{title}</h1><div class='content'>{body}<p>{FOOTER}</p></div></div>"
        "</body></html>"
    ).encode()


def _raw(i: int) -> RawPage:
    title, paras = STORIES[i]
    return RawPage(url=f"http://{HOST}/news/{i}.html", body=_page(title, paras), status=200,
                   headers={"content-type": "text/html"})


def _body(result_article: object) -> str:
    return "\n".join(b.text for b in getattr(result_article, "body", ()))


def test_state_learns_only_repeated_lines_after_enough_pages() -> None:
    s = sb.SiteBoilerplate()
    s = sb.observe(s, {"chrome", "a1"})
    s = sb.observe(s, {"chrome", "a2"})
    assert sb.learned(s) == frozenset()  # two pages share lines by chance
    s = sb.observe(s, {"chrome", "a3"})
    assert sb.learned(s) == {"chrome"}
    # after a redesign the old chrome stops counting as new pages come in
    for i in range(4):
        s = sb.observe(s, {"new-chrome", f"b{i}"})
    assert "chrome" not in sb.learned(s) and "new-chrome" in sb.learned(s)
    assert sb.SiteBoilerplate.from_dict(s.to_dict()) == s


def test_state_stays_bounded() -> None:
    s = sb.SiteBoilerplate()
    for i in range(30):
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
    assert FOOTER not in text and STORIES[0][1][0] in text
    assert line_fingerprint(FOOTER) in alone.fingerprints


def _facts(url: str, at: dt.datetime, digest: str) -> FetchFacts:
    return FetchFacts(url=url, fetched_at=at, http_status=200, final_url=url, content_hash=digest)


def test_loader_learns_per_host_and_flows_read_it(engine: Engine) -> None:
    for i in range(3):
        result = process(_raw(i))
        load_page(engine, result, _facts(result.target, T0 + dt.timedelta(minutes=i), f"{i}" * 64), "run-1", "1")
    learned = state.site_boilerplate(engine, [HOST])
    assert line_fingerprint(FOOTER) in learned[HOST]
    assert line_fingerprint(STORIES[0][1][0]) not in learned[HOST]
    # the fourth page, parsed with what the site taught, loses the footer
    fourth = process(_raw(3), boilerplate=learned[HOST])
    assert fourth.article is not None and FOOTER not in _body(fourth.article)


def test_refetching_an_unchanged_page_does_not_count_twice(engine: Engine) -> None:
    result = process(_raw(0))
    for hour in range(4):
        load_page(engine, result, _facts(result.target, T0 + dt.timedelta(hours=hour), "0" * 64), f"run-{hour}", "1")
    with Session(engine) as s:
        data = s.execute(select(m.Site.boilerplate).where(m.Site.host == HOST)).scalar_one()
    assert sb.SiteBoilerplate.from_dict(data).pages == 1
    assert state.site_boilerplate(engine, [HOST]) == {}
