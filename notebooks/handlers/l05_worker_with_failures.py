"""Lesson 5's worker: the real one (``python -m worker``) plus two failures on demand.

A CPU cannot run out of GPU memory, and nothing in the worker calls a remote service,
so two failures the lesson needs are simulated here. Everything else (the SDK, the
handler, validation, ``JOB_TIMEOUT_S``, the classification of errors) is the real
worker's: this file only wraps ``worker.generation.run_batch``, the function that
runs one ``model.generate`` for a batch of jobs, and then calls the real entry point.

- A ``prompt`` longer than ``L05_OOM_PROMPT_CHARS`` characters (default 2000) raises
  ``torch.OutOfMemoryError``, as a long prompt's attention can on a small GPU.
- A ``prompt`` that starts with ``flaky-N:`` raises ``ConnectionError`` the first N
  times this worker process sees that prompt, as a call to a remote service can
  while that service restarts; after that it is served normally.

Only the jobs that trigger a failure fail; the rest of their batch runs as usual.
Importing this file starts nothing; running it starts the worker.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter

OOM_PROMPT_CHARS = int(os.environ.get("L05_OOM_PROMPT_CHARS", "2000"))
FLAKY = re.compile(r"flaky-(\d+):")

_seen: Counter[str] = Counter()  # flaky prompt -> attempts seen by this process


def simulated_failure(prompt: str | None) -> BaseException | None:
    """The exception this prompt triggers, or None for a normal job."""
    if prompt is None:
        return None
    if len(prompt) > OOM_PROMPT_CHARS:
        import torch

        return torch.OutOfMemoryError(
            f"simulated: CUDA out of memory while attending over a {len(prompt)}-character prompt"
        )
    match = FLAKY.match(prompt)
    if match:
        _seen[prompt] += 1
        if _seen[prompt] <= int(match.group(1)):
            return ConnectionError(f"simulated: the feature store did not answer (attempt {_seen[prompt]})")
    return None


def install() -> None:
    """Wrap ``worker.generation.run_batch`` so that the prompts above fail."""
    from worker import generation

    real_run_batch = generation.run_batch

    def run_batch(lm, tasks):
        healthy = []
        for task in tasks:
            failure = simulated_failure(task.request.prompt)
            if failure is None:
                healthy.append(task)
            else:
                task.finish(error=failure)
        if healthy:
            real_run_batch(lm, healthy)

    generation.run_batch = run_batch


if __name__ == "__main__":
    from worker.__main__ import main

    install()
    sys.exit(main())
