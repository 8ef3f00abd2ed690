"""Lesson 5's harness: example exceptions of each kind a GPU worker meets, and what a
client reads about a finished job.

Contract:
- ``example_errors(prompt)``: ``{what happened: the exception}``, one per kind that
  ``worker.errors.classify`` tells apart (bad input, input too long, GPU and host out of
  memory, the worker's timeout, a remote service, a model that cannot load, a bug).
- ``what_the_client_sees(job)``: a finished ``runpod.Endpoint`` job's status word, its
  error as ``job_error`` reads it (None when it succeeded) and its ``output`` from
  ``/status``; all three are what a client can read through the SDK.
- ``jobs_created(ep)``: how many jobs a ``LocalEndpoint`` has been sent so far.
Nothing here starts a worker.
"""

from __future__ import annotations

from typing import Any


def example_errors(prompt: str) -> dict[str, BaseException]:
    import torch
    from pydantic import ValidationError

    from worker.errors import GenerationTimeout, ModelLoadError, RequestRejected
    from worker.schema import parse_request

    try:
        parse_request({"prompt": prompt, "max_tokens": "ten"})
    except ValidationError as exc:
        bad_input = exc
    return {
        "bad input": bad_input,
        "input longer than the context": RequestRejected(
            "the prompt has 9000 tokens; with max_tokens=256 that exceeds the model's context of 8192 tokens"),
        "GPU out of memory": torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
        "host out of memory": MemoryError(),
        "generation past JOB_TIMEOUT_S": GenerationTimeout("generation ran past the job's time limit"),
        "a remote service did not answer": ConnectionError("the feature store did not answer"),
        "the model could not be loaded": ModelLoadError("'org/no-such-model': OSError: not found"),
        "a bug": KeyError("choices"),
    }


def what_the_client_sees(job) -> dict[str, Any]:
    from lessons.client import job_error, status_body

    return {"status": job.status(), "error": job_error(job), "output": status_body(job).get("output")}


def jobs_created(ep) -> int:
    return len(ep.timeline()["jobs"])
