"""The raw archive: every fetch as WARC records (``flows.archive_warc``), bodies keyed by their sha256.

It is the source of truth for re-parsing, so a write is all-or-nothing and a body already stored is never
stored again (a later fetch of the same bytes is a ``revisit`` record). Each batch is one
``warc/<YYYY-MM>/<stamp>.warc.gz``, written to a temp name and renamed, because creating a file is what an
archive write costs on this kind of disk: 0.4-0.6 ms of kernel time per file, against 0.09 ms to hash and
compress a 30 KB page (see docs/crawling.md). Any WARC tool reads the files (``warcio index``, pywb).

An index maps each body's sha256 to its file, offset and length, and each URL and date to its records.
The files are the truth and the index is derived: a lookup that misses first indexes files it has not
seen, so a missing index is rebuilt, a file written by another machine sharing the directory (an NFS
mount) is found, and a file renamed into place whose index rows never committed (a crash between the
two) is picked up. A file cut short (a copy that died, a full disk) is indexed up to its last whole
record and the rest is reported in ``problems``. Each machine keeps its own index file
(``index-<hostname>.sqlite3``, SQLite with a rollback journal, not WAL, which needs shared memory that
network filesystems lack); the processes on one machine share it.

Archives written before WARC (``flows.archive_packs``) are still read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows import archive_packs as packs
from flows import archive_warc as warc
from flows.archive_warc import Capture

__all__ = ["ArchiveError", "Capture", "RawArchive", "Stored", "content_hash"]

WARCS = "warc"

_SCHEMA = (
    *packs.SCHEMA,
    "CREATE TABLE IF NOT EXISTS records (sha256 TEXT PRIMARY KEY, file TEXT NOT NULL, offset INTEGER NOT NULL,"
    " length INTEGER NOT NULL, uri TEXT NOT NULL, date TEXT NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS captures (uri TEXT NOT NULL, date TEXT NOT NULL, kind TEXT NOT NULL,"
    " sha256 TEXT, record_id TEXT NOT NULL, file TEXT NOT NULL, offset INTEGER NOT NULL,"
    " length INTEGER NOT NULL, PRIMARY KEY (uri, date, record_id)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS warcs (name TEXT PRIMARY KEY, problem TEXT) WITHOUT ROWID",
)
_INSERT_RECORD = "INSERT OR IGNORE INTO records (sha256, file, offset, length, uri, date) VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_CAPTURE = ("INSERT OR IGNORE INTO captures (uri, date, kind, sha256, record_id, file, offset, length)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def index_name() -> str:
    return f"index-{socket.gethostname()}.sqlite3"


class ArchiveError(Exception):
    """A stored body is missing or does not match its sha256."""


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class Stored:
    """A capture once on disk: its body's sha256 and the id of its response (or revisit) record."""

    sha256: str
    record_id: str


class RawArchive:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._local = threading.local()
        self._ready = False
        self._ready_lock = threading.Lock()
        #: whether an earlier version's per-body files exist here (checked once; most archives have none).
        self._has_loose = False
        #: files found damaged while indexing, one line each (the readable part is indexed).
        self.problems: list[str] = []

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
            self._has_loose = packs.has_loose(self.root)
            conn = self._connect()
            try:
                for statement in _SCHEMA:
                    conn.execute(statement)
            finally:
                conn.close()
            self._ready = True

    def catch_up(self) -> int:
        """Index the files this machine's index has not seen; returns the records added."""
        with self._transaction() as db:
            return self._index_new_warcs(db) + packs.index_new_packs(db, self.root)

    def _index_new_warcs(self, db: sqlite3.Connection) -> int:
        if not (self.root / WARCS).is_dir():
            return 0
        seen = {str(r[0]) for r in db.execute("SELECT name FROM warcs")}
        count = 0
        for path in sorted((self.root / WARCS).glob("*/*.warc.gz")):
            name = f"{path.parent.name}/{path.name}"
            if name in seen:
                continue
            found, problem = warc.index_file(path.read_bytes())
            self._index_rows(db, name, found)
            if problem:
                self.problems.append(f"{path}: {problem}; {len(found)} whole records indexed")
            db.execute("INSERT OR IGNORE INTO warcs (name, problem) VALUES (?, ?)", (name, problem))
            count += len(found)
        return count

    @staticmethod
    def _index_rows(db: sqlite3.Connection, name: str, found: Sequence[warc.Indexed]) -> None:
        db.executemany(_INSERT_RECORD, [(r.sha256, name, r.offset, r.length, r.uri, r.date)
                                        for r in found if r.kind == "response" and r.sha256])
        db.executemany(_INSERT_CAPTURE, [(r.uri, r.date, r.kind, r.sha256, r.record_id, name, r.offset, r.length)
                                         for r in found if r.kind in ("response", "revisit")])

    def _locate(self, digest: str) -> tuple[str, str, int, int] | None:
        """(``warc`` or ``pack``, file, offset, length) of the record holding this body."""
        found = self._lookup(digest)
        if found is None and self.catch_up():
            found = self._lookup(digest)
        return found

    def _lookup(self, digest: str) -> tuple[str, str, int, int] | None:
        row = self._db().execute("SELECT file, offset, length FROM records WHERE sha256 = ?", (digest,)).fetchone()
        if row is not None:
            return ("warc", str(row[0]), int(row[1]), int(row[2]))
        old = packs.locate(self._db(), digest)
        return ("pack", *old) if old else None

    def captures_of(self, uri: str) -> list[tuple[str, str, str | None]]:
        """(date, kind, sha256) of every archived response and revisit for ``uri``, oldest first."""
        self.catch_up()
        rows = self._db().execute("SELECT date, kind, sha256 FROM captures WHERE uri = ? ORDER BY date", (uri,))
        return [(str(d), str(k), s) for d, k, s in rows]

    # --- writing ---------------------------------------------------------------------------------------
    def put(self, body: bytes, headers: Mapping[str, str] | None = None, url: str | None = None) -> str:
        """Store one body as fetched from ``url`` (a ``urn:sha256:`` name when there is none)."""
        name = url or f"urn:sha256:{content_hash(body)}"
        return self.put_many([Capture(name, body, headers=headers or {})])[0].sha256

    def put_many(self, items: Sequence[Capture], between: Callable[[], None] | None = None) -> list[Stored]:
        """Store a batch of fetches in one new WARC file; returns each one's sha256 and record id, in order.

        A body stored before (or earlier in the batch) becomes a revisit record (a 304 one with the
        server-not-modified profile). ``between`` is called after each body is hashed and after each record is
        built: the archive writer uses it to hand the CPU over now and then."""
        digests = []
        for capture in items:
            digests.append(content_hash(capture.body))
            if between is not None:
                between()
        originals = self._originals(set(digests))
        builder = warc._builder()
        members: list[bytes] = []
        rows: list[warc.Indexed] = []
        stored: list[Stored] = []
        offset = 0
        for digest, capture in zip(digests, items, strict=True):
            record_id = warc.new_record_id()
            date = warc.warc_date(capture.fetched_at)
            uri = capture.final_url or capture.url
            original = originals.get(digest)
            if original is None:
                member = warc.response_member(builder, capture, digest, date, record_id)
                originals[digest] = warc.Original(uri, date)
                kind = "response"
            else:
                member = warc.revisit_member(builder, capture, digest, date, record_id, original)
                kind = "revisit"
            request = warc.request_member(builder, capture, date, record_id)
            members += [request, member]
            rows.append(warc.Indexed(kind, uri, date, digest, offset + len(request), len(member), record_id))
            offset += len(request) + len(member)
            stored.append(Stored(digest, record_id))
            if between is not None:
                between()
        if members:
            name = self._write_file(members)
            with self._transaction() as db:
                self._index_rows(db, name, rows)
                db.execute("INSERT OR IGNORE INTO warcs (name) VALUES (?)", (name,))
        return stored

    def put_metadata(self, entries: Sequence[tuple[str, str | None, Mapping[str, Any]]]) -> None:
        """One metadata record per (URL, record it describes, fields), in one new file."""
        if not entries:
            return
        builder = warc._builder()
        name = self._write_file(
            [warc.metadata_member(builder, url, refers, fields) for url, refers, fields in entries], prefix="meta")
        with self._transaction() as db:  # no payloads to index: only a name the index has seen
            db.execute("INSERT OR IGNORE INTO warcs (name) VALUES (?)", (name,))

    def _write_file(self, members: Sequence[bytes], prefix: str = "crawl") -> str:
        now = dt.datetime.now(dt.UTC)
        name = f"{now:%Y-%m}/{prefix}-{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:12]}.warc.gz"
        path = self.root / WARCS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, b"".join(members))
        return name

    def _originals(self, digests: set[str]) -> dict[str, warc.Original]:
        """The stored response of each body already archived (packs and loose files: no URL, a urn)."""
        if not digests:
            return {}
        marks = ",".join("?" * len(digests))
        ordered = sorted(digests)
        rows = self._db().execute(f"SELECT sha256, uri, date FROM records WHERE sha256 IN ({marks})", ordered)
        found = {str(d): warc.Original(str(u), str(t)) for d, u, t in rows}
        rest = digests - found.keys()
        if rest:
            old = self._db().execute(f"SELECT sha256 FROM bodies WHERE sha256 IN ({marks})", ordered)
            older = {str(r[0]) for r in old} | {d for d in rest if self._loose(d) is not None}
            found.update({d: warc.Original(f"urn:sha256:{d}", warc.warc_date(None)) for d in older & rest})
        return found

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
        kind, name, offset, length = where
        if kind == "pack":
            headers, body = packs.read_pack_record(self.root, name, offset, length)
        else:
            with open(self.root / WARCS / name, "rb") as fh:
                fh.seek(offset)
                data = fh.read(length)
            try:
                headers, body, _, _ = warc.read_response(data)
            except Exception as exc:
                raise ArchiveError(f"{name}@{offset}: unreadable record for sha256 {digest}: {exc}") from exc
        if content_hash(body) != digest:
            raise ArchiveError(f"{name}@{offset}: body does not match sha256 {digest}")
        return headers, body

    def get(self, digest: str) -> bytes:
        return self.page(digest)[1]

    def headers(self, digest: str) -> dict[str, str]:
        return self.page(digest)[0]

    def __contains__(self, digest: str) -> bool:
        return self._locate(digest) is not None or self._loose(digest) is not None

    def _loose(self, digest: str) -> Path | None:
        self._ensure_index()
        return packs.loose_path(self.root, digest) if self._has_loose else None

    def _read_loose(self, digest: str) -> tuple[dict[str, str], bytes]:
        path = self._loose(digest)
        if path is None:
            raise ArchiveError(f"{self.root}: no body with sha256 {digest}")
        return packs.read_loose(self.root, path)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}-{threading.get_ident()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
