"""Everything this worker takes from the runpod SDK beyond ``runpod.serverless.start``.

Contract:
- ``start_config(settings, handler)`` returns the config dict: the handler (this
  worker's ``worker.handler.async_handler``, or any other, e.g. a benchmark's), with
  ``return_aggregate_stream=True``, ``refresh_worker`` from the settings, and a
  ``concurrency_modifier`` that always answers ``settings.max_concurrency``.
- ``run_job_generator()`` and ``send_result()`` return two SDK internals (not part of
  its documented API), imported on call; each is used from here only, and the comment
  beside each says why it is needed. ``INTERNALS`` names them for
  ``tests/test_sdk.py``, which fails with a clear message when the installed SDK no
  longer has them (a new SDK version moved or renamed them).
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


# The SDK internals this worker uses, as (module, attribute): runpod 1.12.0.
INTERNALS = (
    ("runpod.serverless.modules.rp_job", "run_job_generator"),
    ("runpod.serverless.modules.rp_http", "send_result"),
    ("runpod.http_client", "AsyncClientSession"),
)


def run_job_generator() -> Callable:
    """The SDK's runner of a generator handler (``rp_job.py`` line 307, runpod 1.12.0).

    Needed by the local test mode (``python -m worker --test_input``): the SDK's own
    local mode prints a generator object instead of running it, and this runner is
    what the production loop uses, so the local run wraps each item as ``{"output":
    item}`` and ends a job on an ``"error"`` item exactly as the platform would.
    The same on both SDK lines: runpod 2.0.0rc2's ``rp_job.py`` only adds an opt-in
    stdout capture (``rp_capture.py``, ``RUNPOD_LOG_CAPTURE=all``) that still writes
    through.
    """
    from runpod.serverless.modules.rp_job import run_job_generator as runner

    return runner


def send_result() -> tuple[Callable, Callable]:
    """The SDK's result poster and its HTTP session factory (runpod 1.12.0).

    Needed by ``worker.progress``: the public ``runpod.serverless.progress_update``
    (``rp_progress.py`` line 47) starts a thread, an event loop and an HTTP session per
    call and orders nothing, so a progress post can land after the result
    (runpod-python #250). ``send_result`` (``rp_http.py`` line 83) posts one message
    to the job's ``RUNPOD_WEBHOOK_POST_OUTPUT`` URL, and ``AsyncClientSession``
    (``http_client.py`` line 35) is the session it expects: with them the progress
    sender posts in order over one kept-alive session. Imported on call: the SDK reads
    its webhook URLs at import time, and only the production loop has them.
    ``rp_http.py`` and ``http_client.py`` are byte-identical in runpod 1.12.0 and
    2.0.0rc2.
    """
    from runpod.http_client import AsyncClientSession
    from runpod.serverless.modules.rp_http import send_result as post

    return post, AsyncClientSession


def start_config(settings: Settings, handler: Callable) -> dict[str, Any]:
    """The config dict for ``runpod.serverless.start``; see the module docstring.

    ``handler`` has no default: this module is below ``worker.handler`` (whose
    progress sender uses the SDK internals above), so it does not import it.
    """

    def concurrency_modifier(current: int) -> int:
        return settings.max_concurrency

    return {
        "handler": handler,
        "return_aggregate_stream": True,
        "concurrency_modifier": concurrency_modifier,
        "refresh_worker": settings.refresh_worker,
    }
