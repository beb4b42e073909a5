"""The raw archive: WARC files any tool reads, bodies content-addressed, all-or-nothing writes, index rebuilt."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from flows import archive as archive_mod
from flows.archive import ArchiveError, Capture, RawArchive, content_hash

BODY = "中国航发东安党委构建“2+4+N”工作体系".encode()
WHEN = dt.datetime(2024, 3, 5, 8, 30, tzinfo=dt.UTC)


def warcs(root: Path) -> list[Path]:
    return sorted((root / "warc").glob("*/*.warc.gz"))


def read_back(path: Path) -> list[tuple[str, str, bytes, list[str], bool | None]]:
    """Every record by warcio's own reader, digests checked: (type, target, payload, problems, passed)."""
    out = []
    with open(path, "rb") as fh:
        for record in ArchiveIterator(fh, check_digests=True):
            payload = record.content_stream().read()
            out.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), payload,
                        list(record.digest_checker.problems), record.digest_checker.passed))
    return out


def cap(url: str, body: bytes, status: int = 200, **kw: object) -> Capture:
    return Capture(url, body, status, fetched_at=WHEN, **kw)  # type: ignore[arg-type]


def test_a_batch_is_one_warc_file_warcio_reads_with_every_digest_matching(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    stored = archive.put_many([
        cap("http://a.test/1.html", BODY, headers={"content-type": "text/html; charset=utf-8",
                                                    "content-encoding": "gzip"}),
        cap("http://a.test/404", b"<h1>not here</h1>", 404),
        cap("http://a.test/copy.html", BODY),  # the same bytes at another URL: a revisit
    ])
    assert [s.sha256 for s in stored] == [content_hash(BODY), content_hash(b"<h1>not here</h1>"), content_hash(BODY)]
    (path,) = warcs(tmp_path)
    records = read_back(path)
    assert [(kind, uri) for kind, uri, *_ in records] == [
        ("request", "http://a.test/1.html"), ("response", "http://a.test/1.html"),
        ("request", "http://a.test/404"), ("response", "http://a.test/404"),
        ("request", "http://a.test/copy.html"), ("revisit", "http://a.test/copy.html")]
    responses = [r for r in records if r[0] == "response"]
    assert [payload for _, _, payload, _, _ in responses] == [BODY, b"<h1>not here</h1>"]
    assert all(passed is True and not problems for _, _, _, problems, passed in responses)
    # the payload is the decoded body, so the stored headers no longer claim an encoding
    headers, body = archive.page(stored[0].sha256)
    assert body == BODY and "content-encoding" not in headers and headers["content-length"] == str(len(BODY))
    assert headers["content-type"].startswith("text/html")


def test_warcio_index_lists_every_record(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    archive.put_many([cap(f"http://a.test/{i}.html", f"第{i}篇".encode() * 30) for i in range(3)])
    archive.put_metadata([("http://a.test/0.html", None, {"verdict": "ok", "load_id": "crawl-x"})])
    lines = []
    for path in warcs(tmp_path):
        done = subprocess.run([str(Path(sys.executable).with_name("warcio")), "index", str(path)],
                              capture_output=True, text=True, check=True, timeout=60)
        lines += [json.loads(line) for line in done.stdout.splitlines()]
    kinds = sorted(line["warc-type"] for line in lines)
    assert kinds == ["metadata"] + ["request"] * 3 + ["response"] * 3


def test_a_body_is_stored_once_and_later_fetches_are_revisits(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    digest = archive.put(BODY, {"content-type": "text/html"}, url="http://a.test/x")
    assert digest == content_hash(BODY)
    again = archive.put_many([cap("http://a.test/x", BODY, 304, headers={"etag": '"1"'}, not_modified=True)])
    assert again[0].sha256 == digest
    assert archive.get(digest) == BODY and archive.headers(digest)["content-type"] == "text/html"
    assert digest in archive and content_hash(b"other") not in archive
    kinds = [r[0] for path in warcs(tmp_path) for r in read_back(path)]
    assert kinds.count("response") == 1 and kinds.count("revisit") == 1
    revisits = []
    for path in warcs(tmp_path):
        with open(path, "rb") as fh:
            revisits += [r.rec_headers for r in ArchiveIterator(fh) if r.rec_type == "revisit"]
    (revisit,) = revisits
    assert revisit.get_header("WARC-Profile").endswith("/revisit/server-not-modified")
    assert revisit.get_header("WARC-Refers-To-Target-URI") == "http://a.test/x"
    assert sorted(kind for _, kind, _ in archive.captures_of("http://a.test/x")) == ["response", "revisit"]
    assert not list(tmp_path.rglob(".tmp-*"))


def test_lost_index_is_rebuilt_from_the_files(tmp_path: Path) -> None:
    first = RawArchive(tmp_path)
    digests = [s.sha256 for s in first.put_many([cap("http://a.test/a", BODY, headers={"a": "1"}),
                                                  cap("http://a.test/b", b"x" * 5000)])]
    first.put(b"third", {"b": "2"})
    indexes = list(tmp_path.glob("index-*.sqlite3*"))
    assert indexes
    for path in indexes:
        path.unlink()
    again = RawArchive(tmp_path)
    assert again.page(digests[0])[0]["a"] == "1" and again.get(digests[0]) == BODY
    assert again.get(digests[1]) == b"x" * 5000
    assert again.headers(content_hash(b"third"))["b"] == "2"


def test_a_failed_write_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = RawArchive(tmp_path)

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(archive_mod, "_atomic_write", disk_full)
    with pytest.raises(OSError):
        archive.put(BODY)
    assert content_hash(BODY) not in archive and not warcs(tmp_path)
    monkeypatch.undo()
    assert archive.get(archive.put(BODY)) == BODY


def test_a_tampered_record_is_reported_not_returned(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    digest = archive.put(BODY, url="http://a.test/t")
    path = warcs(tmp_path)[0]
    data = zlib.decompress(path.read_bytes(), wbits=31)  # first member only: the request record
    assert b"WARC-Type: request" in data
    whole = b"".join(_members(path.read_bytes()))
    path.write_bytes(zlib.compress(whole.replace(BODY, "篡改过的正文内容篡改过的正文内".encode()[: len(BODY)]),
                                   3, wbits=31))
    with pytest.raises(ArchiveError, match=digest):
        archive.get(digest)
    with pytest.raises(ArchiveError, match="no body"):
        archive.get(content_hash(b"never stored"))


def _members(data: bytes) -> list[bytes]:
    out = []
    while data:
        d = zlib.decompressobj(wbits=31)
        out.append(d.decompress(data))
        data = d.unused_data
    return out


def test_a_file_truncated_mid_record_is_read_up_to_its_last_whole_record(tmp_path: Path) -> None:
    writer = RawArchive(tmp_path / "w")
    bodies = [f"第{i}篇:正文".encode() * 200 for i in range(4)]
    writer.put_many([cap(f"http://a.test/{i}", b) for i, b in enumerate(bodies)])
    (path,) = warcs(tmp_path / "w")
    data = path.read_bytes()
    cut = data[: len(data) - 40]  # a crash while the last response was being written
    target = tmp_path / "r" / "warc" / path.parent.name / path.name
    target.parent.mkdir(parents=True)
    target.write_bytes(cut)
    reader = RawArchive(tmp_path / "r")
    assert all(reader.get(content_hash(b)) == b for b in bodies[:3])
    assert content_hash(bodies[3]) not in reader
    assert len(reader.problems) == 1 and path.name in reader.problems[0] and "cut off" in reader.problems[0]
    # warcio's reader gets the same whole records, then the cut one short of its body
    with open(target, "rb") as fh:
        got = [(r.rec_type, r.content_stream().read()) for r in ArchiveIterator(fh)]
    responses = [payload for kind, payload in got if kind == "response"]
    assert responses[:3] == bodies[:3] and len(responses) == 4 and responses[3] != bodies[3]


def test_pack_archives_of_earlier_versions_are_still_read(tmp_path: Path) -> None:
    digest = content_hash(BODY)
    meta = json.dumps({"sha256": digest, "headers": {"etag": '"v1"'}}).encode()
    pack = tmp_path / "packs" / "2025-01" / "20250101T000000-abc.pack"
    pack.parent.mkdir(parents=True)
    pack.write_bytes(zlib.compress(meta, 1, wbits=31) + zlib.compress(BODY, 3, wbits=31))
    archive = RawArchive(tmp_path)
    assert digest in archive and archive.page(digest) == ({"etag": '"v1"'}, BODY)
    # a new fetch of the same bytes refers back to the stored body instead of storing it again
    archive.put_many([cap("http://a.test/p", BODY)])
    assert [r[0] for r in read_back(warcs(tmp_path)[0])] == ["request", "revisit"]


def test_bodies_in_the_one_file_per_body_layout_are_still_read(tmp_path: Path) -> None:
    digest = content_hash(BODY)
    old = tmp_path / digest[:2] / f"{digest}.gz"
    old.parent.mkdir(parents=True)
    old.write_bytes(zlib.compress(b'{"etag": "\\"v0\\""}', 1, wbits=31) + zlib.compress(BODY, 3, wbits=31))
    archive = RawArchive(tmp_path)
    assert digest in archive and archive.page(digest) == ({"etag": '"v0"'}, BODY)


def test_files_written_on_another_machine_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two machines share the directory (an NFS mount); each keeps its own index of the shared files."""
    monkeypatch.setattr(archive_mod.socket, "gethostname", lambda: "worker-a")
    here = RawArchive(tmp_path)
    assert content_hash(BODY) not in here  # the index exists before the other machine writes
    monkeypatch.setattr(archive_mod.socket, "gethostname", lambda: "worker-b")
    there = RawArchive(tmp_path)
    digest = there.put(BODY, {"etag": '"b"'})
    monkeypatch.setattr(archive_mod.socket, "gethostname", lambda: "worker-a")
    assert digest in here and here.page(digest) == ({"etag": '"b"', "content-length": str(len(BODY))}, BODY)
    assert sorted(p.name for p in tmp_path.glob("index-*.sqlite3")) == [
        "index-worker-a.sqlite3", "index-worker-b.sqlite3"]
