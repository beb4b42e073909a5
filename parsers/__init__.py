"""The parsers: pure functions from fetched bytes to verdicts, articles and unit-initiative records.

When ``make install`` has compiled the records parser with mypyc (parsers/build_compiled.py) and that build
matches these sources and this interpreter exactly, its modules are found first; otherwise every module runs
as the Python source beside this file, so an edited source is never shadowed by a stale build.
``INITIATIVES_PURE_PYTHON=1`` forces the source, to compare the two or to debug.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).parent
BUILD_DIR = PACKAGE_DIR.parent / "build" / "mypyc"
MANIFEST = BUILD_DIR / "manifest.json"
#: the modules compiled: the records parser's per-paragraph work. Modules whose dataclasses cross process
#: boundaries (records.py: pickled by the parse pool) stay Python, because mypyc's frozen native classes do
#: not unpickle.
COMPILED = ("cjkfold", "numbers", "phrases", "units", "initiative_fields", "initiatives")


def source_hashes() -> dict[str, str]:
    """Every module of the package, not only the compiled ones: compiled code relies on the types of what it
    imports (records.py's dataclasses), so an edit anywhere in parsers/ retires the build."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(PACKAGE_DIR.glob("*.py"))}


def manifest() -> dict[str, Any]:
    try:
        built = json.loads(MANIFEST.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return built if isinstance(built, dict) else {}


def mismatch(built: dict[str, Any]) -> list[str]:
    """Why a build cannot serve these sources on this interpreter (empty when it can)."""
    if not built:
        return ["no build"]
    reasons = ["python"] if built.get("python") != sys.version else []
    sources, current = built.get("sources", {}), source_hashes()
    return reasons + sorted(n for n in set(sources) | set(current) if sources.get(n) != current.get(n))


def compiled_dir() -> Path | None:
    """The build folder when it matches these sources and this interpreter exactly, else None."""
    if os.environ.get("INITIATIVES_PURE_PYTHON") or mismatch(manifest()):
        return None
    return BUILD_DIR


def status() -> str:
    """One line: whether the parsers run compiled or as pure Python, and why."""
    if os.environ.get("INITIATIVES_PURE_PYTHON"):
        return "pure Python (INITIATIVES_PURE_PYTHON is set)"
    reasons = mismatch(manifest())
    if reasons == ["no build"]:
        return f"pure Python: no compiled build in {BUILD_DIR} (make install builds it)"
    if reasons:
        changed = ", ".join(reasons)
        return f"pure Python: the build in {BUILD_DIR} is stale ({changed} changed; make install rebuilds it)"
    return f"compiled with mypyc: {', '.join(COMPILED)}"


_build = compiled_dir()
if _build is not None:
    sys.path.append(str(_build))  # the compiled modules import their shared runtime library as a top-level module
    __path__.insert(0, str(_build / "parsers"))
