"""The one way the parsers read their data files (rule catalogues, phrases, the gazetteer) in ``parsers/data/``.

Each caller parses its file once and caches the result; the files travel inside the package, so a
wheel, a checkout and the Docker image find them the same way.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).with_name("data")


def data_path(name: str) -> Path:
    return DATA_DIR / name


def load_toml(name: str) -> dict[str, Any]:
    return tomllib.loads(data_path(name).read_text(encoding="utf-8"))
