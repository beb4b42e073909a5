"""Content-addressed raw archive: every fetched body, compressed, keyed by its sha256.

It is the source of truth for re-parsing, so a write is all-or-nothing and a body already stored is never
written again. Bodies are appended to pack files, one pack per batch written to a temp name and renamed,
because creating a file is what an archive write costs on this kind of disk: 0.4-0.6 ms of kernel time per
file, against 0.09 ms to hash and compress a 30 KB page (see docs/crawling.md). A pack holds, per body, two
gzip members: ``{"sha256": …, "headers": {…}}`` as one JSON line, then the body (``zcat`` shows them all).

An index maps each sha256 to its pack, offset and length. The packs are the truth and the index is
derived: a lookup that misses first indexes packs it has not seen, so a missing index is rebuilt, a pack
written by another machine sharing the directory (an NFS mount) is found, and a pack renamed into place
whose index rows never committed (a crash between the two) is picked up. Each machine keeps its own index
file (``index-<hostname>.sqlite3``, SQLite with a rollback journal, not WAL, which needs shared memory
that network filesystems lack); the processes on one machine share it.

Archives written by earlier versions (one ``<2 hex>/<sha256>.gz`` file per body, and before that body and
headers side by side under two directory levels) are still read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import hashlib
import json
import os
import socket
import sqlite3
import threading
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

#: zlib level for bodies: on the shared corpus pages (~59 KB) level 3 takes 0.44 ms against 0.71 ms at
#: level 6 for 10% more bytes; compression is most of an archive write's user CPU.
BODY_LEVEL = 3
PACKS = "packs"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bodies (sha256 TEXT PRIMARY KEY, pack TEXT NOT NULL, offset INTEGER NOT NULL,"
    " length INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS packs (name TEXT PRIMARY KEY) WITHOUT ROWID",
)


_INSERT_BODY = "INSERT OR IGNORE INTO bodies (sha256, pack, offset, length) VALUES (?, ?, ?, ?)"


def index_name() -> str:
    return f"index-{socket.gethostname()}.sqlite3"


class ArchiveError(Exception):
    """A stored body is missing or does not match its sha256."""


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class RawArchive:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()
        self._ready = False
        self._ready_lock = threading.Lock()
        #: whether an earlier version's per-body files exist here (checked once; most archives have none).
        self._has_loose = False

    # --- index -----------------------------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        """One connection per thread: the fetch loop, archive workers and the parse side all use the archive."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self._ensure_index()
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.root / index_name(), timeout=60.0, isolation_level=None)

    def _ensure_index(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            self.root.mkdir(parents=True, exist_ok=True)
            self._has_loose = any(p.is_dir() and len(p.name) == 2 for p in self.root.iterdir())
            conn = self._connect()
            try:
                for statement in _SCHEMA:
                    conn.execute(statement)
            finally:
                conn.close()
            self._ready = True

    def catch_up(self) -> int:
        """Index the packs this machine's index has not seen; returns the bodies added."""
        return _index_new_packs(self._db(), self.root)

    def _locate(self, digest: str) -> tuple[str, int, int] | None:
        query = "SELECT pack, offset, length FROM bodies WHERE sha256 = ?"
        row = self._db().execute(query, (digest,)).fetchone()
        if row is None and self.catch_up():
            row = self._db().execute(query, (digest,)).fetchone()
        return (str(row[0]), int(row[1]), int(row[2])) if row else None

    # --- writing ---------------------------------------------------------------------------------------
    def put(self, body: bytes, headers: Mapping[str, str] | None = None) -> str:
        return self.put_many([(body, headers or {})])[0]

    def put_many(
        self, items: Sequence[tuple[bytes, Mapping[str, str]]], between: Callable[[], None] | None = None
    ) -> list[str]:
        """Store bodies not stored yet in one new pack; returns every item's sha256, in order.

        ``between`` is called after each body is hashed and after each is compressed: the archive writer
        uses it to hand the CPU over now and then (``flows.archive_writer``)."""
        digests = []
        for body, _ in items:
            digests.append(content_hash(body))
            if between is not None:
                between()
        known = self._known(set(digests))
        records: list[tuple[str, int, int]] = []
        chunks: list[bytes] = []
        offset = 0
        for digest, (body, headers) in zip(digests, items, strict=True):
            if between is not None:
                between()
            if digest in known:
                continue
            known.add(digest)
            meta = json.dumps({"sha256": digest, "headers": dict(headers)}, ensure_ascii=False).encode()
            data = zlib.compress(meta, 1, wbits=31) + zlib.compress(body, BODY_LEVEL, wbits=31)
            records.append((digest, offset, len(data)))
            chunks.append(data)
            offset += len(data)
        if records:
            now = dt.datetime.now(dt.UTC)
            name = f"{now:%Y-%m}/{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.pack"
            path = self.root / PACKS / name
            path.parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(path, b"".join(chunks))
            with self._transaction() as db:
                db.executemany(_INSERT_BODY, [(d, name, o, n) for d, o, n in records])
                db.execute("INSERT OR IGNORE INTO packs (name) VALUES (?)", (name,))
        return digests

    def _known(self, digests: set[str]) -> set[str]:
        if not digests:
            return set()
        marks = ",".join("?" * len(digests))
        rows = self._db().execute(f"SELECT sha256 FROM bodies WHERE sha256 IN ({marks})", sorted(digests))
        found = {str(r[0]) for r in rows}
        return found | {d for d in digests - found if self._loose(d) is not None}

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # --- reading ---------------------------------------------------------------------------------------
    def page(self, digest: str) -> tuple[dict[str, str], bytes]:
        """Headers and body in one read (what reparse and a 304 need)."""
        where = self._locate(digest)
        if where is None:
            return self._read_loose(digest)
        pack, offset, length = where
        with open(self.root / PACKS / pack, "rb") as fh:
            fh.seek(offset)
            data = fh.read(length)
        meta_line, rest = _first_member(data)
        meta = json.loads(meta_line)
        body = gzip.decompress(rest)
        if content_hash(body) != digest:
            raise ArchiveError(f"{pack}@{offset}: body does not match sha256 {digest}")
        return dict(meta.get("headers") or {}), body

    def get(self, digest: str) -> bytes:
        return self.page(digest)[1]

    def headers(self, digest: str) -> dict[str, str]:
        return self.page(digest)[0]

    def __contains__(self, digest: str) -> bool:
        return self._locate(digest) is not None or self._loose(digest) is not None

    # --- layouts of earlier versions (read only) ---------------------------------------------------------
    def _loose(self, digest: str) -> Path | None:
        self._ensure_index()
        if not self._has_loose:
            return None
        for path in (self.root / digest[:2] / f"{digest}.gz", self.root / digest[:2] / digest[2:4] / f"{digest}.gz"):
            if path.exists():
                return path
        return None

    def _read_loose(self, digest: str) -> tuple[dict[str, str], bytes]:
        path = self._loose(digest)
        if path is None:
            raise ArchiveError(f"{self.root}: no body with sha256 {digest}")
        if path.parent.parent != self.root:  # two directory levels: body and headers in two files
            meta = path.with_suffix("").with_suffix(".json")
            old: dict[str, str] = json.loads(meta.read_text(encoding="utf-8")) if meta.exists() else {}
            return old, gzip.decompress(path.read_bytes())
        meta_bytes, rest = _first_member(path.read_bytes())
        headers: dict[str, str] = json.loads(meta_bytes) if meta_bytes else {}
        return headers, gzip.decompress(rest)


def _index_new_packs(conn: sqlite3.Connection, root: Path) -> int:
    """Index every record of every pack not indexed yet: each record's first member names its sha256."""
    if not (root / PACKS).is_dir():
        return 0
    seen = {str(r[0]) for r in conn.execute("SELECT name FROM packs")}
    new = [p for p in sorted((root / PACKS).glob("*/*.pack")) if f"{p.parent.name}/{p.name}" not in seen]
    count = 0
    conn.execute("BEGIN IMMEDIATE")
    try:
        for path in new:
            name = f"{path.parent.name}/{path.name}"
            data = path.read_bytes()
            offset = 0
            while offset < len(data):
                meta_line, rest = _first_member(data[offset:])
                meta = json.loads(meta_line)
                second = zlib.decompressobj(wbits=31)
                second.decompress(rest)
                length = len(data) - offset - len(second.unused_data)
                conn.execute(_INSERT_BODY, (meta["sha256"], name, offset, length))
                offset += length
                count += 1
            conn.execute("INSERT OR IGNORE INTO packs (name) VALUES (?)", (name,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return count


def _first_member(data: bytes) -> tuple[bytes, bytes]:
    """The first gzip member of ``data`` decompressed (a record's header line), and the bytes after it."""
    first = zlib.decompressobj(wbits=31)
    return first.decompress(data), first.unused_data


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
