"""Archives written before WARC, read only: pack files and one file per body.

A pack (``packs/<YYYY-MM>/<stamp>.pack``) holds, per body, two gzip members: ``{"sha256": …, "headers":
{…}}`` as one JSON line, then the body. Before packs each body was its own ``<2 hex>/<sha256>.gz`` (and
before that body and headers side by side under two directory levels). Those records hold no URL, status
or date, so they stay where they are: ``RawArchive`` finds a body here when its WARC index misses, and
``initiatives archive convert`` rewrites them as WARC with the facts the database kept about each fetch.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import zlib
from collections.abc import Iterator
from pathlib import Path

PACKS = "packs"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bodies (sha256 TEXT PRIMARY KEY, pack TEXT NOT NULL, offset INTEGER NOT NULL,"
    " length INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS packs (name TEXT PRIMARY KEY) WITHOUT ROWID",
)
_INSERT_BODY = "INSERT OR IGNORE INTO bodies (sha256, pack, offset, length) VALUES (?, ?, ?, ?)"


def index_new_packs(conn: sqlite3.Connection, root: Path) -> int:
    """Index every record of every pack not indexed yet: each record's first member names its sha256."""
    if not (root / PACKS).is_dir():
        return 0
    seen = {str(r[0]) for r in conn.execute("SELECT name FROM packs")}
    new = [p for p in sorted((root / PACKS).glob("*/*.pack")) if f"{p.parent.name}/{p.name}" not in seen]
    count = 0
    for path in new:
        name = f"{path.parent.name}/{path.name}"
        for digest, offset, length in pack_records(path.read_bytes()):
            conn.execute(_INSERT_BODY, (digest, name, offset, length))
            count += 1
        conn.execute("INSERT OR IGNORE INTO packs (name) VALUES (?)", (name,))
    return count


def pack_records(data: bytes) -> Iterator[tuple[str, int, int]]:
    """(sha256, offset, length) of each record of a pack."""
    offset = 0
    while offset < len(data):
        meta_line, rest = first_member(data[offset:])
        meta = json.loads(meta_line)
        second = zlib.decompressobj(wbits=31)
        second.decompress(rest)
        length = len(data) - offset - len(second.unused_data)
        yield str(meta["sha256"]), offset, length
        offset += length


def locate(conn: sqlite3.Connection, digest: str) -> tuple[str, int, int] | None:
    row = conn.execute("SELECT pack, offset, length FROM bodies WHERE sha256 = ?", (digest,)).fetchone()
    return (str(row[0]), int(row[1]), int(row[2])) if row else None


def read_pack_record(root: Path, pack: str, offset: int, length: int) -> tuple[dict[str, str], bytes]:
    with open(root / PACKS / pack, "rb") as fh:
        fh.seek(offset)
        data = fh.read(length)
    meta_line, rest = first_member(data)
    meta = json.loads(meta_line)
    return dict(meta.get("headers") or {}), gzip.decompress(rest)


def has_loose(root: Path) -> bool:
    return any(p.is_dir() and len(p.name) == 2 for p in root.iterdir())


def loose_path(root: Path, digest: str) -> Path | None:
    for path in (root / digest[:2] / f"{digest}.gz", root / digest[:2] / digest[2:4] / f"{digest}.gz"):
        if path.exists():
            return path
    return None


def read_loose(root: Path, path: Path) -> tuple[dict[str, str], bytes]:
    if path.parent.parent != root:  # two directory levels: body and headers in two files
        meta = path.with_suffix("").with_suffix(".json")
        old: dict[str, str] = json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else {}
        return old, gzip.decompress(path.read_bytes())
    meta_bytes, rest = first_member(path.read_bytes())
    headers: dict[str, str] = json.loads(meta_bytes) if meta_bytes else {}
    return headers, gzip.decompress(rest)


def first_member(data: bytes) -> tuple[bytes, bytes]:
    """The first gzip member of ``data`` decompressed (a record's header line), and the bytes after it."""
    first = zlib.decompressobj(wbits=31)
    return first.decompress(data), first.unused_data
