"""How this worker drives the runpod SDK: the config handed to ``runpod.serverless.start``.

Contract:
- ``start_config(settings, handler=None)`` returns the config dict: the handler (this
  worker's ``async_handler`` by default, or any other, e.g. a benchmark's), with
  ``return_aggregate_stream=True``, ``refresh_worker`` from the settings, and a
  ``concurrency_modifier`` that always answers ``settings.max_concurrency``.
- Importing this module imports neither ``runpod`` nor torch.

Why the concurrency the SDK is told is the most jobs a worker *holds*, well above what
it runs at once: the SDK's take loop (``rp_scale.py``, ``JobScaler.get_jobs``) counts
a job it has just taken twice (in its queue and in progress) and sleeps a whole second
whenever that count reaches the concurrency, so a worker told exactly what it can run
pauses a second after nearly every take. Told more, it takes the next jobs at once
and they wait in the worker, which costs nothing while the worker is busy. The rule:
more than twice the largest burst of jobs the worker can finish within a second (a
burst of B jobs taken at once counts 2B). For this worker's generation jobs, which take
seconds each, the default 32 is ample; a handler of 0.1 s jobs at concurrency 8
needed 128 to take a 64-job burst in one go (``bench/concurrency.py``). Holding jobs
has a price on a platform with many workers: a job held by a busy worker is not
taken by an idle one. The SDK also resizes its queue only when no job is in flight,
sleeping a second at a time until then, hence a constant.
"""

from __future__ import annotations

from typing import Any, Callable

from worker.config import Settings


def start_config(settings: Settings, handler: Callable | None = None) -> dict[str, Any]:
    """The config dict for ``runpod.serverless.start``; see the module docstring."""
    if handler is None:
        from worker.handler import async_handler as handler

    def concurrency_modifier(current: int) -> int:
        return settings.max_concurrency

    return {
        "handler": handler,
        "return_aggregate_stream": True,
        "concurrency_modifier": concurrency_modifier,
        "refresh_worker": settings.refresh_worker,
    }
