"""A misbehaving web server on 127.0.0.1 for the fault suite (tests/test_faults.py).

Each site is its own listener (so its own host key, ``127.0.0.1:<port>``); each fault is a path, written
at the socket level with asyncio streams so the server can do what a well-behaved framework never would:
answer nothing, trickle a byte a second, reset the connection, cut a body short, lie about its length or
charset, bomb, redirect in circles or to an address the crawler must never reach. A trap listener on
another loopback address (127.0.0.2) counts the connections it receives: any is a failure.

Pages are the bench site's articles (``benchmarks.crawl_site.article_html``, the project's own text), so
every good page carries records; ``turn()`` makes the good site's pages go expired, 404 and 500 for the
second pass.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import struct
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from benchmarks.crawl_site import article_html
from flows.session import new_event_loop

Writer = asyncio.StreamWriter
Handler = Callable[[Writer], Awaitable[None]]

EXPIRED = (
    "<html><head><title>域名已过期</title></head><body><h1>该域名已过期</h1>"
    "<p>This domain has expired. 域名到期停止解析，请联系注册商续费。</p></body></html>"
).encode()
NOT_FOUND = b"<html><head><title>404 Not Found</title></head><body>not found</body></html>"
#: 4,301 digits: one past the longest number Python's int() converts by default.
HUGE_NUMBER = "7" * 4301


def huge_number_article() -> bytes:
    """An article in our own words whose metric carries a 4,301-digit count."""
    paragraphs = [
        f"中国电科十四所党委聚焦科研攻关，组建青年突击队{HUGE_NUMBER}支，完成关键任务二十八项。",
        "航天科工二院党委坚持问题导向，开展专项调研十二次，推动整改落实到位，形成长效机制。",
        "各级党组织结合实际抓好落实，党员先锋岗在科研一线发挥作用，职工群众普遍认可。",
    ] * 3
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f"<html><head><meta charset='utf-8'><title>党建引领科研攻关见实效</title></head><body>"
            f"<h1>党建引领科研攻关见实效</h1><div class='info'>发布时间：2024-05-06</div>"
            f"<div class='content'>{body}</div></body></html>").encode()


def listing(links: list[str]) -> bytes:
    items = "".join(f'<li><a class="art" href="{u}">第{i}条</a></li>' for i, u in enumerate(links))
    return f'<html><head><title>列表</title></head><body><ul class="news">{items}</ul></body></html>'.encode()


async def respond(w: Writer, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
    head = {"content-type": "text/html; charset=utf-8", "content-length": str(len(body)), "connection": "close"}
    head.update(headers or {})
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in head.items()]
    w.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await w.drain()


async def never_answer(w: Writer) -> None:
    await asyncio.sleep(3600)


async def trickle(w: Writer) -> None:
    """Headers at once, then the body at one byte a second."""
    body = article_html(901)
    w.write(f"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {len(body)}\r\n\r\n".encode())
    for byte in body:
        w.write(bytes([byte]))
        await w.drain()
        await asyncio.sleep(1.0)


async def reset(w: Writer) -> None:
    sock = w.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    w.transport.abort()


async def truncated(w: Writer) -> None:
    body = article_html(902)
    w.write(f"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {len(body)}\r\n\r\n".encode())
    w.write(body[: len(body) // 3])
    await w.drain()
    w.transport.abort()


async def gzip_bomb(w: Writer) -> None:
    bomb = gzip.compress(b"<html><body>" + b"\0" * (64 * 1024 * 1024), compresslevel=9)
    await respond(w, 200, bomb, {"content-encoding": "gzip"})


async def declared_huge(w: Writer) -> None:
    w.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 52428800\r\n\r\n")
    await _endless(w, 50 * 1024 * 1024)


async def undeclared_huge(w: Writer) -> None:
    """50 MB with no Content-Length, delimited by the connection's end."""
    w.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n")
    await _endless(w, 50 * 1024 * 1024)


async def _endless(w: Writer, size: int) -> None:
    chunk = b"<p>" + b"x" * 65530 + b"</p>"
    sent = 0
    while sent < size:
        w.write(chunk)
        await w.drain()
        sent += len(chunk)


def redirect(location: str, status: int = 302) -> Handler:
    async def go(w: Writer) -> None:
        await respond(w, status, b"", {"location": location})

    return go


def page(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    async def serve(w: Writer) -> None:
        await respond(w, status, body, headers)

    return serve


def lying_charset() -> Handler:
    """GBK bytes under a header and a meta tag that both say UTF-8."""
    text = article_html(903).decode("utf-8").replace("（", "(").replace("）", ")")
    return page(text.encode("gbk", "replace"))


@dataclass
class FaultServer:
    """Listeners on 127.0.0.1 (one per site) plus a trap on 127.0.0.2, served from a background thread."""

    routes: dict[str, dict[str, Handler]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    trap_connections: int = 0
    trap_port: int = 0

    def __post_init__(self) -> None:
        self._loop = new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-server", daemon=True)
        self._servers: list[asyncio.AbstractServer] = []

    def url(self, site: str) -> str:
        return f"http://127.0.0.1:{self.ports[site]}"

    @property
    def trap_url(self) -> str:
        return f"http://127.0.0.2:{self.trap_port}"

    def start(self, sites: list[str]) -> FaultServer:
        self._thread.start()
        for site in sites:
            self.routes.setdefault(site, {})
            self.ports[site] = self._run(self._listen("127.0.0.1", self._handler(site)))
        self.trap_port = self._run(self._listen("127.0.0.2", self._trap))
        return self

    def stop(self) -> None:
        async def close() -> None:
            for server in self._servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        self._run(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def route(self, site: str, path: str, handler: Handler) -> None:
        self.routes[site][path] = handler

    def _run(self, coro: Awaitable[int] | Awaitable[None]) -> int:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _listen(self, host: str, handler: Callable[[asyncio.StreamReader, Writer], Awaitable[None]]) -> int:
        server = await asyncio.start_server(handler, host, 0)
        self._servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    async def _trap(self, reader: asyncio.StreamReader, w: Writer) -> None:
        self.trap_connections += 1
        w.transport.abort()

    def _handler(self, site: str) -> Callable[[asyncio.StreamReader, Writer], Awaitable[None]]:
        async def handle(reader: asyncio.StreamReader, w: Writer) -> None:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode("latin-1")
                self.hits[f"{site}{path}"] += 1
                handler = self.routes[site].get(path)
                if handler is None:
                    await respond(w, 404, NOT_FOUND)
                else:
                    await handler(w)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
                pass
            finally:
                if not w.is_closing():
                    w.close()

        return handle
