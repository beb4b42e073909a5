"""Decoding: declared charsets that lie, GB2312 pages with GBK characters, BOMs, and mojibake."""

from __future__ import annotations

import codecs
from pathlib import Path

from parsers.decode import declared_charset, decode, looks_binary, looks_mojibake

FIXTURES = Path(__file__).parent / "fixtures" / "article"
TEXT = "中国航发各直属单位坚持党建引领，镕铖（GBK 独有字）扎实推进各项工作。" * 5


def test_meta_utf8_that_is_really_gbk() -> None:
    raw = (FIXTURES / "gbk_lying_meta.html").read_bytes()
    assert declared_charset(raw, None) == ("utf-8", "meta")
    got = decode(raw)
    assert got.encoding == "gb18030"
    assert "航发动力召开质量提升推进会" in got.text and "\ufffd" not in got.text


def test_gb2312_label_decodes_gbk_only_characters() -> None:
    body = b'<meta charset="gb2312"><p>' + TEXT.encode("gbk") + b"</p>"
    got = decode(body)
    assert got.encoding == "gb18030" and got.method == "meta"
    assert TEXT in got.text


def test_header_beats_meta() -> None:
    body = b'<meta charset="gbk"><p>' + TEXT.encode("utf-8") + b"</p>"
    got = decode(body, "text/html; charset=UTF-8")
    assert (got.encoding, got.method) == ("utf-8", "header")


def test_bom_wins() -> None:
    got = decode(codecs.BOM_UTF8 + b'<meta charset="gbk">' + TEXT.encode("utf-8"))
    assert got.method == "bom" and TEXT in got.text


def test_latin1_header_on_chinese_page_is_not_trusted() -> None:
    for enc in ("utf-8", "gbk"):
        got = decode(b"<p>" + TEXT.encode(enc) + b"</p>", "text/html; charset=ISO-8859-1")
        assert TEXT in got.text, enc
        assert not looks_mojibake(got.text)


def test_real_latin1_page_kept() -> None:
    text = "Le café est très bon à Paris, déjà réputé. " * 10
    got = decode(text.encode("cp1252"), "text/html; charset=iso-8859-1")
    assert got.text == text


def test_mojibake_detector() -> None:
    assert looks_mojibake(TEXT.encode("utf-8").decode("cp1252", errors="replace"))
    assert looks_mojibake(TEXT.encode("gbk").decode("cp1252", errors="replace"))
    assert not looks_mojibake(TEXT)


def test_truncated_multibyte_tail_is_tolerated() -> None:
    body = ("<p>" + TEXT).encode("utf-8")[:-1]
    got = decode(body)
    assert got.encoding == "utf-8" and got.text.count("\ufffd") <= 1


def test_binary() -> None:
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not looks_binary(TEXT.encode("utf-8"))


WIDE_PAGE = "<html><head><title>页面不存在</title></head><body><p>The page is gone. 页面已删除。</p></body></html>"


def test_utf16_and_utf32_with_a_bom_are_text() -> None:
    for codec, bom in (("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                       ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE)):
        body = bom + WIDE_PAGE.encode(codec)
        assert not looks_binary(body), codec
        got = decode(body)
        assert got.method == "bom" and got.text == WIDE_PAGE, codec


def test_utf16_and_utf32_without_a_bom_are_recognised_by_their_nuls() -> None:
    for codec in ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        body = WIDE_PAGE.encode(codec)
        assert not looks_binary(body), codec
        got = decode(body)
        assert (got.encoding, got.text) == (codec, WIDE_PAGE)


def test_nul_bytes_that_are_not_wide_text_stay_binary() -> None:
    assert looks_binary(b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04" * 20)
