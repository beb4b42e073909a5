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
from hypothesis import given, settings
from hypothesis import strategies as st

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


#: marks, campaign tails, numerals and unit words, so every helper below finds something now and then.
_SCAN_ALPHABET = "。!?;,:“”\"‘’行动工程活动党建一十2所院部 \n"


@settings(max_examples=400, derandomize=True)
@given(st.text(alphabet=_SCAN_ALPHABET, max_size=40), st.integers(0, 45), st.integers(0, 45))
def test_the_scans_of_the_build_agree_with_the_patterns_they_replace(text: str, i: int, j: int) -> None:
    """Compiled, a few helpers loop over str.find instead of one regex scan (`_COMPILED`); the source keeps
    the regex. Run against the build (what the suite imports when it is current), each gives what its
    pattern gives."""
    from parsers import initiatives as ini
    from parsers.phrases import phrases
    from parsers.units import gazetteer

    p, g = phrases(), gazetteer()
    m = ini._CLAUSE_END.search(text, i, j)
    assert ini._clause_end(text, i, j) == (-1 if m is None else m.start())
    m = p.sentence_end.search(text, i, j)
    assert ini._first_sentence_end(text, i, j, p) == (j if m is None else m.start())
    before = min(i, len(text))
    m = p.through_last_sentence_end.match(text, 0, before)
    start = m.end() if m else 0
    while start < before and text[start].isspace():
        start += 1
    assert ini._sentence_start(text, before, p) == start
    assert [(x.span(), x.groups()) for x in ini._campaign_matches(text, p)] == [
        (x.span(), x.groups()) for x in p.campaign.finditer(text)
    ]
    order = g._number_word_order
    expected = sorted((order[text[x.end() - 1]], x.end() - 1) for x in g._numeral_word.finditer(text))
    assert sorted(g._numeral_words(text)) == expected
