"""What runs inside a parse worker process (``flows.parse_pool``), and nothing more.

A worker unpickles this module's functions and their arguments, so everything it imports is paid for in
every worker's start-up and memory: this module imports only ``parsers/`` and ``flows.lifetime``, and a
batch crosses the pipe as plain parser inputs (``RawPage``, selectors, boilerplate), never as the flows'
``FetchedPage``/``Site``, whose modules bring SQLAlchemy, httpx and pydantic along.
"""

from __future__ import annotations

import copyreg
import dataclasses
import gc
import io
import os
import pickle
import signal
import time
from collections.abc import Sequence
from multiprocessing.synchronize import Barrier
from typing import Any

from flows.lifetime import die_with_parent
from parsers.pipeline import process
from parsers.records import Article, Block, PageResult, RawPage, SiteSelectors

#: one page's parser input: the page, its site's selectors, its host's learned boilerplate.
ParseItem = tuple[RawPage, SiteSelectors | None, frozenset[str]]

#: where the workers of one pool meet before any of them takes work (``ready``); set by ``start``.
_BARRIER: Barrier | None = None

#: a small page run through the whole pipeline at start-up, so the parsers' data files are read before
#: the first batch arrives rather than during it.
_WARM_UP = RawPage("http://warm-up.invalid/", "<html><head><title>warm up</title></head><body><p>中国航发"
                   "东安完成年度任务。</p></body></html>".encode(), 200, {"content-type": "text/html"})


def start(parent: int, barrier: Barrier | None) -> None:
    """The pool's initializer: end with the parent (even after ``kill -9`` of it), leave Ctrl-C to the
    parent (which then closes the pool), and remember the start-up barrier."""
    global _BARRIER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent)
    _BARRIER = barrier


def ready(timeout: float) -> int:
    """Warm the parsers, then wait until every worker of the pool runs this (see ``ParsePool.start``)."""
    process(_WARM_UP)
    # The catalogues, the unit registry and the automata now loaded live as long as the worker: out of
    # the collector's generations, full collections stop walking them on every few thousand allocations
    # (docs/extraction.md, why parse_batch costs more in the crawl).
    gc.collect()
    gc.freeze()
    if _BARRIER is not None:
        _BARRIER.wait(timeout)
    return os.getpid()


def parse_items(items: Sequence[ParseItem]) -> list[PageResult]:
    """Every page through ``parsers.pipeline.process``, the per-page guard: one bad page is that page's
    ``error`` outcome, never the batch's."""
    return [process(raw, selectors, boilerplate=boilerplate) for raw, selectors, boilerplate in items]


def parse_timed(items: Sequence[ParseItem]) -> tuple[bytes, float]:
    """``parse_items``, packed for the way back (``pack``), and the CPU the parsing took in this worker
    (the parent cannot see a worker's CPU until the worker exits)."""
    started = time.thread_time()
    results = parse_items(items)
    return pack(results), time.thread_time() - started


# --- results on the way back ------------------------------------------------------------------------
# Pickle rebuilds a frozen, slotted dataclass field by field through Python-level state handling; an
# article holds a block object per paragraph, so results cost more to pickle and unpickle than the fetch
# stage costs per page, half of it in the run's process. Packed, an article travels as its plain fields
# and two tuples (block kinds, block texts) and is rebuilt with one constructor call per block.
_ARTICLE_FIELDS = tuple(f.name for f in dataclasses.fields(Article) if f.init and f.name != "body")


def _article(values: tuple[Any, ...], kinds: tuple[Any, ...], texts: tuple[str, ...]) -> Article:
    return Article(**dict(zip(_ARTICLE_FIELDS, values, strict=True)), body=tuple(map(Block, kinds, texts)))


def _reduce_article(article: Article) -> tuple[Any, ...]:
    body = article.body
    values = tuple(getattr(article, name) for name in _ARTICLE_FIELDS)
    return _article, (values, tuple(b.kind for b in body), tuple(b.text for b in body))


def pack(results: list[PageResult]) -> bytes:
    """Results as bytes, articles packed (a pickler of its own: the process's pickling is left alone)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = {**copyreg.dispatch_table, Article: _reduce_article}
    pickler.dump(results)
    return buffer.getvalue()


def unpack(data: bytes) -> list[PageResult]:
    results: list[PageResult] = pickle.loads(data)
    return results
