"""Lesson 8's harness: loggers that write into a buffer, the two demo jobs, the SDK's log line.

Contract:
- ``logger_to(stream, fmt)``: a logger of its own (not propagating to the root logger)
  writing ``fmt``-formatted lines into ``stream`` at INFO, so its lines can be read back.
- ``process(job_input)``: stands in for a handler's work: sleeps 10 ms and returns
  ``{"ok": True}``, or raises ``ValueError(job_input["fail"])``.
- ``run_two_jobs(handler)``: calls ``handler`` on ``test-1`` (succeeds) and ``test-2``
  (its input makes ``process`` fail), swallowing that job's ``ValueError``.
- ``sdk_line(endpoint_id)``: what the SDK's own logger (``RunPodLogger``) prints for
  ``info("Started.", "job-123")`` with ``RUNPOD_ENDPOINT_ID`` unset (``None``) or set
  to ``endpoint_id``; the variable is restored afterwards.
- ``wait_final(job)``: polls a ``runpod`` ``Job`` until its ``/status`` is final and
  returns that body.
- ``done_table(records, columns)``: the ``job.done`` records as an aligned text table.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import logging
import os
import time
from typing import Any, Callable, TextIO

_counter = itertools.count()


def logger_to(stream: TextIO, fmt: str) -> logging.Logger:
    """A fresh logger writing ``fmt`` lines into ``stream``; see the module docstring."""
    logger = logging.getLogger(f"lesson8.{next(_counter)}")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger


def process(job_input: dict) -> dict:
    """A little work, or an exception; see the module docstring."""
    if "fail" in job_input:
        raise ValueError(job_input["fail"])
    time.sleep(0.01)
    return {"ok": True}


def run_two_jobs(handler: Callable[[dict], Any]) -> None:
    """One job that succeeds and one that fails; see the module docstring."""
    handler({"id": "test-1", "input": {}})
    with contextlib.suppress(ValueError):
        handler({"id": "test-2", "input": {"fail": "bad value"}})


def sdk_line(endpoint_id: str | None) -> str:
    """The SDK logger's line for one INFO message; see the module docstring."""
    from runpod.serverless.modules.rp_logger import RunPodLogger

    saved = os.environ.pop("RUNPOD_ENDPOINT_ID", None)
    if endpoint_id:
        os.environ["RUNPOD_ENDPOINT_ID"] = endpoint_id
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            RunPodLogger().info("Started.", "job-123")
    finally:
        os.environ.pop("RUNPOD_ENDPOINT_ID", None)
        if saved is not None:
            os.environ["RUNPOD_ENDPOINT_ID"] = saved
    return out.getvalue().strip()


def wait_final(job: Any, timeout: float = 300) -> dict:
    """The first final ``/status`` body of ``job``."""
    from lessons.client import FINAL, status_body

    deadline = time.monotonic() + timeout
    while (body := status_body(job))["status"] not in FINAL:
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job.job_id} still {body['status']} after {timeout} s")
        time.sleep(0.05)
    return body


def done_table(records: list[dict], columns: list[str]) -> str:
    """``records`` as rows of ``columns``, right-aligned."""
    lines = [" ".join(f"{c:>17}" for c in columns)]
    lines += [" ".join(f"{r[c]!s:>17}" for c in columns) for r in records]
    return "\n".join(lines)
