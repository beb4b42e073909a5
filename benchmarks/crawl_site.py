"""A synthetic news site on 127.0.0.1 for ``bench_crawl``: N article pages of about 30 KB, fixed latency.

Run as its own process (``python benchmarks/crawl_site.py --articles N --latency 0.05``) so the crawler
under test never shares a CPU-second or an event loop with the server; it prints ``PORT <n>`` once
listening. Pages are generated from one template with the article number woven in, so every body is
distinct (the raw archive de-duplicates identical bodies) and costs the server almost nothing.

Routes: ``/robots.txt``, ``/list_{page}.html`` (20 links each, newest first, with dates),
``/news/{id}.html`` (ETag + conditional GET), ``/feed.xml`` (newest 50), ``/sitemap.xml`` (all).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import threading
from typing import Any

from aiohttp import web

from flows.session import new_event_loop

PER_LISTING = 20
EPOCH = dt.date(2024, 12, 31)

PARAGRAPHS = [
    "今年以来,中国航发各直属单位坚持以高质量党建引领高质量发展,把党建工作融入科研生产全过程。",
    "中国航发西航党委聚焦型号批产任务,组建{n}支党员突击队,在总装总试等关键环节设立党员示范岗,确保年度交付任务按期完成。",
    "围绕关键核心技术攻关,中国航发商发党委推行“揭榜挂帅”机制,发布{m}项攻关课题,激发科研人员创新活力。",
    "航发控制党委制定《党建与业务融合工作指引》,明确3类融合场景和{n}项重点任务。",
    "中国航发哈轴党委实施“一支部一项目”工程,推动支部建在项目上,党支部书记王海涛表示,要把党建优势转化为攻坚克难的强大动力。",
]
FILLER = (
    "各级党组织坚持问题导向,深入基层一线开展调研,梳理形成问题清单、任务清单和责任清单,"
    "推动各项工作任务落地见效,为建设航空强国贡献力量。"
)
FOOT = '</div></div><div class="footer">Copyright © 2015-2024 军工资源网 版权所有</div></body></html>'


def published(article: int) -> dt.date:
    """Article 1 is the newest; one article a day going back, so date ranges select id ranges."""
    return EPOCH - dt.timedelta(days=article - 1)


def article_html(article: int) -> bytes:
    day = published(article)
    paras = [p.format(n=article % 97 + 3, m=article % 13 + 2) for p in PARAGRAPHS]
    body = [f"<p>{p}</p>" for p in paras]
    body.insert(2, "<h2>攻坚克难 勇当先锋</h2>")
    body.insert(5, "<h2>建章立制 夯实基础</h2>")
    head = (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>中国航发多家单位党委推进科技创新与党建融合（{article}）_军工资源网</title></head><body>"
        '<div class="top"><a href="/">首页</a> | <a href="/list_1.html">党建</a></div>'
        f'<div class="article"><h1>中国航发多家单位党委推进科技创新与党建融合（{article}）</h1>'
        f'<div class="info">发布时间：{day.isoformat()} 10:20 来源：军工资源网 作者：李明</div>'
        f'<div class="content">{"".join(body)}'
    )
    # The filler (nine tenths of the page) is the article number woven into constant bytes: one C-level
    # join instead of formatting and encoding 30 KB per request, so the server's CPU stays small beside
    # the crawlers it serves (the two share this machine's cores).
    return head.encode() + str(article).encode().join(_FILLER)


#: Filler to about 30 KB, numbered so no two pages share a body; split where the article number goes.
_FILLER = ["<p>第".encode()] + [
    f"篇第{i}段:{FILLER}</p>{'<p>第' if i < 134 else FOOT}".encode() for i in range(135)
]


def listing_html(page: int, articles: int) -> bytes:
    first = (page - 1) * PER_LISTING + 1
    items = [
        f'<li><a class="art" href="/news/{i}.html">第{i}篇</a><span class="date">{published(i).isoformat()}</span></li>'
        for i in range(first, min(first + PER_LISTING, articles + 1))
    ]
    return f'<html><body><ul class="news">{"".join(items)}</ul></body></html>'.encode()


def make_app(articles: int, latency: float, hits: list[str] | None = None) -> web.Application:
    """The site; ``hits`` (tests) collects every requested path."""

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        if hits is not None:
            hits.append(request.path)
        response: web.StreamResponse = await handler(request)
        return response

    async def delay() -> None:
        if latency > 0:
            await asyncio.sleep(latency)

    async def news(request: web.Request) -> web.Response:
        await delay()
        try:
            article = int(request.match_info["id"])
        except ValueError:
            raise web.HTTPNotFound() from None
        if not 1 <= article <= articles:
            raise web.HTTPNotFound()
        etag = f'"a{article}"'
        if request.headers.get("if-none-match") == etag:
            return web.Response(status=304, headers={"etag": etag})
        return web.Response(body=article_html(article), content_type="text/html", charset="utf-8",
                            headers={"etag": etag})

    async def listing(request: web.Request) -> web.Response:
        await delay()
        page = int(request.match_info["page"])
        return web.Response(body=listing_html(page, articles), content_type="text/html", charset="utf-8")

    async def robots(request: web.Request) -> web.Response:
        return web.Response(text="User-agent: *\nDisallow: /private/\n")

    async def feed(request: web.Request) -> web.Response:
        items = "".join(f"<item><link>{request.url.origin()}/news/{i}.html</link></item>"
                        for i in range(1, min(50, articles) + 1))
        return web.Response(text=f"<rss><channel>{items}</channel></rss>", content_type="application/xml")

    async def sitemap(request: web.Request) -> web.Response:
        urls = "".join(f"<url><loc>{request.url.origin()}/news/{i}.html</loc></url>" for i in range(1, articles + 1))
        return web.Response(text=f"<urlset>{urls}</urlset>", content_type="application/xml")

    app = web.Application(middlewares=[record])
    app.router.add_get("/news/{id}.html", news)
    app.router.add_get("/list_{page:\\d+}.html", listing)
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/feed.xml", feed)
    app.router.add_get("/sitemap.xml", sitemap)
    return app


async def serve(articles: int, latency: float, port: int) -> None:
    runner = web.AppRunner(make_app(articles, latency), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=1024)
    await site.start()
    sockets = site._server.sockets if site._server else []  # type: ignore[union-attr]
    print(f"PORT {sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


class Background:
    """The site on a thread of the calling process, for tests: ``with Background(30) as site: site.url``."""

    def __init__(self, articles: int, latency: float = 0.0) -> None:
        self.hits: list[str] = []
        self.app = make_app(articles, latency, self.hits)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.url = ""

    def __enter__(self) -> Background:
        self.thread.start()
        self.runner = web.AppRunner(self.app, access_log=None)
        asyncio.run_coroutine_threadsafe(self.runner.setup(), self.loop).result()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        asyncio.run_coroutine_threadsafe(site.start(), self.loop).result()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every page")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    try:
        # uvloop, as the crawler's fetch loop uses: the server's per-request CPU shares this machine's
        # cores with the crawler under test and sits in every request's round trip.
        with asyncio.Runner(loop_factory=new_event_loop) as runner:
            runner.run(serve(args.articles, args.latency, args.port))
    except KeyboardInterrupt:
        sys.exit(0)


if __name__ == "__main__":
    main()
