"""The mypyc build of the records parser (parsers/build_compiled.py): in use when current, never when stale,
and giving exactly what the Python source gives."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import parsers
import parsers.initiatives
from parsers.initiatives import campaigns, no_records_reason, parse
from tests.conftest import IN_CI
from tests.genre_support import genre_article, genre_cases
from tests.initiatives_support import fixture_article, fixture_cases

ROOT = Path(__file__).resolve().parent.parent


def dump() -> str:
    """Every record, campaign and no-record reason the parser gives on the fixture and genre articles."""
    articles = [fixture_article(t) for t, _ in fixture_cases()] + [genre_article(c) for c in genre_cases()]
    out = []
    for article in articles:
        art = dataclasses.replace(article, campaigns=campaigns(article))
        records = parse(art)
        out.append([art.campaigns, [dataclasses.asdict(r) for r in records], no_records_reason(art, records)])
    return json.dumps(out, ensure_ascii=False, default=str)


def test_a_current_build_is_the_one_imported() -> None:
    compiled = parsers.compiled_dir()
    if compiled is None:
        reason = parsers.status()
        if IN_CI:
            pytest.fail(f"{reason} (the compiled parser is mandatory under CI: make install builds it)")
        pytest.skip(reason)
    for name in parsers.COMPILED:
        module = sys.modules.get(f"parsers.{name}") or __import__(f"parsers.{name}", fromlist=["_"])
        assert Path(str(module.__file__)).parent == compiled / "parsers", name
    assert parsers.initiatives.__file__ is not None and parsers.initiatives.__file__.endswith(".so")


def test_compiled_and_python_give_the_same_records() -> None:
    if parsers.compiled_dir() is None:
        pytest.skip(parsers.status())
    env = dict(os.environ, INITIATIVES_PURE_PYTHON="1")
    code = "import parsers.initiatives as m, tests.test_compiled as t; print(m.__file__); print(t.dump())"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", check=True
    )
    where, python_dump = proc.stdout.split("\n", 1)
    assert where.endswith("initiatives.py")  # the child really ran the source
    assert json.loads(python_dump) == json.loads(dump())


def test_a_changed_source_or_interpreter_retires_the_build() -> None:
    current = {"python": sys.version, "sources": parsers.source_hashes()}
    assert parsers.mismatch(current) == []
    edited = dict(current, sources=dict(current["sources"], **{"units.py": "0" * 64}))
    assert parsers.mismatch(edited) == ["units.py"]
    added = dict(current, sources={k: v for k, v in current["sources"].items() if k != "numbers.py"})
    assert parsers.mismatch(added) == ["numbers.py"]
    assert parsers.mismatch(dict(current, python="3.12.0")) == ["python"]
    assert parsers.mismatch({}) == ["no build"]


def test_forcing_python_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INITIATIVES_PURE_PYTHON", "1")
    assert parsers.compiled_dir() is None
    assert "INITIATIVES_PURE_PYTHON" in parsers.status()
