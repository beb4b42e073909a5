"""The archives' index answers (recorded examples in the documented formats) and which capture is tried first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flows import cdx

FIXTURES = Path(__file__).parent / "fixtures" / "archives"


def test_a_wayback_answer_lists_its_captures() -> None:
    snaps, problems = cdx.parse_wayback((FIXTURES / "wayback_cdx.json").read_bytes())
    assert problems == []
    assert [s.timestamp for s in snaps] == ["20231118021544", "20240305113002", "20250611080512"]
    assert {s.archive for s in snaps} == {"wayback"} and all(s.status == 200 for s in snaps)
    assert snaps[0].url == "http://www.example-soe.cn/news/2023/1116/zhuxin.html"
    assert snaps[0].captured_at == dt.datetime(2023, 11, 18, 2, 15, 44, tzinfo=dt.UTC)
    assert cdx.wayback_replay("https://web.archive.org/", snaps[0]) == (
        "https://web.archive.org/web/20231118021544id_/http://www.example-soe.cn/news/2023/1116/zhuxin.html")


def test_a_common_crawl_answer_gives_each_record_s_file_and_byte_range() -> None:
    snaps, problems = cdx.parse_commoncrawl((FIXTURES / "commoncrawl_cdx.ndjson").read_bytes())
    assert problems == []
    assert [(s.status, s.offset, s.length) for s in snaps] == [(200, 301847562, 8412), (301, 88241, 712)]
    assert cdx.commoncrawl_range(snaps[0]) == "bytes=301847562-301855973"
    assert snaps[0].filename.endswith("-00412.warc.gz")


def test_collections_are_chosen_by_date_range_newest_first() -> None:
    body = (FIXTURES / "collinfo.json").read_bytes()
    assert cdx.commoncrawl_collections(body, None, None, 2) == [
        "https://index.commoncrawl.org/CC-MAIN-2024-18-index", "https://index.commoncrawl.org/CC-MAIN-2024-10-index"]
    assert cdx.commoncrawl_collections(body, dt.date(2023, 1, 1), dt.date(2023, 12, 31), 5) == [
        "https://index.commoncrawl.org/CC-MAIN-2023-50-index"]
    assert cdx.commoncrawl_collections(b"<html>busy</html>", None, None, 3) == []


def test_malformed_rows_and_lines_are_problems_and_the_good_ones_are_kept() -> None:
    good = (FIXTURES / "wayback_cdx.json").read_bytes()
    broken = good.rstrip()[:-1] + b',["only","three","rows"],["k","2024-01-01","u","m","200","d","1"]]'
    snaps, problems = cdx.parse_wayback(broken)
    assert len(snaps) == 3 and len(problems) == 2 and all("malformed" in p for p in problems)
    assert cdx.parse_wayback(b"<html>Service Unavailable</html>")[1][0].startswith("wayback CDX answer is not JSON")
    assert cdx.parse_wayback(b"[]") == ([], [])
    lines = (FIXTURES / "commoncrawl_cdx.ndjson").read_bytes() + b'{"url": "cut off\n{"url": "x", "timestamp": "1"}\n'
    snaps, problems = cdx.parse_commoncrawl(lines)
    assert len(snaps) == 2 and len(problems) == 2


def test_the_newest_good_capture_before_the_death_comes_first() -> None:
    def snap(stamp: str, status: int = 200, archive: str = "wayback") -> cdx.Snapshot:
        return cdx.Snapshot(archive, "http://a.test/1.html", stamp, status)

    died = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    order = cdx.choose([snap("20230101000000"), snap("20241201000000"), snap("20240601000000", 302),
                        snap("20250301000000"), snap("20241115000000", archive="commoncrawl")], died)
    assert [(s.timestamp, s.archive) for s in order] == [
        ("20241201000000", "wayback"), ("20241115000000", "commoncrawl"), ("20230101000000", "wayback"),
        ("20250301000000", "wayback")]  # after the death only as a last resort; never a redirect
    assert [s.timestamp for s in cdx.choose([snap("20230101000000"), snap("20240101000000")], None)] == [
        "20240101000000", "20230101000000"]


def test_a_replay_address_names_its_timestamp_and_original() -> None:
    assert cdx.replayed("http://127.0.0.1:9/web/20240101000000id_/http://a.test/x.html?id=3") == (
        "20240101000000", "http://a.test/x.html?id=3")
    assert cdx.replayed("http://127.0.0.1:9/parked.html") is None
