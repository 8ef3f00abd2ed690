"""A cap on how many jobs of an async handler run at once, for handlers without a batcher.

Contract: ``limit_concurrency(handler, n)`` wraps an async (or async generator) handler
so that at most ``n`` of its jobs run at once; the others wait inside the worker. The
SDK is told how many jobs a worker may *hold* (``worker.sdk.start_config``,
``MAX_CONCURRENCY``); this is how many of those *run*. The worker's own handler needs
no wrapper: its batcher already runs at most ``BATCH_SIZE`` jobs together. Lessons and
benchmarks wrap handlers that only wait with it. Importing it starts nothing.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import Any, Callable


def limit_concurrency(handler: Callable, n: int) -> Callable:
    """``handler`` with at most ``n`` jobs running at once (async or async generator)."""
    gate: dict[str, asyncio.Semaphore] = {}

    def semaphore() -> asyncio.Semaphore:
        # made on first use, inside the SDK's event loop
        if "s" not in gate:
            gate["s"] = asyncio.Semaphore(n)
        return gate["s"]

    if inspect.isasyncgenfunction(handler):
        @functools.wraps(handler)
        async def limited_gen(job: dict) -> Any:
            async with semaphore():
                async for item in handler(job):
                    yield item

        return limited_gen

    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def limited(job: dict) -> Any:
            async with semaphore():
                return await handler(job)

        return limited
    raise TypeError("limit_concurrency needs an async handler: a sync one blocks the SDK's event loop anyway")
