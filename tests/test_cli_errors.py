"""Settings and database problems end a command with one line naming the setting (password masked), never a
traceback; read commands never create a database; ``db upgrade`` says what it did."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from initiatives.cli import app
from schema.db import upgrade
from tests.conftest import ROOT

runner = CliRunner()
PASSWORD = "s3cret-pw"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    return tmp_path / "data"


def _one_line(args: list[str], *names: str) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initiatives: error: "), result.stderr
    assert "Traceback" not in result.output and PASSWORD not in result.output
    for name in names:
        assert name in lines[0]
    return lines[0]


@pytest.mark.parametrize("args", [["db", "upgrade"], ["units", "--unresolved"], ["run"]])
def test_bad_batch_size_names_the_variable(args: list[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INITIATIVES_BATCH_SIZE", "abc")
    _one_line(args, "INITIATIVES_BATCH_SIZE=abc", "integer")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"not a url:{PASSWORD}@x", "not a database URL"),
        (f"postgresql://u:{PASSWORD}@127.0.0.1:abc/db", "not a database URL"),
        (f"nosuchdialect://u:{PASSWORD}@127.0.0.1/db", "not a database URL"),
        # port 1 on loopback: nothing listens there, so the connection is refused without leaving the machine
        (f"postgresql+psycopg://u:{PASSWORD}@127.0.0.1:1/db", "cannot connect"),
    ],
)
@pytest.mark.parametrize("args", [["db", "upgrade"], ["units", "--unresolved"]])
def test_bad_database_url_is_one_masked_line(
    url: str, says: str, args: list[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", url)
    _one_line(args, "INITIATIVES_DATABASE_URL=", says, "***")


@pytest.mark.postgres
def test_missing_postgres_database_is_one_line(pg_server: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_server.rsplit("/", 1)[0].replace("postgres@", f"postgres:{PASSWORD}@") + "/initiatives_no_such_db"
    monkeypatch.setenv("INITIATIVES_DATABASE_URL", url)
    _one_line(["units"], "INITIATIVES_DATABASE_URL=", "initiatives_no_such_db", "does not exist")


def test_read_commands_never_create_a_database(data_dir: Path) -> None:
    for args in (["units", "--unresolved"], ["units"]):
        _one_line(args, "INITIATIVES_DATA_DIR=", "no database there yet", "db upgrade")
    assert not (data_dir / "initiatives.db").exists()


def test_db_upgrade_says_created_upgraded_or_already(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    created = runner.invoke(app, ["db", "upgrade"])
    assert created.exit_code == 0 and created.stdout.startswith("created the schema at revision "), created.output
    head = created.stdout.split()[5]
    again = runner.invoke(app, ["db", "upgrade"])
    assert again.exit_code == 0 and again.stdout.startswith(f"already at revision {head}"), again.output
    older = data_dir.parent / "older"
    upgrade(f"sqlite:///{older / 'initiatives.db'}", "0001")
    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(older))
    upgraded = runner.invoke(app, ["db", "upgrade"])
    assert upgraded.exit_code == 0 and upgraded.stdout.startswith(f"upgraded from revision 0001 to {head}")


@pytest.mark.parametrize(("given", "expected"), [(None, "1 false"), ("0", "0 false")])
def test_cli_turns_prefect_telemetry_off_unless_told(given: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED")}
    if given is not None:
        env["DO_NOT_TRACK"] = given
    code = "import os, initiatives.cli; e = os.environ; print(e['DO_NOT_TRACK'], e['PREFECT_SERVER_ANALYTICS_ENABLED'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    assert out.stdout.strip() == expected
