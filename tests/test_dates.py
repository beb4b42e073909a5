"""Publication-date rules: the date parser on its own, then each date-choosing rule of the article
extractor on a small hand-written page, with a control page showing the rule does not fire without its
evidence.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from parsers import dates
from parsers.article import extract
from parsers.document import Document
from parsers.records import RawPage, Verdict

FIXTURES = Path(__file__).parent / "fixtures" / "article"
OK = Verdict(name="ok")


def _published(html: str) -> dt.date | None:
    raw = RawPage(url="http://example.cn/page.html", body=html.encode("utf-8"))
    art = extract(Document.from_raw(raw), OK).article
    assert art is not None
    return art.published


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text("utf-8")


# ---------------------------------------------------------------- the parser


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("发布日期： 9/17/2004 5:54:13 AM", "2004-09-17"),  # second number > 12: month first
        ("发布日期： 7/5/2005 9:23:57 PM", "2005-07-05"),  # 12-hour clock, the US habit
        ("7/5/2005", "2005-05-07"),  # no evidence at all: day first
        ("25/12/2004 和 7/5/2005", "2005-05-07"),  # the page writes day first elsewhere
        ("12/25/2004 和 7/5/2005", "2005-07-05"),  # the page writes month first elsewhere
    ],
)
def test_slash_date_order_needs_evidence(text: str, expected: str) -> None:
    found = dates.find_dates(text)
    assert found and found[-1].date.isoformat() == expected


def test_twelve_hour_clock_reads_pm() -> None:
    found = dates.first_date("7/5/2005 9:23:57 PM")
    assert found is not None and found.at == dt.datetime(2005, 7, 5, 21, 23, 57)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2022年1月27日", "2022-01-27"),
        ("2005-06-14 03:25:55", "2005-06-14"),
        ("（2024年4月3日）", "2024-04-03"),
        ("由海姑娘张贴 @ 2005-06-14 03:25:55", None),
        ("2022年1月27日 吉林省人民政府", None),
        ("2023-01-02 至 2023-01-05", None),
        ("发文字号：某政发〔2023〕12号", None),
    ],
)
def test_date_only_lines(line: str, expected: str | None) -> None:
    found = dates.date_only(line)
    assert (found.date.isoformat() if found else None) == expected


# ---------------------------------------------------------------- official documents


def test_official_document_takes_written_date_label() -> None:
    html = _fixture("official_written_label.html")
    assert _published(html) == dt.date(2023, 11, 20)
    # control: without a document number the page is not treated as an official document
    assert _published(html.replace("〔2023〕12号", "十二号")) == dt.date(2023, 11, 23)


def test_official_document_takes_signature_date() -> None:
    html = _fixture("official_signature.html")
    assert _published(html) == dt.date(2024, 4, 3)
    # control: a news page that ends with an organisation and a date keeps its header date
    assert _published(html.replace("某集团工〔2024〕7号", "本报讯")) == dt.date(2024, 4, 8)
    # control: a closing date not under an authority's name is not a signature
    assert _published(html.replace("某某集团有限公司工会委员会", "请大家踊跃报名，积极参赛。")) == dt.date(2024, 4, 8)


# ---------------------------------------------------------------- header label vs quoted dateline


def test_labelled_header_date_beats_date_quoted_in_first_paragraph() -> None:
    html = _fixture("dateline_vs_label.html")
    assert _published(html) == dt.date(2024, 3, 18)
    # control: an unlabelled header date (a banner's today) does not beat the article's own date
    assert _published(html.replace("发布日期：", "")) == dt.date(2024, 3, 15)


# ---------------------------------------------------------------- pages of dated entries


def test_blog_front_page_dated_by_newest_entry() -> None:
    html = _fixture("blog_front.html")
    assert _published(html) == dt.date(2006, 3, 9)


def test_dated_list_on_one_side_is_not_an_entry_run() -> None:
    # the same stamps, all after the article (a related-news list), leave the article's own date
    html = _fixture("blog_front.html")
    head, rest = html.split('<tr><td class="post-title">2006-03-07 08:45:12</td></tr>', 1)
    first = '<tr><td class="post-title">2006-03-09 21:10:05</td></tr>'
    html = head.replace(first, "") + '<tr><td class="when">2006-03-07 08:45:12</td></tr>' + rest + (
        "<table>" + first + first + first + "</table>"
    )
    assert _published(html) == dt.date(2006, 3, 7)


# ---------------------------------------------------------------- issue 19: ambiguous slash dates


def test_ambiguous_slash_date_is_marked_and_read_day_first_without_evidence() -> None:
    found = dates.first_date("Posted 7/5/2005")
    assert found is not None and found.ambiguous and found.date == dt.date(2005, 5, 7)
    clear = dates.first_date("Posted 25/12/2004")
    assert clear is not None and not clear.ambiguous
    same = dates.first_date("5/5/2005")  # the same date either way
    assert same is not None and not same.ambiguous


@pytest.mark.parametrize(
    ("text", "url", "month_first"),
    [
        ("Posted 7/5/2005 ... comment 12/25/2005", "", True),
        ("Posted 7/5/2005 ... comment 25/12/2005", "", False),
        ("Posted 7/5/2005", "http://blog.example.com/2005/07/05/post.html", True),
        ("Posted 7/5/2005", "http://blog.example.com/2005/05/07/post.html", False),
        ("Posted 7/5/2005", "http://blog.example.com/post.html", None),
    ],
)
def test_slash_order_from_page_dates_or_url(text: str, url: str, month_first: bool | None) -> None:
    assert dates.slash_order(text, url) is month_first


def test_settle_swaps_only_ambiguous_dates() -> None:
    found = dates.first_date("7/5/2005 10:30")
    assert found is not None
    settled = dates.settle(found, True)
    assert settled.date == dt.date(2005, 7, 5) and settled.at is not None and settled.at.month == 7
    assert dates.settle(found, None) == found
    plain = dates.first_date("2005-07-05")
    assert plain is not None and dates.settle(plain, False) == plain


def _blog(url: str, comment_date: str) -> dt.date | None:
    html = (
        "<html><head><title>A note from the workshop</title></head><body>"
        "<h1>A note from the workshop</h1><p class='meta'>Posted on 7/5/2005</p>"
        "<div class='entry'><p>" + "We finished the turbine overhaul two days early, and the test run went well. " * 3
        + "</p><p>" + "Next week the team starts on the second unit, with the same crew and the same plan. " * 3
        + "</p></div>"
        f"<div class='comments'><p>Great news, congratulations to the crew! {comment_date}</p></div>"
        "</body></html>"
    )
    raw = RawPage(url=url, body=html.encode())
    art = extract(Document.from_raw(raw), OK).article
    assert art is not None
    return art.published


def test_page_url_settles_an_ambiguous_publication_date() -> None:
    assert _blog("http://blog.example.com/2005/07/05/note.html", "") == dt.date(2005, 7, 5)
    assert _blog("http://blog.example.com/note.html", "") == dt.date(2005, 5, 7)  # control: day first


def test_other_dates_on_the_page_settle_an_ambiguous_publication_date() -> None:
    assert _blog("http://blog.example.com/note.html", "12/25/2005") == dt.date(2005, 7, 5)
    assert _blog("http://blog.example.com/note.html", "25/12/2005") == dt.date(2005, 5, 7)


def test_year_first_dates_on_the_page_settle_the_order() -> None:
    # comments of 2009-03-05 and -06 lie next to 4 March, a month before 3 April
    assert dates.slash_order("Posted 3/4/2009 ... 2009-03-05 09:14 ... 2009-03-06 08:02") is True
    assert dates.slash_order("Posted 3/4/2009 ... 2009-04-04 09:14") is False
    assert dates.slash_order("Posted 3/4/2009") is None
