"""Slow handler (async), for cancel, timeout and kill tests.

Input ``{"seconds": 5}``: prints that it started, sleeps, returns
``{"pid": pid, "slept": seconds}``. When the SDK stops the job (job-stop), the
sleep is cancelled and it prints ``slow handler: job <id> stopped`` before
re-raising, so a test can read in the worker log that the stop reached it.

Importing this file starts nothing; ``python tests/handlers/slow.py`` starts a worker.
"""

import asyncio
import os

import runpod


async def handler(job):
    seconds = job["input"].get("seconds", 5)
    print(f"slow handler: job {job['id']} started in pid {os.getpid()}", flush=True)
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        print(f"slow handler: job {job['id']} stopped", flush=True)
        raise
    return {"pid": os.getpid(), "slept": seconds}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
