"""The shared Document: one parse, one walk, lines as a browser would break them."""

from __future__ import annotations

from parsers.document import Document, clean_space, document_from_bytes, visible_lines
from parsers.records import RawPage

HTML = (
    "<html><head><title> 标题 </title><style>p{}</style></head><body>"
    "<div class='content'><p>第一段<a href='/x'>链接</a>文字</p><p><b>加粗小标题</b></p>"
    "<p><img src='a.jpg'></p><figure><figcaption>图片说明</figcaption></figure>"
    "<p>甲<br>乙</p><script>var hidden=1</script><table><tr><td>单元格</td></tr></table></div>"
    "</body></html>"
)


def test_lines_follow_block_breaks_and_skip_invisible() -> None:
    doc = Document.from_text("http://example.cn/", HTML)
    assert doc.is_html and doc.title == "标题"
    assert doc.lines == ["第一段链接文字", "加粗小标题", "图片说明", "甲", "乙", "单元格"]
    assert doc.visible_text.splitlines() == doc.lines
    assert doc.tree is not None and doc.tree.body is not None
    assert visible_lines(doc.tree.body) == doc.lines


def test_walk_carries_link_bold_caption_and_container_facts() -> None:
    doc = Document.from_text("http://example.cn/", HTML)
    blocks = {b.text: b for b in doc.walk.blocks}
    assert blocks["第一段链接文字"].link_chars == 2
    assert blocks["加粗小标题"].bold_chars == 5
    assert blocks["图片说明"].in_caption and blocks["图片说明"].after_img
    content = doc.walk.containers[blocks["第一段链接文字"].container]
    assert content.tag == "div" and "content" in content.hint


def test_text_dump_has_no_tree() -> None:
    doc = Document.from_text("seed.txt", "标题\n\n  第一段。 \n第二段。\n")
    assert not doc.is_html and doc.tree is None
    assert doc.lines == ["标题", "第一段。", "第二段。"] and doc.title == "标题"


def test_deep_nesting_does_not_recurse() -> None:
    html = "<html><body>" + "<div>" * 5000 + "深" + "</div>" * 5000 + "</body></html>"
    doc = Document.from_text("http://example.cn/", html)
    assert isinstance(doc.lines, list)


def test_from_raw_and_bytes() -> None:
    raw = RawPage(url="http://example.cn/", body=HTML.encode("gbk"), headers={"Content-Type": "text/html"})
    assert Document.from_raw(raw).lines[0] == "第一段链接文字"
    assert document_from_bytes("http://example.cn/", b"\x00\x01\x02PNG\x00") is None
    assert clean_space(" a\u3000 b\n") == "a b"


def test_walk_stops_at_the_block_limit_for_line_breaks_and_blocks() -> None:
    from parsers.document import MAX_BLOCKS

    for html in ("<body>" + "行<br>" * (MAX_BLOCKS + 500) + "</body>",
                 "<body>" + "<p>段</p>" * (MAX_BLOCKS + 500) + "</body>"):
        doc = Document.from_text("http://example.com/", html, content_type="text/html")
        assert len(doc.walk.blocks) == MAX_BLOCKS


def test_nesting_beyond_the_bound_is_flattened_before_the_parse_and_its_text_kept() -> None:
    from parsers.document import MAX_NESTING, NESTING_SCAN_TAGS

    depth = NESTING_SCAN_TAGS * 10
    html = "<html><body>" + "<div>" * depth + "最深处的文字" + "</div>" * depth + "</body></html>"
    doc = Document.from_text("http://example.cn/", html)
    # every opening tag past the bound is dropped, so the parser never sees the deep tree
    assert doc.flattened == depth + 2 - MAX_NESTING  # html and body count too
    assert doc.lines == ["最深处的文字"]


def test_nesting_scan_ignores_code_and_implicitly_closed_tags() -> None:
    from parsers.document import NESTING_SCAN_TAGS, bound_nesting

    script = "<script>" + "if (a<b) { x = a<c; }" * 20 + "</script>"
    rows = "<table>" + "<tr><td>格" * NESTING_SCAN_TAGS + "</table>"
    html = "<html><body>" + script + rows + "<p>段落" * 500 + "</body></html>"
    assert bound_nesting(html, 50) == (html, 0)
    assert Document.from_text("http://example.cn/", html).flattened == 0


def test_noscript_is_raw_text_as_in_a_browser_that_runs_scripts() -> None:
    html = ("<html><head><noscript><iframe src='//tags.example/ns.html' /></noscript></head>"
            "<body><p>正文第一段</p></body></html>")
    assert Document.from_text("http://example.cn/", html).lines == ["正文第一段"]
