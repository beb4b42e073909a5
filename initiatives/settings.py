"""Runtime configuration from environment variables (prefix ``INITIATIVES_``), one object for all entrypoints."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

#: ``shared`` beside the project checkout: where a developer's copy of the external corpora usually is.
_DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"


ENV_PREFIX = "INITIATIVES_"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_file=None, extra="ignore")

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

    @property
    def database(self) -> str:
        if self.database_url is not None and self.database_url.get_secret_value():
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'initiatives.db').resolve()}"

    @property
    def raw_dir(self) -> Path:
        return self.data_dir / "raw"
