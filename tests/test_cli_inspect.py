"""``initiatives inspect``: the JSON contract, many targets, bad input, and no Prefect on the import path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from initiatives.cli import app
from tests.conftest import ROOT

runner = CliRunner()
#: one of the project's own pages (a text dump), for tests that need any page rather than the seed.
PAGE = ROOT / "tests" / "fixtures" / "initiatives" / "casc_party_building.txt"

ARTICLE_KEYS = {"title", "published", "source", "sections", "paragraphs", "campaigns"}
RECORD_KEYS = {"section", "statement", "org_body", "units", "metrics", "documents", "frameworks", "people"}
UNIT_KEYS = {"mention", "name", "full_name", "aliases", "resolved"}


def test_seed_prints_the_contract(seed_path: Path, gold_path: Path) -> None:
    result = runner.invoke(app, ["inspect", str(seed_path), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    gold = json.loads(gold_path.read_text(encoding="utf-8"))
    assert set(data) == {"target", "verdict", "evidence", "article", "initiatives"}
    assert data["verdict"] == gold["article"]["expected_verdict"]
    assert all(set(e) == {"rule", "match"} for e in data["evidence"])
    assert set(data["article"]) == ARTICLE_KEYS
    assert data["article"]["published"] == gold["article"]["published"]
    assert data["article"]["sections"] == gold["article"]["sections"]
    assert data["article"]["campaigns"] == gold["article"]["campaigns"]
    assert len(data["initiatives"]) == len(gold["initiatives"])
    for rec in data["initiatives"]:
        assert set(rec) == RECORD_KEYS
        assert all(set(u) == UNIT_KEYS for u in rec["units"])
        assert all(set(mt) == {"value", "measure", "object"} for mt in rec["metrics"])
        assert all(set(p) == {"name", "title"} for p in rec["people"])


def test_folder_gives_one_json_line_per_page(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(PAGE.read_text(encoding="utf-8"), encoding="utf-8")
    html = ROOT / "initiatives" / "demo_site" / "live" / "aecc-gbk.html"
    (tmp_path / "b.html").write_bytes(html.read_bytes())
    (tmp_path / "notes.md").write_text("ignored", encoding="utf-8")
    result = runner.invoke(app, ["inspect", str(tmp_path), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(d["target"]).name for d in lines] == ["a.txt", "b.html"]
    assert lines[1]["article"]["title"] == "中国航发南方党委开展“红色引擎”主题实践活动"


def test_missing_file_is_one_line_and_nonzero(tmp_path: Path) -> None:
    missing = tmp_path / "nope.html"
    result = runner.invoke(app, ["inspect", str(missing)])
    assert result.exit_code != 0
    assert result.stderr.strip() == f"initiatives: error: {missing}: no such file, folder or URL"


def test_binary_and_empty_files_fail_but_others_still_print(tmp_path: Path) -> None:
    (tmp_path / "blob.html").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "empty.html").write_bytes(b"")
    result = runner.invoke(app, ["inspect", str(tmp_path / "blob.html"), str(tmp_path / "empty.html"), str(PAGE),
                                 "--format", "jsonl"])
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and all(e.startswith("initiatives: error: ") for e in errors)
    assert "blob.html" in errors[0] and "empty.html" in errors[1]
    assert len(result.stdout.strip().splitlines()) == 1


def test_json_takes_one_target_and_unknown_option_fails() -> None:
    two = runner.invoke(app, ["inspect", str(PAGE), str(PAGE), "--format", "json"])
    assert two.exit_code != 0 and "jsonl" in two.stderr
    bad = runner.invoke(app, ["inspect", str(PAGE), "--no-such-option"])
    assert bad.exit_code != 0 and "No such option" in bad.stderr


def test_unreachable_url_is_an_error_line() -> None:
    # Port 9 on loopback: nothing listens there, so the connection is refused without leaving the machine.
    result = runner.invoke(app, ["inspect", "http://127.0.0.1:9/a.html"])
    assert result.exit_code == 1
    assert result.stderr.startswith("initiatives: error: http://127.0.0.1:9/a.html: ")


def test_inspect_does_not_import_prefect() -> None:
    code = (
        "import sys; from typer.testing import CliRunner; from initiatives.cli import app; "
        f"r = CliRunner().invoke(app, ['inspect', {str(PAGE)!r}, '--format', 'json']); "
        "assert r.exit_code == 0, r.output; print('prefect' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"
