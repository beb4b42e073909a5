"""The one host key: how every module names the site a URL belongs to.

Fetching keys politeness and robots.txt by host, the loader keys ``sites`` rows by host, and backfill,
reparse, recheck and the status signals look sites up by host. When these disagreed (httpx's normalised
netloc in the fetcher, ``urlsplit(url).netloc.lower()`` elsewhere) a site with an internationalised name
or an explicit default port was two sites: never retired, and never rechecked. So there is one function,
here, at the bottom of the import graph (``flows`` and ``schema`` both import ``parsers``), and it is
httpx's own normalisation, because httpx is what sends the request: lower case, IDNA (``中文网.中国`` →
``xn--fiq228c5hs.xn--fiqs8s``), default port dropped (``:80`` on http, ``:443`` on https).
"""

from __future__ import annotations

import httpx

#: the key of a URL that names no host at all (a local file run through ``initiatives inspect``).
NO_HOST = "local"


def parse_url(url: str) -> httpx.URL:
    """httpx's parse, plus the port range check it leaves to the connection (``connect()`` would raise an
    ``OverflowError`` mid-request). Raises ``httpx.InvalidURL``."""
    parsed = httpx.URL(url)
    if parsed.port is not None and parsed.port > 65535:
        raise httpx.InvalidURL(f"port {parsed.port} out of range")
    return parsed


def host_key(url: str | httpx.URL) -> str:
    """``host[:port]`` as httpx normalises it; ``NO_HOST`` for a URL without a host.

    Raises ``httpx.InvalidURL`` for a URL httpx cannot parse (``http://[::1/x``): such a URL was never
    requested and belongs to no site, so callers treat it as that one URL's failure.
    """
    parsed = url if isinstance(url, httpx.URL) else parse_url(url)
    return parsed.netloc.decode("ascii") or NO_HOST


def netloc_key(netloc: str, scheme: str = "http") -> str:
    """The key of a bare ``host[:port]`` as stored by older versions (the 0004 migration re-keys them)."""
    return host_key(f"{scheme}://{netloc}/")


def host_key_or_none(url: str) -> str | None:
    """``host_key``, or None for a URL httpx cannot parse: for reports and lookups, where such a URL is
    simply one that belongs to no site."""
    try:
        return host_key(url)
    except httpx.InvalidURL:
        return None
