"""Lesson 4's worker: handlers that only wait, to measure how a worker runs jobs at once.

The job input is ``{"seconds": s}`` (default 0.1): how long the job waits, as a job
that calls a remote service or a database waits for its answer.

``L04_HANDLER`` picks the handler that ``python handlers/l04_concurrency.py`` registers:
- ``sync``: ``sync_handler``, a plain function that calls ``time.sleep``;
- ``async`` (the default): ``async_handler``, which awaits ``asyncio.sleep``. The
  input's ``"concurrency": n`` (default 8) says how many jobs sent with that same ``n``
  may wait at once: each level has its own ``lessons.concurrency.limit_concurrency`` gate, so one
  worker serves every level of a sweep (a deployed worker would have one gate).

Both run under this project's SDK configuration (``worker.sdk.start_config``): the SDK
is told ``MAX_CONCURRENCY``, the jobs the worker may hold at once (32 by default).
Importing this file starts nothing.
"""

import asyncio
import os
import time

from lessons.concurrency import limit_concurrency


def sync_handler(job):
    time.sleep(float(job["input"].get("seconds", 0.1)))
    return {"waited": job["input"].get("seconds", 0.1)}


async def wait(job):
    await asyncio.sleep(float(job["input"].get("seconds", 0.1)))
    return {"waited": job["input"].get("seconds", 0.1)}


_GATES = {}  # concurrency level -> `wait` behind a gate of that size


async def async_handler(job):
    level = int(job["input"].get("concurrency", 8))
    if level not in _GATES:
        _GATES[level] = limit_concurrency(wait, level)
    return await _GATES[level](job)


if __name__ == "__main__":
    import runpod

    from worker.config import Settings
    from worker.sdk import start_config

    chosen = sync_handler if os.environ.get("L04_HANDLER", "async") == "sync" else async_handler
    runpod.serverless.start(start_config(Settings.from_env(), handler=chosen))
