"""A web archive on 127.0.0.1 that answers like the Wayback Machine and Common Crawl, for tests and the demo.

One server speaks both archives' documented APIs (docs/archives.md has the formats and a recorded
example of each), so recovery runs end to end without the real services:

- ``/cdx/search/cdx?url=…&output=json[&matchType=domain][&from=…][&to=…][&filter=statuscode:200]``: the
  Wayback CDX server's JSON (an array of arrays, the first naming the fields);
- ``/web/<timestamp>id_/<url>``: the raw capture, with the original headers repeated as
  ``x-archive-orig-*``; an unknown timestamp redirects to the nearest capture of the URL, as the
  Wayback does, and a capture of a redirect redirects to the replay of its target;
- ``/collinfo.json``, ``/<collection>-index?url=…&output=json``: Common Crawl's index server (one JSON
  object per line; 404 with a message when nothing matches);
- ``/crawl-data/…warc.gz`` with a ``Range`` header: the bytes of one gzip-member WARC record, 206.

Faults for the bad-input tests: ``cdx_faults`` (Wayback) and ``cc_faults`` (Common Crawl) are queues of
what the next index requests do instead of answering (``"429"``, ``"503"``, ``"slow"``: wait
``slow_seconds`` first, ``"garbage"``: add malformed rows).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

COLLECTION = "CC-MAIN-2024-10"
WARC_FILE = f"crawl-data/{COLLECTION}/segments/1700000000000.1/warc/{COLLECTION}-00000.warc.gz"


@dataclass
class FakeCapture:
    url: str
    timestamp: str
    body: bytes
    archive: str = "wayback"
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    #: for a captured redirect: where it pointed.
    location: str | None = None
    #: Common Crawl only: where its record sits in ``WARC_FILE``.
    offset: int = 0
    length: int = 0


@dataclass
class FakeArchive:
    captures: list[FakeCapture] = field(default_factory=list)
    cdx_faults: list[str] = field(default_factory=list)
    cc_faults: list[str] = field(default_factory=list)
    slow_seconds: float = 3.0
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._warc = b""
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                archive.requests.append(self.path)
                try:
                    archive._answer(self)
                except (BrokenPipeError, ConnectionResetError):
                    return

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def add(self, capture: FakeCapture) -> None:
        with self._lock:
            self.captures.append(capture)
            if capture.archive == "commoncrawl":
                self._append_record(capture)

    def __enter__(self) -> FakeArchive:
        for capture in self.captures:
            if capture.archive == "commoncrawl" and not capture.length:
                self._append_record(capture)
        self._thread.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # --- Common Crawl's WARC file -------------------------------------------------------------------------
    def _append_record(self, capture: FakeCapture) -> None:
        out = io.BytesIO()
        writer = WARCWriter(out, gzip=True)
        headers = [("Content-Type", capture.content_type), ("Content-Length", str(len(capture.body)))]
        if capture.location:
            headers.append(("Location", capture.location))
        status = f"{capture.status} {'OK' if capture.status == 200 else 'Moved'}"
        when = dt.datetime.strptime(capture.timestamp, "%Y%m%d%H%M%S")
        record = writer.create_warc_record(
            capture.url, "response", payload=io.BytesIO(capture.body), length=len(capture.body),
            http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Date": when.strftime("%Y-%m-%dT%H:%M:%SZ")})
        writer.write_record(record)
        capture.offset, capture.length = len(self._warc), len(out.getvalue())
        self._warc += out.getvalue()

    # --- answers ----------------------------------------------------------------------------------------------
    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/cdx/search/cdx" or parts.path.endswith("-index"):
            fault = self._fault(self.cdx_faults if parts.path == "/cdx/search/cdx" else self.cc_faults)
            if fault in ("429", "503"):
                self._send(h, int(fault), b"slow down", "text/plain", {"retry-after": "0"})
                return
            if fault == "slow":
                time.sleep(self.slow_seconds)
            garbage = fault == "garbage"
            if parts.path == "/cdx/search/cdx":
                self._wayback_cdx(h, query, garbage)
            else:
                self._commoncrawl_cdx(h, query, garbage)
        elif parts.path.startswith("/web/"):
            self._replay(h, h.path[len("/web/"):])
        elif parts.path == "/collinfo.json":
            entry = {"id": COLLECTION, "name": "March 2024 Index", "timegate": f"{self.url}/{COLLECTION}/",
                     "cdx-api": f"{self.url}/{COLLECTION}-index", "from": "2000-01-01T00:00:00",
                     "to": "2030-01-01T00:00:00"}
            self._send(h, 200, json.dumps([entry]).encode(), "application/json")
        elif parts.path.lstrip("/") == WARC_FILE:
            self._range(h)
        else:
            self._send(h, 404, b"not found", "text/plain")

    def _fault(self, queue: list[str]) -> str | None:
        with self._lock:
            return queue.pop(0) if queue else None

    def _matching(self, archive: str, query: dict[str, str]) -> list[FakeCapture]:
        wanted, scope = query.get("url", ""), query.get("matchType", "exact")
        since, until = query.get("from", ""), query.get("to", "")
        status_filter = query.get("filter", "")
        out = []
        for c in self.captures:
            if c.archive != archive:
                continue
            host = urlsplit(c.url).hostname or ""
            if scope == "domain":
                bare = wanted.split("/")[0].split(":")[0]
                if host != bare and not host.endswith("." + bare):
                    continue
            elif _bare(c.url) != _bare(wanted):
                continue
            if since and c.timestamp < since.ljust(14, "0"):
                continue
            if until and c.timestamp > until.ljust(14, "9"):
                continue
            if status_filter.endswith(":200") and c.status != 200:
                continue
            out.append(c)
        return sorted(out, key=lambda c: (_bare(c.url), c.timestamp))

    def _wayback_cdx(self, h: BaseHTTPRequestHandler, query: dict[str, str], garbage: bool) -> None:
        rows: list[list[str]] = [["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]]
        for c in self._matching("wayback", query):
            rows.append([_urlkey(c.url), c.timestamp, c.url, c.content_type.split(";")[0], str(c.status),
                         "SHA1PLACEHOLDERDIGEST0000000000", str(len(c.body))])
            if garbage:
                rows.append(["only", "three", "fields"])
        body = json.dumps(rows).encode()
        if garbage:
            body = body[:-1] + b',["x","not-a-timestamp","u","m","200","d","1"]]'
        self._send(h, 200, body if len(rows) > 1 else b"[]", "application/json")

    def _commoncrawl_cdx(self, h: BaseHTTPRequestHandler, query: dict[str, str], garbage: bool) -> None:
        lines = []
        for c in self._matching("commoncrawl", query):
            lines.append(json.dumps({
                "urlkey": _urlkey(c.url), "timestamp": c.timestamp, "url": c.url,
                "mime": c.content_type.split(";")[0], "status": str(c.status), "digest": "SHA1PLACEHOLDER",
                "length": str(c.length), "offset": str(c.offset), "filename": WARC_FILE}))
            if garbage:
                lines.append('{"url": "truncated line')
        if not lines:
            message = {"message": f"No Captures found for: {query.get('url', '')}"}
            self._send(h, 404, json.dumps(message).encode(), "application/json")
            return
        self._send(h, 200, ("\n".join(lines) + "\n").encode(), "text/x-ndjson")

    def _replay(self, h: BaseHTTPRequestHandler, rest: str) -> None:
        stamp, _, original = rest.partition("id_/")
        same = [c for c in self.captures if c.archive == "wayback" and _bare(c.url) == _bare(original)]
        if not same:
            self._send(h, 404, b"Wayback Machine has not archived that URL.", "text/html")
            return
        exact = [c for c in same if c.timestamp == stamp]
        if not exact:
            nearest = min(same, key=lambda c: abs(int(c.timestamp) - int(stamp.ljust(14, "0"))))
            self._send(h, 302, b"", "text/plain", {"location": f"{self.url}/web/{nearest.timestamp}id_/{nearest.url}"})
            return
        capture = exact[0]
        if capture.location:
            self._send(h, 302, b"", "text/plain", {
                "location": f"{self.url}/web/{capture.timestamp}id_/{capture.location}",
                "x-archive-orig-location": capture.location})
            return
        self._send(h, capture.status, capture.body, capture.content_type, {
            "x-archive-orig-content-type": capture.content_type,
            "memento-datetime": _http_date(capture.timestamp)})

    def _range(self, h: BaseHTTPRequestHandler) -> None:
        spec = (h.headers.get("range") or "").removeprefix("bytes=")
        try:
            start, end = (int(x) for x in spec.split("-"))
        except ValueError:
            self._send(h, 416, b"a Range header is required", "text/plain")
            return
        self._send(h, 206, self._warc[start : end + 1], "application/octet-stream",
                   {"content-range": f"bytes {start}-{end}/{len(self._warc)}"})

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: bytes, ctype: str,
              headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        h.send_header("content-type", ctype)
        h.send_header("content-length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)


def _bare(url: str) -> str:
    """A URL as the CDX servers compare them: no scheme, no ``www.``, no trailing slash on the host."""
    rest = url.split("://", 1)[-1]
    return rest.removeprefix("www.").rstrip("/") or rest


def _urlkey(url: str) -> str:
    """SURT-ordered key (``com,example)/path``), as both indexes list first."""
    parts = urlsplit(url)
    host = ",".join(reversed((parts.hostname or "").removeprefix("www.").split(".")))
    return f"{host}){parts.path or '/'}" + (f"?{parts.query}" if parts.query else "")


def _http_date(stamp: str) -> str:
    when = dt.datetime.strptime(stamp, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    return when.strftime("%a, %d %b %Y %H:%M:%S GMT")
