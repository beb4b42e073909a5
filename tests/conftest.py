"""Fixtures shared by every test module. Stage-specific fixtures live in their own test modules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")

ROOT = Path(__file__).resolve().parents[1]
#: ../shared beside the project root: seed, gold, reference data and the labelled corpora.
SHARED = ROOT.parent / "shared"
SEED = SHARED / "seed" / "000_369957bb338a4502.txt"
GOLD = SHARED / "gold" / "seed_article.gold.json"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: tests read the seed, gold and corpora from ../shared")
    return SHARED
