"""Client-side helpers for calling this worker through ``runpod.Endpoint`` (RunPod or local).

The SDK client (``runpod.endpoint.runner``, 1.12.0) leaves three gaps this fills,
using only its public objects (``Job.rp_client``, ``Job.endpoint_id``, ``Job.job_id``):
- ``Job.status()`` returns the status word only, and ``run_sync``/``output()`` return
  ``None`` for a FAILED job, dropping its error: ``status_body(job)`` is the whole
  ``/status`` body (``status``, ``delayTime``, ``executionTime``, ``output``,
  ``error``), and ``job_error(job)`` the failed job's structured error (a job the
  platform timed out, TIMED_OUT, is a retryable TIMEOUT).
- ``Job.stream()`` sleeps a whole second before every ``/stream`` poll, so the first
  chunk arrives after at least 1 s and the rest in one batch per second; and it stops
  only on COMPLETED, FAILED or TIMED_OUT (``FINAL_STATES`` in
  ``runpod/endpoint/helpers.py`` lacks CANCELLED), so it polls a cancelled job forever.
  ``stream_outputs(job)`` asks again at once after an answer that brought chunks, and
  waits ``poll_interval`` (default 0.05 s) only after one that brought none.
  ``local_endpoint`` holds ``/stream`` open until there is something new (or a few
  seconds pass, under the SDK client's 10 s GET timeout), so chunks arrive as they are
  made; whether RunPod's ``/stream`` holds the request is not verified here, and the
  pause keeps a server that answers at once from being polled in a tight loop. It
  yields each chunk's output, as ``Job.stream()`` does, and stops on every final
  status, CANCELLED included.
- ``text_of(output)`` is the text of a finished job's output: this worker's output is
  the list of what its handler yielded (one result, or a stream's chunks).

Importing this module does not import ``runpod``.
"""

from __future__ import annotations

import time
from typing import Any, Iterator

from worker.errors import parse_job_error

FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")


def status_body(job: Any) -> dict[str, Any]:
    """The whole ``/status`` body of ``job`` (a ``runpod`` ``Job``)."""
    return job.rp_client.get(f"{job.endpoint_id}/status/{job.job_id}")


def job_error(job: Any) -> dict[str, Any] | None:
    """A failed job's error as ``{"error", "status", "retry", ...}``; None otherwise."""
    body = status_body(job)
    status = body.get("status")
    if status == "TIMED_OUT":  # the platform's own time limit: its error text is not ours
        return {"error": str(body.get("error") or "the job ran past its execution timeout"),
                "status": "TIMEOUT", "retry": True}
    if status != "FAILED" and not body.get("error"):
        return None
    return parse_job_error(body.get("error") or f"the job ended {status}")


def stream_outputs(job: Any, *, poll_interval: float = 0.05, timeout: float = 600.0) -> Iterator[Any]:
    """Each streamed chunk's output as it arrives; see the module docstring.

    ``poll_interval`` is the pause after a ``/stream`` answer that brought no chunk;
    after one that did, the next request goes out at once.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = job.rp_client.get(f"{job.endpoint_id}/stream/{job.job_id}")
        parts = body.get("stream") or []
        for part in parts:
            yield part["output"]
        if body.get("status") in FINAL and not parts:
            return
        if not parts and poll_interval > 0:
            time.sleep(poll_interval)
    raise TimeoutError(f"job {job.job_id} still streaming after {timeout} s")


def text_of(output: Any) -> str:
    """The generated text in a finished job's output (plain result or stream chunks)."""
    items = output if isinstance(output, list) else [output]
    if len(items) == 1 and isinstance(items[0], dict) and "text" in items[0]:
        return items[0]["text"]
    return "".join(item.get("token", "") for item in items if isinstance(item, dict))
