"""What an operator watches: ``runs``, ``--wait``, progress lines in the run's log, clean stdout."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows import progress
from initiatives import cli
from initiatives.remote import Triggered, wait
from schema.db import make_engine, upgrade
from schema.loader import record_run
from tests.test_cli_crawl import SOURCES

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    return tmp_path / "data"


def _runs(data_dir: Path) -> None:
    url = f"sqlite:///{data_dir / 'initiatives.db'}"
    upgrade(url)
    engine = make_engine(url)
    t0 = dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC)
    record_run(engine, "crawl-a", "crawl", t0, {"pages_by_verdict": {"ok": 40, "not_found": 2},
                                               "articles_written": 40, "records_written": 95, "not_modified": 7,
                                               "errors": ["http://x/1: timeout"]})
    record_run(engine, "backfill-b", "backfill", t0 + dt.timedelta(hours=1),
               {"pages_by_verdict": {"ok": 3}, "articles_written": 3, "records_written": 4})
    engine.dispose()


def test_runs_lists_newest_first_with_counts(data_dir: Path) -> None:
    _runs(data_dir)
    text = runner.invoke(cli.app, ["runs"])
    assert text.exit_code == 0, text.output
    lines = text.stdout.strip().splitlines()
    assert [ln.split()[1] for ln in lines] == ["backfill", "crawl"]
    assert "pages 42 (ok 40, not_found 2)" in lines[1] and "records 95" in lines[1] and "errors 1" in lines[1]
    rows = [json.loads(ln) for ln in runner.invoke(cli.app, ["runs", "--format", "jsonl"]).stdout.splitlines()]
    assert [(r["load_id"], r["pages"], r["not_modified"]) for r in rows] == [("backfill-b", 3, 0), ("crawl-a", 42, 7)]
    only = runner.invoke(cli.app, ["runs", "--flow", "crawl", "--limit", "5", "--format", "jsonl"]).stdout
    assert [json.loads(ln)["flow"] for ln in only.splitlines()] == ["crawl"]


def test_runs_without_a_database_is_one_line(data_dir: Path) -> None:
    result = runner.invoke(cli.app, ["runs"])
    assert result.exit_code == 2 and "no database there yet" in result.stderr
    assert not data_dir.exists()


def test_wait_reports_each_state_once_and_returns_the_final_one() -> None:
    states = iter([("SCHEDULED", "Scheduled", None), ("PENDING", "Pending", None), ("RUNNING", "Running", None),
                   ("RUNNING", "Running", None), ("FAILED", "Failed", "until 2024-01-01 is before since 2024-02-01")])
    seen: list[str] = []
    run = Triggered("backfill/backfill", "id-1", "brave-fox", "http://127.0.0.1:9/api")
    final = wait(run, seen.append, read_state=lambda api, fid: next(states), sleep=lambda s: None)
    assert final == "FAILED"
    assert seen == [
        "flow run brave-fox: Scheduled", "flow run brave-fox: Pending", "flow run brave-fox: Running",
        "flow run brave-fox: Failed (until 2024-01-01 is before since 2024-02-01)",
    ]


@pytest.mark.parametrize(("final", "code"), [("COMPLETED", 0), ("CRASHED", 1)])
def test_cli_wait_exit_code_is_the_runs(
    final: str, code: int, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES, encoding="utf-8")
    run = Triggered("crawl/crawl", "id-2", "calm-owl", "http://127.0.0.1:9/api")
    monkeypatch.setattr("initiatives.remote.trigger_or_run", lambda *a, **k: run)
    states = iter([("RUNNING", "Running", None), (final, final.title(), None)])
    monkeypatch.setattr("initiatives.remote.run_state", lambda api, fid: next(states))
    monkeypatch.setattr("time.sleep", lambda s: None)
    result = runner.invoke(cli.app, ["run", "--sources", str(sources), "--wait"])
    assert result.exit_code == code, result.output
    assert result.stdout.strip().startswith("flow run calm-owl (id-2) created from crawl/crawl")
    assert result.stderr.splitlines() == ["flow run calm-owl: Running", f"flow run calm-owl: {final.title()}"]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_progress_logs_a_line_every_n_pages() -> None:
    """Outside a flow run the line goes to the ``initiatives.progress`` logger (inside, to the run's)."""
    logger, lines = logging.getLogger("initiatives.progress"), _Lines()
    logger.addHandler(lines)
    level, logger.level = logger.level, logging.INFO
    try:
        progress.start("crawl", 10, every=4)
        progress.advance(3, {"ok": 3})
        assert lines.messages == []
        progress.advance(3, {"ok": 5, "not_found": 1})
        progress.advance(3, {"ok": 8, "not_found": 1})
        progress.advance(1, {"ok": 9, "not_found": 1})
    finally:
        logger.removeHandler(lines)
        logger.level = level
    assert len(lines.messages) == 2
    assert lines.messages[0].startswith("crawl: 6/10 pages, ")
    assert lines.messages[0].endswith(" pages/s; ok 5, not_found 1")
    assert lines.messages[1].startswith("crawl: 10/10 pages, ")


def test_local_run_prints_only_json_on_stdout(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``initiatives run > out`` gives clean JSON: the bar and log lines go to stderr."""
    sources = tmp_path / "sources.toml"
    sources.write_text(SOURCES, encoding="utf-8")

    def fake_crawl(**params: object) -> dict[str, object]:
        progress.start("crawl", 4, every=2)
        progress.advance(2, {"ok": 2})
        logging.getLogger("initiatives.progress").warning("a log line while the bar shows")
        progress.advance(2, {"ok": 4})
        return {"pages_by_verdict": {"ok": 4}}

    monkeypatch.setattr(cli, "call_crawl", fake_crawl)
    result = runner.invoke(cli.app, ["run", "--sources", str(sources)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"pages_by_verdict": {"ok": 4}}
    assert "crawl" in result.stderr  # the bar
