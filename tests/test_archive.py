"""The raw archive: content-addressed, de-duplicated, all-or-nothing writes, readable after index loss."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest

from flows import archive as archive_mod
from flows.archive import ArchiveError, RawArchive, content_hash

BODY = "中国航发东安党委构建“2+4+N”工作体系".encode()


def packs(root: Path) -> list[Path]:
    return sorted((root / "packs").glob("*/*.pack"))


def test_bodies_are_content_addressed_and_deduplicated(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    digest = archive.put(BODY, {"content-type": "text/html"})
    assert digest == content_hash(BODY)
    assert archive.put(BODY) == digest  # stored once: no second pack
    assert archive.get(digest) == BODY and archive.headers(digest) == {"content-type": "text/html"}
    assert digest in archive and content_hash(b"other") not in archive
    assert len(packs(tmp_path)) == 1
    assert not list(tmp_path.rglob(".tmp-*"))


def test_a_batch_is_one_pack_and_repeats_inside_it_are_stored_once(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    bodies = [f"第{i}篇".encode() * 50 for i in range(5)]
    digests = archive.put_many([(b, {"n": str(i)}) for i, b in enumerate(bodies)] + [(bodies[0], {})])
    assert digests[-1] == digests[0] and len(set(digests)) == 5
    (first,) = packs(tmp_path)
    for i, (digest, body) in enumerate(zip(digests, bodies, strict=False)):
        assert archive.page(digest) == ({"n": str(i)}, body)
    # a later batch stores only what is new
    archive.put_many([(bodies[1], {}), (b"new", {})])
    (second,) = set(packs(tmp_path)) - {first}
    assert gzip.decompress(second.read_bytes()).endswith(b"}}new")


def test_packs_are_plain_gzip(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    digest = archive.put(BODY, {"etag": '"v1"'})
    data = gzip.decompress(packs(tmp_path)[0].read_bytes())  # what zcat shows: the header line, then the body
    meta, _, body = data.partition(b"}}")
    assert json.loads(meta + b"}}") == {"sha256": digest, "headers": {"etag": '"v1"'}}
    assert body == BODY


def test_lost_index_is_rebuilt_from_the_packs(tmp_path: Path) -> None:
    first = RawArchive(tmp_path)
    digests = first.put_many([(BODY, {"a": "1"}), (b"x" * 5000, {})])
    first.put(b"third", {"b": "2"})
    indexes = list(tmp_path.glob("index-*.sqlite3*"))
    assert indexes
    for path in indexes:
        path.unlink()
    again = RawArchive(tmp_path)
    assert again.page(digests[0]) == ({"a": "1"}, BODY)
    assert again.get(digests[1]) == b"x" * 5000
    assert again.headers(content_hash(b"third")) == {"b": "2"}


def test_a_failed_pack_write_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = RawArchive(tmp_path)

    def disk_full(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(archive_mod, "_atomic_write", disk_full)
    with pytest.raises(OSError):
        archive.put(BODY)
    assert content_hash(BODY) not in archive and not packs(tmp_path)
    monkeypatch.undo()
    assert archive.get(archive.put(BODY)) == BODY


def test_a_corrupted_pack_is_reported_not_returned(tmp_path: Path) -> None:
    archive = RawArchive(tmp_path)
    digest = archive.put(BODY)
    pack = packs(tmp_path)[0]
    meta = zlib.compress(json.dumps({"sha256": digest, "headers": {}}).encode(), 1, wbits=31)
    pack.write_bytes(meta + zlib.compress(b"tampered", 3, wbits=31))
    with pytest.raises(ArchiveError, match=digest):
        archive.get(digest)
    with pytest.raises(ArchiveError, match="no body"):
        archive.get(content_hash(b"never stored"))


def test_bodies_in_the_one_file_per_body_layout_are_still_read(tmp_path: Path) -> None:
    digest = content_hash(BODY)
    old = tmp_path / digest[:2] / f"{digest}.gz"
    old.parent.mkdir(parents=True)
    old.write_bytes(zlib.compress(b'{"etag": "\\"v0\\""}', 1, wbits=31) + zlib.compress(BODY, 3, wbits=31))
    archive = RawArchive(tmp_path)
    assert digest in archive and archive.page(digest) == ({"etag": '"v0"'}, BODY)
    assert archive.put(BODY) == digest and not packs(tmp_path)  # already stored: not written again


def test_packs_written_on_another_machine_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two machines share the directory (an NFS mount); each keeps its own index of the shared packs."""
    monkeypatch.setattr(archive_mod.socket, "gethostname", lambda: "worker-a")
    here = RawArchive(tmp_path)
    assert content_hash(BODY) not in here  # the index exists before the other machine writes
    monkeypatch.setattr(archive_mod.socket, "gethostname", lambda: "worker-b")
    there = RawArchive(tmp_path)
    digest = there.put(BODY, {"etag": '"b"'})
    monkeypatch.setattr(archive_mod.socket, "gethostname", lambda: "worker-a")
    assert digest in here and here.page(digest) == ({"etag": '"b"'}, BODY)
    assert sorted(p.name for p in tmp_path.glob("index-*.sqlite3")) == [
        "index-worker-a.sqlite3", "index-worker-b.sqlite3"]
