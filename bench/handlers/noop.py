"""A no-op handler under three SDK configurations (``BENCH_CONFIG``), for per-job overhead.

- ``stock``: ``runpod.serverless.start({"handler": handler})``, as the SDK's docs show.
- ``ours``: this worker's SDK configuration (``worker.sdk.start_config``).
- ``ours-patched``: the same plus ``sdk_patches.apply()`` (benchmarks only).
Run as ``python bench/handlers/noop.py`` (add ``--rp_serve_api`` for the SDK's server).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def handler(job):
    return {"ok": True}


async def async_handler(job):
    return {"ok": True}


if __name__ == "__main__":
    import runpod

    config = os.environ.get("BENCH_CONFIG", "stock")
    if config == "stock":
        runpod.serverless.start({"handler": handler})
    else:
        from worker.config import Settings
        from worker.sdk import start_config

        if config == "ours-patched":
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            import sdk_patches

            sdk_patches.apply()
        runpod.serverless.start(start_config(Settings.from_env(), handler=async_handler))
