"""Sites to crawl, as validated configuration (``sources.toml``).

Adding a site is a data change. A bad file fails before any work starts, with one line naming the file,
the line and the field, because operators edit this by hand.
"""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from flows.addresses import AllowSetting
from flows.fetch import ProxySetting, host_of
from parsers.records import SiteSelectors


class ConfigError(ValueError):
    """A configuration problem, already phrased as the one line an operator should read."""


class _Strict(BaseModel):
    # hide_input_in_errors: a rejected value may hold a password (a proxy URL).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class Listing(_Strict):
    #: URL with an optional ``{page}`` placeholder for pagination (1-based).
    url: str
    link_selector: str = "a[href]"
    date_selector: str | None = None
    pages: int = Field(default=1, ge=1, le=100_000)


class Politeness(_Strict):
    concurrency: int = Field(default=2, ge=1, le=64)
    min_delay: float = Field(default=1.0, ge=0.0, le=3600.0)


class Selectors(_Strict):
    title: str | None = None
    body: str | None = None
    published: str | None = None
    source: str | None = None
    drop: tuple[str, ...] = ()

    def to_record(self) -> SiteSelectors:
        return SiteSelectors(self.title, self.body, self.published, self.source, self.drop)


class Site(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    base_url: str
    start_urls: tuple[str, ...] = ()
    listings: tuple[Listing, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    #: regexes a discovered URL must match (any of them) to be fetched; empty allows the whole host.
    allow: tuple[str, ...] = ()
    selectors: Selectors | None = None
    politeness: Politeness = Politeness()
    #: internal addresses this site's hosts may resolve to (flows/addresses.py: IP, CIDR or name, optional
    #: port), e.g. a site on an intranet; everything not public is refused otherwise.
    allow_addresses: AllowSetting = ()
    #: this site's proxy (http://, https://, socks5://, socks5h://), instead of the global one.
    proxy: ProxySetting = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL")
        try:
            host_of(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a valid URL: {exc}") from exc
        return value

    @field_validator("allow")
    @classmethod
    def _regexes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regex {pattern!r}: {exc}") from exc
        return value

    @functools.cached_property
    def host(self) -> str:
        return host_of(self.base_url)

    @functools.cached_property
    def hosts(self) -> frozenset[str]:
        """Every host the configuration names (base URL, start URLs, listings, feeds, sitemaps): redirects
        may move between them, nested sitemaps must stay on them."""
        urls = (self.base_url, *self.start_urls, *(x.url.replace("{page}", "1") for x in self.listings),
                *self.feeds, *self.sitemaps)
        out = {self.host}
        for url in urls:
            try:
                out.add(host_of(url))
            except httpx.InvalidURL:
                continue
        return frozenset(out)

    def on_site(self, url: str) -> bool:
        try:
            return host_of(url) in self.hosts
        except httpx.InvalidURL:
            return False

    def allows(self, url: str) -> bool:
        try:
            if host_of(url) != self.host:
                return False
        except httpx.InvalidURL:
            return False
        return not self.allow or any(re.search(p, url) for p in self.allow)


class Sources(_Strict):
    sites: tuple[Site, ...] = ()

    def select(self, names: list[str] | None) -> tuple[Site, ...]:
        if not names:
            return self.sites
        known = {s.name: s for s in self.sites}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ConfigError(f"unknown site {', '.join(unknown)}; configured: {', '.join(known) or 'none'}")
        return tuple(known[n] for n in names)


def _line_of(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best-effort line number for a pydantic error location such as ('sites', 1, 'base_url')."""
    lines = text.splitlines()
    start = 0
    if len(loc) >= 2 and loc[0] == "sites" and isinstance(loc[1], int):
        headers = [i for i, line in enumerate(lines) if line.strip() == "[[sites]]"]
        if loc[1] < len(headers):
            start = headers[loc[1]]
            end = headers[loc[1] + 1] if loc[1] + 1 < len(headers) else len(lines)
            field = next((p for p in reversed(loc[2:]) if isinstance(p, str)), None)
            if field:
                for i in range(start, end):
                    if re.match(rf"\s*{re.escape(field)}\s*=", lines[i]):
                        return i + 1
            return start + 1
    return None


def load_sources(path: Path) -> Sources:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: sources file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read sources file ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    try:
        return Sources.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = _line_of(text, loc)
        where = f"{path}:{line}" if line else str(path)
        field = ".".join(str(p) for p in loc)
        raise ConfigError(f"{where}: {field}: {err['msg']}") from None
