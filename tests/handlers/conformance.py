"""Handler for the conformance tests with real clients (async generator,
``return_aggregate_stream=True``, so ``/status`` has every chunk as a list).

Input (every field optional):
- ``seconds``: sleep this long first (a job that outlasts a wait, or one to cancel);
- ``chunks``: the list of values to yield, ``delay`` seconds apart (default: the
  input itself, as one chunk);
- ``raise``: raise RuntimeError with this text (a FAILED job);
- ``fail_once``: a file path; the first attempt creates the file and fails, any later
  attempt (a ``/retry``) succeeds.

Importing this file starts nothing; ``python tests/handlers/conformance.py`` starts a worker.
"""

import asyncio
import os

import runpod


async def handler(job):
    job_input = job["input"]
    if "raise" in job_input:
        raise RuntimeError(job_input["raise"])
    marker = job_input.get("fail_once")
    if marker and not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("the first attempt fails")
    await asyncio.sleep(job_input.get("seconds", 0))
    for chunk in job_input.get("chunks", [job_input]):
        await asyncio.sleep(job_input.get("delay", 0))
        yield chunk


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "return_aggregate_stream": True})
