"""Re-key sites by the one host key (IDNA, lower case, default port dropped) and merge the duplicates.

Older loaders keyed ``sites.host`` by ``urlsplit(url).netloc.lower()`` while the fetcher keyed by httpx's
normalised netloc, so ``中文网.中国`` and ``xn--fiq228c5hs.xn--fiqs8s``, or ``host:80`` and ``host``, could
be two rows of one site. Each row's key is recomputed with ``parsers.hosts.host_key`` (scheme taken from
one of its pages, or its base URL, else http); rows sharing a key are merged into one: the row already
keyed right survives (else the oldest), pages and status history move to it, and its empty name and base
URL are filled from the others. Status and health stay the survivor's: the merged rows' histories are
kept in ``site_status_history``, and the next crawl observes the site afresh under one key.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

from parsers.hosts import host_key, netloc_key

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _key(host: str, sample_url: str | None) -> str:
    """The host key of a stored host, using a URL of the site when there is one (it knows the scheme)."""
    if host == "local":
        return host
    try:
        if sample_url and urlsplit(sample_url).netloc.lower() == host.lower():
            return host_key(sample_url)
    except Exception:  # an unparseable stored URL: fall back to the bare host
        pass
    try:
        return netloc_key(host)
    except Exception:  # a host httpx cannot parse stays as it is: nothing to merge it with
        return host


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, host, name, base_url FROM sites ORDER BY id")).all()
    samples = dict(conn.execute(sa.text("SELECT site_id, MIN(url) FROM pages GROUP BY site_id")).tuples().all())
    groups: dict[str, list[tuple[int, str, str | None, str | None]]] = {}
    for site_id, host, name, base_url in rows:
        key = _key(host, samples.get(site_id) or base_url)
        groups.setdefault(key, []).append((site_id, host, name, base_url))
    for key, members in groups.items():
        survivor = next((m for m in members if m[1] == key), members[0])
        others = [m for m in members if m[0] != survivor[0]]
        if not others and survivor[1] == key:
            continue
        name = survivor[2] or next((m[2] for m in others if m[2]), None)
        base_url = survivor[3] or next((m[3] for m in others if m[3]), None)
        for other in others:
            params = {"new": survivor[0], "old": other[0]}
            conn.execute(sa.text("UPDATE pages SET site_id = :new WHERE site_id = :old"), params)
            conn.execute(sa.text("UPDATE site_status_history SET site_id = :new WHERE site_id = :old"), params)
            conn.execute(sa.text("DELETE FROM sites WHERE id = :old"), {"old": other[0]})
        conn.execute(
            sa.text("UPDATE sites SET host = :host, name = :name, base_url = :base_url WHERE id = :id"),
            {"host": key, "name": name, "base_url": base_url, "id": survivor[0]},
        )


def downgrade() -> None:
    """Merged rows cannot be split again; the keys stay normalised (harmless for older code reading)."""
