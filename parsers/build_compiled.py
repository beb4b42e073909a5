"""Compile the records parser's hot modules with mypyc, beside the sources, for issue 14's speed target.

The records parser is pure Python over typed records; most of its time goes to Python-level calls and
attribute access between the regex and automaton scans, which is what mypyc removes. Compiled, the seed
parses about 1.5 times as fast with byte-identical records (docs/records.md has the measurements).

The build goes to ``build/mypyc/`` with a manifest of the SHA-256 of every ``parsers/*.py``, the Python
version and the mypy version it was compiled with. ``parsers/__init__.py`` uses the compiled modules only
when the manifest matches the sources and the interpreter exactly, so an edited source is never shadowed by
a stale build: it runs as pure Python until the next ``make install``. No C compiler, or a failed build,
leaves the parsers pure Python and says so in one line; installing never fails for it. The compiler's own
output goes to ``build/mypyc.log``.

    uv run --frozen python -m parsers.build_compiled [--status] [--force]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from parsers import BUILD_DIR, COMPILED, PACKAGE_DIR, manifest, mismatch, source_hashes, status


def _fingerprint() -> dict[str, object]:
    import mypy.version

    return {
        "python": sys.version,
        "mypy": mypy.version.__version__,
        "modules": list(COMPILED),
        "sources": source_hashes(),
    }


def build() -> None:
    """Compile into a temporary folder and move it into place only when complete, so an interrupted
    build never leaves a manifest beside half the modules."""
    from mypyc.build import mypycify
    from setuptools import Distribution  # type: ignore[import-untyped]

    BUILD_DIR.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="mypyc-", dir=BUILD_DIR.parent))
    os.chdir(PACKAGE_DIR.parent)  # mypy reads the project's [tool.mypy] from here
    try:
        paths = [f"parsers/{m}.py" for m in COMPILED]
        extensions = mypycify(paths, opt_level="3", target_dir=str(tmp / "c"), group_name="initiatives_parsers")
        dist = Distribution({"name": "initiatives-parsers-compiled", "ext_modules": extensions})
        dist.verbose = False
        cmd = dist.get_command_obj("build_ext")
        cmd.build_lib = str(tmp / "lib")
        cmd.build_temp = str(tmp / "obj")
        cmd.ensure_finalized()
        cmd.run()
        (tmp / "lib" / "manifest.json").write_text(json.dumps(_fingerprint(), indent=1), encoding="utf-8")
        shutil.rmtree(BUILD_DIR, ignore_errors=True)
        (tmp / "lib").rename(BUILD_DIR)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


LOG = BUILD_DIR.parent / "mypyc.log"


@contextlib.contextmanager
def _output_to(log: Path) -> Iterator[None]:
    """mypyc and the C compiler (a child process) write to the file descriptors, so redirect those."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("wb") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def main() -> int:
    ap = argparse.ArgumentParser(description="Compile the records parser with mypyc (parsers/build_compiled.py).")
    ap.add_argument("--status", action="store_true", help="say whether the parsers run compiled, and exit")
    ap.add_argument("--force", action="store_true", help="rebuild even when the build is current")
    args = ap.parse_args()
    if args.status:
        print(f"parsers: {status()}")
        return 0
    built = manifest()
    try:
        import mypy.version

        current = not mismatch(built) and built.get("mypy") == mypy.version.__version__
        if current and not args.force:
            print(f"parsers: {status()}")
            return 0
        with _output_to(LOG):
            build()
    except Exception as exc:  # no compiler, no headers, no mypy, mypyc refusing a construct: Python still works
        shutil.rmtree(BUILD_DIR, ignore_errors=True)
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        print(f"parsers: pure Python (the mypyc build failed: {reason}; see {LOG})")
        return 0
    print(f"parsers: {status()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
