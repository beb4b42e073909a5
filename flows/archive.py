"""Content-addressed raw archive: every fetched body, compressed, keyed by its sha256.

It is the source of truth for re-parsing, so writes are atomic (temp file + rename) and a body that is
already stored is never written again.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class RawArchive:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, digest: str, suffix: str) -> Path:
        return self.root / digest[:2] / digest[2:4] / f"{digest}{suffix}"

    def put(self, body: bytes, headers: Mapping[str, str] | None = None) -> str:
        digest = content_hash(body)
        path = self._path(digest, ".gz")
        if not path.exists():
            _atomic_write(path, gzip.compress(body, compresslevel=6, mtime=0))
        if headers is not None:
            _atomic_write(self._path(digest, ".json"), json.dumps(dict(headers), ensure_ascii=False).encode())
        return digest

    def get(self, digest: str) -> bytes:
        return gzip.decompress(self._path(digest, ".gz").read_bytes())

    def headers(self, digest: str) -> dict[str, str]:
        path = self._path(digest, ".json")
        if not path.exists():
            return {}
        data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def __contains__(self, digest: str) -> bool:
        return self._path(digest, ".gz").exists()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
