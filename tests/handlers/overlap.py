"""Concurrent handler (async) with a ``concurrency_modifier``.

Input ``{"seconds": 1.5}``: sleeps without blocking the event loop and returns
``{"pid", "started", "finished"}`` (``time.time()`` in the worker), so a test can
see from the handler's own clock whether jobs ran at the same time in one process.
The modifier asks for ``OVERLAP_CONCURRENCY`` jobs at once (default 4).

Importing this file starts nothing; ``python tests/handlers/overlap.py`` starts a worker.
"""

import asyncio
import os
import time

import runpod

CONCURRENCY = int(os.environ.get("OVERLAP_CONCURRENCY", "4"))


async def handler(job):
    started = time.time()
    await asyncio.sleep(job["input"].get("seconds", 1.5))
    return {"pid": os.getpid(), "started": started, "finished": time.time()}


def concurrency_modifier(current: int) -> int:
    return CONCURRENCY


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "concurrency_modifier": concurrency_modifier})
