"""CLI flow commands: bad input gives one ``initiatives: error:`` line naming it, before any flow runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from initiatives import cli

SOURCES = """\
[[sites]]
name = "one"
base_url = "http://127.0.0.1:9/"
"""


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    def no_flow(**params: object) -> None:
        raise AssertionError(f"a flow ran despite bad input: {params}")

    for name in ("call_backfill", "call_reparse", "call_recheck", "call_crawl"):
        monkeypatch.setattr(cli, name, no_flow)
    monkeypatch.setenv("INITIATIVES_DATA_DIR", str(tmp_path / "data"))  # a local run checks its database first
    monkeypatch.delenv("INITIATIVES_DATABASE_URL", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    path = tmp_path / "sources.toml"
    path.write_text(SOURCES, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["backfill", "--since", "2024-02-01", "--until", "2024-01-01"], "until 2024-01-01 is before since 2024-02-01"),
        (["backfill", "--since", "2024-13-01"], "--since 2024-13-01"),
        (["backfill", "--site", "nope"], "unknown site nope"),
        (["backfill", "--urls", "missing.txt"], "missing.txt: URL file not found"),
        (["reparse", "--until", "yesterday"], "--until yesterday"),
        (["recheck", "--site", "two"], "unknown site two"),
        (["run", "--site", "two"], "unknown site two"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(sources: Path, args: list[str], names: str) -> None:
    result = CliRunner().invoke(cli.app, [*args, "--sources", str(sources)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initiatives: error: ") and names in lines[0]


def test_bad_url_file_line_is_named(sources: Path, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("# list\nhttp://127.0.0.1:9/a.html\nftp://x/y\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["backfill", "--urls", str(urls), "--sources", str(sources)])
    assert result.exit_code == 2 and f"{urls}:3: not an absolute http(s) URL" in result.stderr


def test_good_input_reaches_the_flow_call(sources: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake(**params: object) -> dict[str, object]:
        seen.update(params)
        return {"pages_by_verdict": {}}

    monkeypatch.setattr(cli, "call_backfill", fake)
    result = CliRunner().invoke(
        cli.app, ["backfill", "--site", "one", "--since", "2024-01-01", "--until", "2024-01-31",
                  "--sources", str(sources)]
    )
    assert result.exit_code == 0, result.stderr
    assert seen["sites"] == ["one"] and str(seen["since"]) == "2024-01-01" and str(seen["until"]) == "2024-01-31"


def test_configured_but_unreachable_prefect_api_fails_before_any_work(
    sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Port 9 on loopback: nothing listens, so the check fails at once without leaving the machine.
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    result = CliRunner().invoke(cli.app, ["backfill", "--site", "one", "--sources", str(sources)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("initiatives: error: ") and "127.0.0.1:9" in lines[0]
