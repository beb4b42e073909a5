"""Per-host politeness across workers, through Prefect global concurrency limits.

The fetcher's default limiter counts requests in one process; with N workers a host would get N times the
configured concurrency. This ``HostLimiter`` keeps the count on the Prefect server instead: per host, a
concurrency limit ``initiatives-host:<host>`` (slots = the site's ``politeness.concurrency``) held for
each request, and, when the site asks for spacing, a rate limit ``initiatives-host-rate:<host>`` (one
slot that decays in ``min_delay`` seconds) taken before each request. Limits are created on first use
and updated when the site's politeness changes, so adding a site needs no server-side setup; an operator
can still see, tighten or pause them under Concurrency in the UI.

Select it with ``INITIATIVES_HOST_LIMITS=prefect`` (``Settings.host_limits``, carried to every fetch
session by ``FetchPolicy.host_limits``); the default (``local``) keeps the in-process limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flows.fetch import FetchPolicy, HostLimiter

CONCURRENCY_PREFIX = "initiatives-host:"
RATE_PREFIX = "initiatives-host-rate:"
#: a request waiting longer than this for its host's slot fails like a timeout instead of hanging a run.
ACQUIRE_TIMEOUT = 600.0


def limit_names(host: str) -> tuple[str, str]:
    """Names of the host's two limits; characters Prefect rejects in names become '-'."""
    safe = re.sub(r"[^A-Za-z0-9_.:\-]", "-", host.lower())
    return f"{CONCURRENCY_PREFIX}{safe}", f"{RATE_PREFIX}{safe}"


class PrefectHostLimiter:
    """``HostLimiter`` whose slots live on the Prefect server, shared by every worker and process."""

    def __init__(self, policy: FetchPolicy, timeout: float = ACQUIRE_TIMEOUT) -> None:
        self.policy = policy
        self.timeout = timeout
        self._ready: dict[tuple[str, str], asyncio.Future[None]] = {}

    async def _ensure(self, name: str, limit: int, decay: float | None) -> None:
        """Create or update one limit, once per process and name (concurrent callers share the call)."""
        key = (name, f"{limit}/{decay}")
        pending = self._ready.get(key)
        if pending is None:
            pending = self._ready[key] = asyncio.ensure_future(_upsert(name, limit, decay))
        await asyncio.shield(pending)

    @contextlib.asynccontextmanager
    async def acquire(self, host: str, min_delay: float) -> AsyncIterator[None]:
        from prefect.concurrency.asyncio import concurrency, rate_limit

        slots = self.policy.rule(host)[0]
        name, rate_name = limit_names(host)
        await self._ensure(name, slots, None)
        if min_delay > 0:
            await self._ensure(rate_name, 1, 1.0 / min_delay)
        async with concurrency(name, occupy=1, timeout_seconds=self.timeout, strict=True):
            if min_delay > 0:
                await rate_limit(rate_name, occupy=1, timeout_seconds=self.timeout, strict=True)
            yield


async def _upsert(name: str, limit: int, decay: float | None) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate, GlobalConcurrencyLimitUpdate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    # Only set when there is one: Prefect 3.8.8's server rejected an explicit null (422).
    decay_field: dict[str, Any] = {"slot_decay_per_second": decay} if decay else {}
    async with get_client() as client:
        try:
            current = await client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            current = None
        if current is None:
            try:
                await client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=limit, active=True, **decay_field)
                )
                return
            except ObjectAlreadyExists:  # another worker created it first
                current = await client.read_global_concurrency_limit_by_name(name)
        if current.limit != limit or (current.slot_decay_per_second or None) != decay:
            await client.update_global_concurrency_limit(
                name, GlobalConcurrencyLimitUpdate(limit=limit, **decay_field)
            )


def host_limiter(policy: FetchPolicy, mode: str | None = None) -> HostLimiter | None:
    """The limiter ``mode`` (default: the policy's ``host_limits``) asks for; None means the fetcher's own."""
    choice = (mode if mode is not None else policy.host_limits).strip().lower() or "local"
    factories: dict[str, Callable[[FetchPolicy], HostLimiter | None]] = {
        "local": lambda _: None,
        "prefect": PrefectHostLimiter,
    }
    if choice not in factories:
        raise ValueError(f"INITIATIVES_HOST_LIMITS={choice!r}: choose {' or '.join(factories)}")
    return factories[choice](policy)
