"""Runtime configuration from environment variables (prefix ``INITIATIVES_``), one object for all entrypoints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from flows.addresses import AllowSetting
from flows.fetch import ProxySetting

#: ``shared`` beside the project checkout: where a developer's copy of the external corpora usually is.
_DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"


ENV_PREFIX = "INITIATIVES_"


class Settings(BaseSettings):
    # hide_input_in_errors: a rejected value may hold a password (a proxy or database URL).
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=None, extra="ignore",
                                      hide_input_in_errors=True)

    #: everything the pipeline writes locally: the SQLite database and the raw archive.
    data_dir: Path = Path("./data")
    #: SQLAlchemy URL; empty means SQLite under ``data_dir``. Secret so it never shows in logs or reprs.
    database_url: SecretStr | None = None
    sources_file: Path = Path("./sources.toml")
    #: pages per Prefect task: a task run costs ~20 ms, so per-page tasks would dominate the run.
    batch_size: int = Field(default=50, ge=1, le=5000)
    user_agent: str = "initiatives-crawler/0.1 (+https://example.invalid/initiatives)"
    #: the external corpora (seed, gold, labelled pages) that corpus tests and benchmarks read; absent in a
    #: plain clone, where those tests skip with the reason (and fail under CI=true).
    shared_dir: Path = _DEFAULT_SHARED
    #: where a flow's submitted tasks (parsing) run: Prefect's thread pool, or Dask processes
    #: (dependency group ``dask``) — a LocalCluster of ``dask_workers`` (default: CPU count), or the
    #: scheduler at ``dask_address``. Results do not depend on it (docs/operations.md).
    task_runner: Literal["thread", "dask"] = "thread"
    dask_address: str | None = None
    dask_workers: int | None = Field(default=None, ge=1, le=1024)
    #: processes that parse a run's batches beside the one that fetches and loads (flows/parse_pool.py);
    #: 0 parses in the run's own process. Ignored with the Dask runner, whose workers parse. Default: the
    #: CPU count, at most 4 (one run's fetching cannot feed more; docs/crawling.md).
    parse_workers: int = Field(default_factory=lambda: min(os.cpu_count() or 1, 4), ge=0, le=256)
    #: parse batches in flight beyond the one awaited (at least one per parse worker), bounded for memory.
    parse_ahead: int = Field(default=2, ge=0, le=64)
    #: pages between two progress lines in a run's log (pages/s and pages by verdict so far).
    progress_every: int = Field(default=500, ge=1)
    #: per-host politeness counted in this process (``local``) or on the Prefect server across workers.
    host_limits: Literal["local", "prefect"] = "local"

    @field_validator("task_runner", "host_limits", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("dask_address", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    #: K of site health: site-level failures in a row (refused connection, unresolvable name, home-page
    #: timeout) or distinct pages with a confirmed closure verdict before a site's status changes.
    site_failures_k: int = Field(default=3, ge=1, le=1000)
    #: internal addresses the crawler may reach (everything not public is refused): IPs, CIDRs or host
    #: names, each with an optional port, comma-separated in the environment ("127.0.0.1,10.1.0.0/16:8080").
    allow_addresses: Annotated[AllowSetting, NoDecode] = ()
    #: proxy for every request (http://, https://, socks5://, socks5h://); a site's own proxy wins.
    proxy: ProxySetting = None
    #: use HTTP_PROXY/HTTPS_PROXY/ALL_PROXY/NO_PROXY from the environment when no proxy is configured.
    trust_env: bool = False

    @field_validator("allow_addresses", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    def fetch_options(self) -> dict[str, Any]:
        """The settings part of the fetch policy (``flows.fetch.FetchPolicy`` fields): network and host limits."""
        proxy = self.proxy.get_secret_value() if self.proxy is not None else ""
        return {"allow_addresses": self.allow_addresses, "proxy": proxy or None, "trust_env": self.trust_env,
                "host_limits": self.host_limits}

    # --- public web archives (flows/recover.py, docs/archives.md); tests point these at loopback fakes ---
    #: the Internet Archive's Wayback Machine: CDX at ``/cdx/search/cdx``, replay at ``/web/<ts>id_/<url>``.
    wayback_url: str = "https://web.archive.org"
    #: Common Crawl's index server (``/collinfo.json``, ``/<collection>-index``) and its data server.
    commoncrawl_index_url: str = "https://index.commoncrawl.org"
    commoncrawl_data_url: str = "https://data.commoncrawl.org"
    #: newest Common Crawl collections asked per lookup (each is one more CDX request).
    commoncrawl_collections: int = Field(default=3, ge=0, le=100)
    #: which archives recovery asks, in order of preference.
    archives: list[str] = ["wayback", "commoncrawl"]
    #: per archive host: requests per second and requests in flight; both archives ask for restraint.
    archive_rate: float = Field(default=1.0, gt=0, le=50)
    archive_concurrency: int = Field(default=2, ge=1, le=16)
    #: retries on a timeout, 429 or 5xx (Retry-After honoured, else exponential backoff from 1 s).
    archive_retries: int = Field(default=4, ge=0, le=10)
    #: seconds to connect or to wait for the next bytes from an archive (the Wayback can be slow).
    archive_timeout: float = Field(default=30.0, gt=0, le=600)
    #: captures tried per page before giving up (each a closure notice, a parking page or a redirect).
    archive_tries: int = Field(default=3, ge=1, le=20)

    @property
    def database(self) -> str:
        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'initiatives.db').resolve()}"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"
