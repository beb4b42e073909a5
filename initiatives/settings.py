"""Runtime configuration from environment variables (prefix ``INITIATIVES_``), one object for all entrypoints."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INITIATIVES_", env_file=None, extra="ignore")

    #: everything the pipeline writes locally: the SQLite database and the raw archive.
    data_dir: Path = Path("./data")
    #: SQLAlchemy URL; empty means SQLite under ``data_dir``. Secret so it never shows in logs or reprs.
    database_url: SecretStr | None = None
    sources_file: Path = Path("./sources.toml")
    #: pages per Prefect task: a task run costs ~20 ms, so per-page tasks would dominate the run.
    batch_size: int = Field(default=50, ge=1, le=5000)
    user_agent: str = "initiatives-crawler/0.1 (+https://example.invalid/initiatives)"
    #: K of site health: site-level failures in a row (refused connection, unresolvable name, home-page
    #: timeout) or distinct pages with a confirmed closure verdict before a site's status changes.
    site_failures_k: int = Field(default=3, ge=1, le=1000)

    @property
    def database(self) -> str:
        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'initiatives.db').resolve()}"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"
