"""WARC (ISO 28500, version 1.1) records of a fetch, built and read with warcio, one gzip member each.

Pure functions over bytes: ``flows.archive`` decides what goes into which file and keeps the index.

A fetch becomes a ``request`` record, then a ``response`` record whose payload is the body, or a
``revisit`` record when that body is already stored (``identical-payload-digest``, or
``server-not-modified`` for a 304). The payload is the body as the parsers saw it, after transfer and
content decoding, so the stored HTTP headers drop ``Content-Encoding`` and ``Transfer-Encoding`` and give
the decoded ``Content-Length`` (what wget and Browsertrix do for decoded bodies; replay tools then serve
it as is). ``WARC-Payload-Digest`` is the body's sha256 (``sha256:<hex>``), the same hash the database
keys bodies by. Verdicts, load ids and evidence are ``metadata`` records (JSON) that refer to
the response by ``WARC-Refers-To``.

warcio (chosen over fastwarc): the tests and ``warcio index`` read with it anyway, it is pure Python
with no compiled wheel to lose, and its record builder is what we use; its own gzip wrapper compresses at
level 9 (14.7 ms per 46 KB page against 0.49 ms for the pack format), so each record is serialized
uncompressed and compressed here at ``BODY_LEVEL`` as one gzip member, which is exactly the layout
``WARCWriter(gzip=True)`` produces (one member per record) and what lets a reader stop cleanly at the
last whole record of a truncated file.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http
import io
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date, iso_date_to_datetime
from warcio.warcwriter import WARCWriter

#: zlib level per record: level 3 took 0.44 ms on a ~59 KB page against 0.71 ms at level 6 for 10% more bytes.
BODY_LEVEL = 3
WARC_VERSION = "1.1"
PROFILE_SAME_PAYLOAD = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
PROFILE_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
_EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"").hexdigest()
#: HTTP headers that describe the transfer, not the decoded body stored as the payload.
_TRANSFER_HEADERS = frozenset({"content-encoding", "transfer-encoding", "content-length"})


@dataclass(frozen=True, slots=True)
class Capture:
    """One fetch as the archive stores it: the decoded body plus the facts a WARC record needs."""

    url: str
    body: bytes
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    fetched_at: dt.datetime | None = None
    #: where redirects ended; the response record's target (the request record keeps ``url``).
    final_url: str | None = None
    #: the request headers that matter for replay (user agent, validators).
    request_headers: Mapping[str, str] = field(default_factory=dict)
    #: where a capture recovered from a public web archive came from: written as ``WARC-Source-URI``.
    source_uri: str | None = None
    #: a 304: ``body`` is the stored copy it confirmed, and ``status`` the 304 as received.
    not_modified: bool = False

    def to_wire(self) -> dict[str, Any]:
        """What the archive writer's pipe carries besides the body: only fields that differ from the
        defaults, since the fetch loop encodes this for every page (``flows/archive_writer.py``)."""
        wire: dict[str, Any] = {"url": self.url, "size": len(self.body), "headers": self.headers}
        if self.status != 200:
            wire["status"] = self.status
        if self.fetched_at is not None:
            wire["at"] = self.fetched_at.timestamp()
        if self.final_url and self.final_url != self.url:
            wire["final_url"] = self.final_url
        if self.request_headers:
            wire["request_headers"] = self.request_headers
        if self.source_uri:
            wire["source_uri"] = self.source_uri
        if self.not_modified:
            wire["not_modified"] = True
        return wire

    @classmethod
    def from_wire(cls, meta: Mapping[str, Any], body: bytes, user_agent: str | None = None) -> Capture:
        at = meta.get("at")
        request = meta.get("request_headers") or {}
        if user_agent:
            request = {"user-agent": user_agent, **request}
        return cls(url=meta["url"], body=body, status=int(meta.get("status") or 200), headers=meta["headers"],
                   fetched_at=dt.datetime.fromtimestamp(at, dt.UTC) if at is not None else None,
                   final_url=meta.get("final_url"), request_headers=request,
                   source_uri=meta.get("source_uri"), not_modified=bool(meta.get("not_modified")))


@dataclass(frozen=True, slots=True)
class Original:
    """The response record a revisit points back to."""

    uri: str
    date: str


def sha256_label(digest_hex: str) -> str:
    """``sha256:<hex>``: ISO 28500 allows any RFC 3548 encoding and warcio checks base16 as well as base32;
    Python's base32 encoder cost 18 us a digest, two per page, in the archive writer."""
    return f"sha256:{digest_hex}"


def label_to_hex(label: str) -> str | None:
    """The sha256 in hex of a ``sha256:`` digest (base32, or hex as some writers use); None for others."""
    algo, _, value = label.partition(":")
    if algo.lower() not in ("sha256", "sha-256"):
        return None
    if len(value) == 64:
        return value.lower()
    try:
        return base64.b32decode(value.upper() + "=" * (-len(value) % 8)).hex()
    except ValueError:
        return None


def warc_date(when: dt.datetime | None) -> str:
    when = (when or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(tzinfo=None)
    return str(datetime_to_iso_date(when, use_micros=True))


def parse_warc_date(value: str) -> dt.datetime:
    return iso_date_to_datetime(value).replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]


def _builder() -> WARCWriter:
    return WARCWriter(io.BytesIO(), gzip=False, warc_version=WARC_VERSION)


def _member(writer: WARCWriter, record: Any) -> bytes:
    out = io.BytesIO()
    writer.out = out
    writer.write_record(record)
    return zlib.compress(out.getvalue(), BODY_LEVEL, wbits=31)


def _http_headers(status: int, headers: Mapping[str, str], size: int | None) -> StatusAndHeaders:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    kept = [(k, v) for k, v in headers.items() if k.lower() not in _TRANSFER_HEADERS]
    if size is not None:
        kept.append(("content-length", str(size)))
    return StatusAndHeaders(f"{status} {reason}", kept, protocol="HTTP/1.1")


def request_member(writer: WARCWriter, capture: Capture, date: str, concurrent_to: str) -> bytes:
    parts = urlsplit(capture.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = [("host", parts.netloc), *capture.request_headers.items()]
    http_headers = StatusAndHeaders(f"GET {target} HTTP/1.1", headers, protocol="", is_http_request=True)
    # digests given, so warcio does not compute two sha1s and two base32 strings per request (measured)
    http_headers.compute_headers_buffer(None)
    record = writer.create_warc_record(capture.url, "request", http_headers=http_headers, warc_headers_dict={
        "WARC-Date": date, "WARC-Concurrent-To": concurrent_to, "WARC-Payload-Digest": _EMPTY_DIGEST,
        "WARC-Block-Digest": sha256_label(hashlib.sha256(http_headers.headers_buff).hexdigest())})
    return _member(writer, record)


def response_member(writer: WARCWriter, capture: Capture, digest: str, date: str, record_id: str) -> bytes:
    http_headers = _http_headers(capture.status, capture.headers, len(capture.body))
    http_headers.compute_headers_buffer(None)
    block = hashlib.sha256(http_headers.headers_buff)
    block.update(capture.body)
    warc_headers = {
        "WARC-Record-ID": record_id, "WARC-Date": date, "WARC-Payload-Digest": sha256_label(digest),
        "WARC-Block-Digest": sha256_label(block.hexdigest()),
    }
    if capture.source_uri:
        warc_headers["WARC-Source-URI"] = capture.source_uri
    record = writer.create_warc_record(capture.final_url or capture.url, "response", payload=io.BytesIO(capture.body),
                                       length=len(capture.body), http_headers=http_headers,
                                       warc_headers_dict=warc_headers)
    return _member(writer, record)


def revisit_member(
    writer: WARCWriter, capture: Capture, digest: str, date: str, record_id: str, original: Original
) -> bytes:
    http_headers = _http_headers(capture.status, capture.headers, None)
    record = writer.create_revisit_record(
        capture.final_url or capture.url, sha256_label(digest), original.uri, original.date,
        http_headers=http_headers, warc_headers_dict={"WARC-Record-ID": record_id, "WARC-Date": date})
    if capture.not_modified:
        record.rec_headers.replace_header("WARC-Profile", PROFILE_NOT_MODIFIED)
    return _member(writer, record)


def metadata_member(writer: WARCWriter, url: str, refers_to: str | None, fields: Mapping[str, Any]) -> bytes:
    payload = json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str).encode()
    warc_headers = {"WARC-Date": warc_date(None)}
    if refers_to:
        warc_headers["WARC-Refers-To"] = refers_to
    record = writer.create_warc_record(url, "metadata", payload=io.BytesIO(payload), length=len(payload),
                                       warc_content_type="application/json", warc_headers_dict=warc_headers)
    return _member(writer, record)


def new_record_id() -> str:
    return str(StatusAndHeadersParser.make_warc_id())


@dataclass(frozen=True, slots=True)
class Indexed:
    """Where one record sits in a file, and what it holds."""

    kind: str
    uri: str
    date: str
    sha256: str | None
    offset: int
    length: int
    record_id: str


def index_file(data: bytes) -> tuple[list[Indexed], str | None]:
    """Every whole record of a WARC file, and why reading stopped early (a truncated or damaged file)."""
    found: list[Indexed] = []
    it = ArchiveIterator(io.BytesIO(data), no_record_parse=False, ensure_http_headers=False)
    try:
        for record in it:
            headers = record.rec_headers
            kind = str(record.rec_type)
            digest = None
            if kind in ("response", "revisit"):
                label = headers.get_header("WARC-Payload-Digest") or ""
                digest = label_to_hex(label)
                if digest is None and kind == "response":
                    digest = hashlib.sha256(record.raw_stream.read()).hexdigest()
            it.read_to_end(record)
            offset, length = it.get_record_offset(), it.get_record_length()
            member = zlib.decompressobj(wbits=31)
            member.decompress(data[offset : offset + length])
            if not member.eof:
                return found, f"record at offset {offset} is cut off"
            found.append(Indexed(kind, str(headers.get_header("WARC-Target-URI") or ""),
                                 str(headers.get_header("WARC-Date") or ""), digest, offset, length,
                                 str(headers.get_header("WARC-Record-ID") or "")))
    except Exception as exc:  # a damaged member: keep what came before it
        return found, f"unreadable after {len(found)} records: {type(exc).__name__}: {exc}"
    return found, None


def read_response(data: bytes) -> tuple[dict[str, str], bytes, str, str]:
    """HTTP headers (lower-case names), payload, target URI and date of one gzip-member response record."""
    for record in ArchiveIterator(io.BytesIO(data)):
        http_headers = record.http_headers
        if http_headers is None:  # warcio parses HTTP headers only under http(s) targets (not urn:sha256:)
            http_headers = StatusAndHeadersParser(["HTTP/1.0", "HTTP/1.1"]).parse(record.raw_stream)
        headers = {k.lower(): v for k, v in http_headers.headers}
        body = record.raw_stream.read()
        rec = record.rec_headers
        return headers, body, str(rec.get_header("WARC-Target-URI")), str(rec.get_header("WARC-Date"))
    raise ValueError("no record")
