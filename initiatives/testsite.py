"""A tiny HTTP site on 127.0.0.1 serving saved pages, for the demo, tests and benchmarks.

Real network traffic never leaves the machine: every fetch in the demo and the test suite goes here.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

CONTENT_TYPES = {".html": "text/html", ".htm": "text/html", ".txt": "text/plain", ".xml": "application/xml"}


class SiteServer:
    """Serves ``root`` (404 for anything missing), or one page for every path when ``catch_all`` is set.

    ``catch_all`` models a dead site whose host now answers every URL with the same notice.
    """

    def __init__(self, root: Path, catch_all: Path | None = None, charsets: dict[str, str] | None = None):
        self.root = root
        self.catch_all = catch_all
        self.charsets = charsets or {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                path = self.path.split("?", 1)[0]
                if server.catch_all is not None:
                    self._send(200, server.catch_all)
                    return
                name = "index.html" if path in ("", "/") else path.lstrip("/")
                target = (server.root / name).resolve()
                if server.root.resolve() not in target.parents or not target.is_file():
                    self.send_response(404)
                    body = b"<html><body><h1>404 Not Found</h1></body></html>"
                    self.send_header("content-type", "text/html; charset=utf-8")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self._send(200, target)

            def _send(self, status: int, file: Path) -> None:
                body = file.read_bytes()
                ctype = CONTENT_TYPES.get(file.suffix, "application/octet-stream")
                charset = server.charsets.get(file.name)
                self.send_response(status)
                self.send_header("content-type", f"{ctype}; charset={charset}" if charset else ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
