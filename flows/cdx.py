"""The two public web archives' capture indexes (CDX APIs) and replay addresses, as pure functions.

No I/O here: ``flows.recover`` fetches the URLs these functions build through the crawler's own fetcher
(politeness, retries honouring Retry-After, the address policy), and hands the answers back to be parsed.
We use the documented HTTP APIs rather than cdx_toolkit because every request must go through that
fetcher; cdx_toolkit brings its own ``requests`` session.

Formats (docs/archives.md has a recorded example of each):

- Internet Archive, Wayback CDX server (github.com/internetarchive/wayback, wayback-cdx-server/README.md):
  ``GET {base}/cdx/search/cdx?url=…&output=json&from=YYYYMMDD&to=YYYYMMDD&filter=statuscode:200``,
  ``matchType=domain`` for a whole site. ``output=json`` is one JSON array of arrays whose first row
  names the fields: ``urlkey, timestamp, original, mimetype, statuscode, digest, length``. The raw
  capture is replayed unmodified at ``{base}/web/{timestamp}id_/{original}``.
- Common Crawl index (pywb's CDX server API, commoncrawl.org/cdxj-index): ``GET
  {index}/{collection}-index?url=…&output=json`` answers one JSON object per line with ``url, timestamp,
  status, mime, digest, length, offset, filename``; no capture is a 404. The record is the gzip member at
  ``{data}/{filename}`` bytes ``offset`` to ``offset+length-1`` (a Range request). ``{index}/collinfo.json``
  lists the collections, newest first.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

WAYBACK = "wayback"
COMMONCRAWL = "commoncrawl"
_WAYBACK_FIELDS = ("urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length")
_TIMESTAMP = re.compile(r"^\d{14}$")
_REPLAY = re.compile(r"/web/(\d{14})id_/(.+)$")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One capture listed by an archive's index."""

    archive: str
    url: str
    timestamp: str
    status: int | None
    mime: str = ""
    digest: str = ""
    #: Common Crawl only: where the WARC record sits.
    filename: str = ""
    offset: int = 0
    length: int = 0

    @property
    def captured_at(self) -> dt.datetime:
        return dt.datetime.strptime(self.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)


def stamp(day: dt.date | dt.datetime) -> str:
    return f"{day:%Y%m%d%H%M%S}" if isinstance(day, dt.datetime) else f"{day:%Y%m%d}"


def wayback_query(base: str, url: str, since: dt.date | None, until: dt.date | None, domain: bool = False) -> str:
    return _query(f"{base.rstrip('/')}/cdx/search/cdx", url, "statuscode:200", since, until, domain)


def _query(api: str, url: str, status: str, since: dt.date | None, until: dt.date | None, domain: bool) -> str:
    """Both servers take the same parameters; only the status field's name differs."""
    params = {"url": url, "output": "json", "filter": status}
    if domain:
        params["matchType"] = "domain"
    if since:
        params["from"] = stamp(since)
    if until:
        params["to"] = stamp(until)
    return f"{api}?{urlencode(params)}"


def parse_wayback(body: bytes) -> tuple[list[Snapshot], list[str]]:
    """Captures of a Wayback ``output=json`` answer; each unusable row is a problem line, not a failure."""
    try:
        rows = json.loads(body.decode("utf-8")) if body.strip() else []
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], [f"wayback CDX answer is not JSON: {exc}"]
    if not isinstance(rows, list) or not rows:
        return [], []
    header = rows[0]
    if not isinstance(header, list) or not {"timestamp", "original"} <= set(header):
        return [], [f"wayback CDX answer has no field row: {str(header)[:80]}"]
    found, problems = [], []
    for row in rows[1:]:
        if not isinstance(row, list) or len(row) != len(header):
            problems.append(f"wayback CDX row malformed: {str(row)[:80]}")
            continue
        rec = dict(zip(header, row, strict=True))
        snap = _snapshot(WAYBACK, rec.get("original"), rec.get("timestamp"), rec.get("statuscode"),
                         rec.get("mimetype", ""), rec.get("digest", ""))
        if snap is None:
            problems.append(f"wayback CDX row malformed: {str(row)[:80]}")
        else:
            found.append(snap)
    return found, problems


def wayback_replay(base: str, snap: Snapshot) -> str:
    """The capture as archived, without the replay banner or rewritten links (``id_``)."""
    return f"{base.rstrip('/')}/web/{snap.timestamp}id_/{snap.url}"


def replayed(url: str) -> tuple[str, str] | None:
    """(timestamp, original URL) of a Wayback ``id_`` replay address, e.g. after it redirected."""
    match = _REPLAY.search(urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else ""))
    return (match.group(1), match.group(2)) if match else None


def commoncrawl_query(api: str, url: str, since: dt.date | None, until: dt.date | None, domain: bool = False) -> str:
    return _query(api, url, "status:200", since, until, domain)


def parse_commoncrawl(body: bytes) -> tuple[list[Snapshot], list[str]]:
    """Captures of a Common Crawl ``output=json`` answer (one JSON object per line)."""
    found, problems = [], []
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            offset, length = int(rec["offset"]), int(rec["length"])
            filename = str(rec["filename"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            problems.append(f"commoncrawl CDX line malformed: {line[:80]}")
            continue
        snap = _snapshot(COMMONCRAWL, rec.get("url"), rec.get("timestamp"), rec.get("status"),
                         rec.get("mime", ""), rec.get("digest", ""))
        if snap is None or not filename or length <= 0:
            problems.append(f"commoncrawl CDX line malformed: {line[:80]}")
            continue
        found.append(Snapshot(snap.archive, snap.url, snap.timestamp, snap.status, snap.mime, snap.digest,
                              filename, offset, length))
    return found, problems


def commoncrawl_collections(body: bytes, since: dt.date | None, until: dt.date | None, limit: int) -> list[str]:
    """The ``cdx-api`` addresses of ``collinfo.json``'s collections that may hold the date range, newest first."""
    try:
        entries = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return []
    apis = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("cdx-api"):
            continue
        start, end = str(entry.get("from", ""))[:10], str(entry.get("to", ""))[:10]
        if until and start and start > until.isoformat():
            continue
        if since and end and end < since.isoformat():
            continue
        apis.append(str(entry["cdx-api"]))
    return apis[:limit]


def commoncrawl_range(snap: Snapshot) -> str:
    return f"bytes={snap.offset}-{snap.offset + snap.length - 1}"


def _snapshot(archive: str, url: object, timestamp: object, status: object, mime: object,
              digest: object) -> Snapshot | None:
    if not isinstance(url, str) or not url or not isinstance(timestamp, str) or not _TIMESTAMP.match(timestamp):
        return None
    code = int(status) if isinstance(status, str) and status.isdigit() else None
    return Snapshot(archive, url, timestamp, code, str(mime or ""), str(digest or ""))


def choose(snapshots: Sequence[Snapshot], died_at: dt.datetime | None) -> list[Snapshot]:
    """Captures to try, best first: status 200 only, the newest before the page or site died first, then
    (if none before, or they all turn out dead) the oldest after it; one per archive and timestamp."""
    good = {(s.archive, s.timestamp, s.url): s for s in snapshots if s.status == 200}.values()
    if died_at is None:
        return sorted(good, key=lambda s: s.timestamp, reverse=True)
    before = sorted((s for s in good if s.captured_at < died_at), key=lambda s: s.timestamp, reverse=True)
    after = sorted((s for s in good if s.captured_at >= died_at), key=lambda s: s.timestamp)
    return before + after
