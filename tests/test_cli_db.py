"""``initiatives db upgrade`` and ``initiatives units --unresolved`` against the configured database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

from initiatives.cli import app
from schema.db import make_engine
from schema.loader import load_page
from tests.test_loader import T0, facts, good_result

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    return tmp_path


def test_db_upgrade_creates_schema_and_is_idempotent(data_dir: Path) -> None:
    for _ in range(2):
        result = runner.invoke(app, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
    engine = make_engine(f"sqlite:///{(data_dir / 'initiatives.db').resolve()}")
    assert {"pages", "initiatives", "units"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_units_unresolved_lists_counts_and_examples(data_dir: Path) -> None:
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    engine = make_engine(f"sqlite:///{(data_dir / 'initiatives.db').resolve()}")
    load_page(engine, good_result(), facts(T0), "run-1", "1")
    engine.dispose()
    result = runner.invoke(app, ["units", "--unresolved"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].split()[:2] == ["1", "红林"]
    assert "红林等单位党委发布14项具体举措" in lines[0]
    known = runner.invoke(app, ["units"])
    assert "东安\t中国航发哈尔滨东安发动机有限公司" in known.stdout
    assert "红林" not in known.stdout
