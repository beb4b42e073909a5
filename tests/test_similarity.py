"""Similarity for the catch-all probe: identical pages near 1, unrelated pages near 0, fast on big pages."""

from __future__ import annotations

from parsers.similarity import HEAD_CHARS, TAIL_CHARS, normalise, shingles, similarity

PAGE = "对不起，您访问的页面不存在。返回首页 | 新闻中心 | 联系我们 | 版权所有 某某网 京ICP备12345678号"
ARTICLE = "中国航发各直属单位坚持党建围绕中心、服务中心，矢志攻坚克难，不断加快自主研制步伐。" * 5


def test_identical_and_whitespace_or_case_variants_are_one() -> None:
    assert similarity(PAGE, PAGE) == 1.0
    assert similarity("Page  Not\nFound here", "page not found HERE") == 1.0


def test_catch_all_page_echoing_the_path_stays_near_identical() -> None:
    a = PAGE + " /news/2023/1116/abc.html " + ARTICLE
    b = PAGE + " /zz9qx.html " + ARTICLE
    assert similarity(a, b) >= 0.9


def test_unrelated_pages_score_low() -> None:
    assert similarity(PAGE, ARTICLE) < 0.1
    assert similarity("Welcome to nginx!", ARTICLE) == 0.0


def test_bounds_and_symmetry() -> None:
    assert similarity("", "") == 1.0
    assert similarity("", PAGE) == 0.0 == similarity(PAGE, "")
    a, b = PAGE + ARTICLE[:40], ARTICLE
    assert similarity(a, b) == similarity(b, a)
    assert 0.0 < similarity(a, b) < 1.0
    assert similarity("abc", "abd") < 1.0


def test_huge_texts_are_bounded() -> None:
    big = ARTICLE * 20_000
    assert len(normalise(big)) <= HEAD_CHARS + TAIL_CHARS + 1
    assert sum(shingles(big).values()) <= HEAD_CHARS + TAIL_CHARS
    assert similarity(big, big + "尾") > 0.9
