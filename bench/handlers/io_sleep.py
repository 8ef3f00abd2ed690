"""An async I/O-bound handler (``await asyncio.sleep``), for concurrency benchmarks.

``BENCH_CONCURRENCY`` jobs may run at once:
- ``BENCH_CONFIG=stock``: ``concurrency_modifier`` answers ``BENCH_CONCURRENCY``, the
  SDK's documented way to run jobs concurrently;
- ``BENCH_CONFIG=ours``: ``worker.sdk.start_config`` (the SDK is told
  ``MAX_CONCURRENCY``, the jobs the worker may hold) with
  ``limit_concurrency(handler, BENCH_CONCURRENCY)`` (how many run at once);
- ``BENCH_CONFIG=ours-patched``: ours plus ``sdk_patches.apply()`` (benchmarks only).
The job input ``{"seconds": s}`` sets the sleep (default 0.1).
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


async def handler(job):
    await asyncio.sleep(float(job["input"].get("seconds", 0.1)))
    return {"ok": True}


if __name__ == "__main__":
    import runpod

    concurrency = int(os.environ.get("BENCH_CONCURRENCY", "8"))
    config = os.environ.get("BENCH_CONFIG", "stock")
    if config == "stock":
        runpod.serverless.start({"handler": handler, "concurrency_modifier": lambda current: concurrency})
    else:
        from lessons.concurrency import limit_concurrency
        from worker.config import Settings
        from worker.sdk import start_config

        if config == "ours-patched":
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import sdk_patches

            sdk_patches.apply()
        runpod.serverless.start(start_config(Settings.from_env(), handler=limit_concurrency(handler, concurrency)))
