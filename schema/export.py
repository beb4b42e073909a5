"""Every reader view to CSV and Parquet files, for analysts who read files rather than databases.

Rows are streamed from the view into a CSV file (Python's csv module), and DuckDB turns that file into
Parquet with column types taken from the view (so dates stay dates and counts stay integers). DuckDB
rather than pyarrow: a third of the installed size (pyproject.toml), and readers can query the files with it.
Each file is written beside its final name and renamed into place, so a failed export leaves no half file.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text, types

FORMATS = ("csv", "parquet")


@dataclass(frozen=True, slots=True)
class Exported:
    view: str
    rows: int
    files: tuple[Path, ...]


def reader_views(engine: Engine) -> list[str]:
    """The reader views (``v_*``), whatever migrations added them."""
    return sorted(v for v in inspect(engine).get_view_names() if v.startswith("v_"))


#: DuckDB types of view columns by SQLAlchemy type, first match wins (Float is a Numeric, so it comes first);
#: NUMERIC is settled by its values (``_Column.duck``), anything else is text.
_KINDS: tuple[tuple[type[types.TypeEngine[Any]], str], ...] = (
    (types.Boolean, "BOOLEAN"),
    (types.Integer, "BIGINT"),
    (types.Float, "DOUBLE"),
    (types.Numeric, "NUMERIC"),
    (types.DateTime, "TIMESTAMP"),
    (types.Date, "DATE"),
)


def _kind(column_type: Any) -> str:
    return next((kind for sa_type, kind in _KINDS if isinstance(column_type, sa_type)), "VARCHAR")


class _Column:
    def __init__(self, name: str, kind: str) -> None:
        self.name, self.kind = name, kind
        self.integral = True

    @property
    def duck(self) -> str:
        if self.kind == "NUMERIC":
            return "BIGINT" if self.integral else "DOUBLE"
        return self.kind

    def cell(self, value: Any) -> str:
        """The CSV text of one value: ISO dates, UTC times without offset, integers without ``.0``."""
        if value is None:
            return ""
        if self.kind == "BOOLEAN":
            return "true" if value else "false"
        if self.kind == "NUMERIC":
            number = decimal.Decimal(str(value))
            if number == number.to_integral_value():
                return str(int(number))
            self.integral = False
            return str(float(number))
        if isinstance(value, dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return str(value.isoformat(sep=" "))
        if isinstance(value, dt.date):
            return value.isoformat()
        if self.kind == "TIMESTAMP" and isinstance(value, str) and value.endswith("+00:00"):
            return value[:-6]  # SQLite hands back stored text
        return str(value)


def export_views(engine: Engine, out: Path, formats: Sequence[str] = FORMATS) -> list[Exported]:
    """Write each reader view to ``out/<view>.csv`` and/or ``out/<view>.parquet``."""
    out.mkdir(parents=True, exist_ok=True)
    done = []
    for view in reader_views(engine):
        done.append(_export_view(engine, view, out, formats))
    return done


def _export_view(engine: Engine, view: str, out: Path, formats: Sequence[str]) -> Exported:
    columns = [_Column(c["name"], _kind(c["type"])) for c in inspect(engine).get_columns(view)]
    csv_path, parquet_path = out / f"{view}.csv", out / f"{view}.parquet"
    partial = out / f".{view}.csv.partial"
    try:
        with engine.connect() as conn, partial.open("w", encoding="utf-8", newline="") as fh:
            result = conn.execution_options(stream_results=True, yield_per=2000).execute(
                text(f"SELECT * FROM {view}")  # view names come from the database's own catalogue
            )
            rows = _write_csv(fh, columns, result)
        files: list[Path] = []
        if "parquet" in formats:
            _to_parquet(partial, parquet_path, columns)
            files.append(parquet_path)
        if "csv" in formats:
            os.replace(partial, csv_path)
            files.append(csv_path)
    finally:
        partial.unlink(missing_ok=True)
    return Exported(view, rows, tuple(files))


def _write_csv(fh: Any, columns: Sequence[_Column], rows: Iterable[Sequence[Any]]) -> int:
    writer = csv.writer(fh)
    writer.writerow([c.name for c in columns])
    n = 0
    for row in rows:
        writer.writerow([c.cell(v) for c, v in zip(columns, row, strict=True)])
        n += 1
    return n


def _to_parquet(source: Path, target: Path, columns: Sequence[_Column]) -> None:
    import duckdb

    partial = target.with_name(f".{target.name}.partial")
    spec = "{" + ", ".join(f"'{c.name}': '{c.duck}'" for c in columns) + "}"
    try:
        with duckdb.connect() as con:
            con.execute(
                f"COPY (SELECT * FROM read_csv({_literal(source)}, header = true, columns = {spec}, "
                "auto_detect = false, quote = '\"', escape = '\"', nullstr = '')) "
                f"TO {_literal(partial)} (FORMAT parquet)"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _literal(path: Path) -> str:
    """A path as a SQL string literal (DuckDB takes no parameters in COPY's file names)."""
    return "'" + str(path).replace("'", "''") + "'"
