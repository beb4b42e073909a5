"""``initiatives export``: every reader view to CSV and Parquet, read back; and its bad input."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from initiatives.cli import app
from schema.export import reader_views
from schema.loader import load_pages
from tests.test_loader import T0, facts, good_result
from tests.test_versions import SOFT_404

runner = CliRunner()


def _fill(engine: Engine) -> None:
    for result, at, load_id in (
        (good_result(), T0, "run-1"),
        (SOFT_404, T0 + dt.timedelta(days=1), "run-2"),  # a suspect: its (no) records stay out of the views
    ):
        load_pages(engine, [(result, facts(at))], load_id, "1")


def test_export_writes_every_view_and_reads_back(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fill(engine)
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", db_url)
    out = tmp_path / "out"
    done = runner.invoke(app, ["export", "--out", str(out)])
    assert done.exit_code == 0, done.output
    views = reader_views(engine)
    assert {"v_unit_initiatives", "v_initiative_people", "v_initiative_campaigns"} <= set(views)
    for view in views:
        with engine.connect() as conn:
            want = conn.execute(text(f"SELECT count(*) FROM {view}")).scalar_one()
        with (out / f"{view}.csv").open(encoding="utf-8", newline="") as fh:
            assert len(list(csv.DictReader(fh))) == want, view
        assert duckdb.sql(f"SELECT count(*) FROM '{out / f'{view}.parquet'}'").fetchall() == [(want,)], view
    assert not list(out.glob(".*")), "no partial files left behind"

    metrics = out / "v_initiative_metrics"
    with metrics.with_suffix(".csv").open(encoding="utf-8", newline="") as fh:
        row = next(csv.DictReader(fh))
    assert row["value"] == "14" and row["units"] == "红林"  # a count stays 14, not 14.0
    parquet = duckdb.sql(f"SELECT value, published FROM '{metrics.with_suffix('.parquet')}'").fetchall()
    assert parquet == [(14, dt.date(2023, 11, 16))]
    units = duckdb.sql(
        f"SELECT unit, unit_group, unit_group_name FROM '{out / 'v_unit_initiatives.parquet'}' ORDER BY unit"
    ).fetchall()
    assert [u[:2] for u in units] == [("东安", "AECC"), ("红林", None)]
    assert units[0][2]  # the gazetteer's name of the group
    people = duckdb.sql(f"SELECT person, person_title FROM '{out / 'v_initiative_people.parquet'}'").fetchall()
    assert people == [("郝玉扬", "党支部书记")]
    documents = duckdb.sql(
        f"SELECT document, units, unit_groups, unit_group_names FROM '{out / 'v_initiative_documents.parquet'}'"
    ).fetchall()
    assert documents == [("临时党支部工作细则", "东安", "AECC", units[0][2])]


def test_export_one_format(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(engine)
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", db_url)
    done = runner.invoke(app, ["export", "--format", "csv", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert list(tmp_path.glob("*.csv")) and not list(tmp_path.glob("*.parquet"))


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--format", "xlsx"], "--format xlsx"), (["--out", "FILE"], "not a folder")],
)
def test_export_bad_input_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    (tmp_path / "FILE").write_text("")
    done = runner.invoke(app, ["export", *[str(tmp_path / a) if a == "FILE" else a for a in args]])
    assert done.exit_code == 2 and message in done.output and "Traceback" not in done.output


def test_export_never_creates_a_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "none" / "x.db"
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", f"sqlite:///{db}")
    done = runner.invoke(app, ["export", "--out", str(tmp_path / "out")])
    assert done.exit_code == 2 and "no database at" in done.output
    assert not db.exists() and not db.parent.exists()
