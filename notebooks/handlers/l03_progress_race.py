"""Lesson 3's handler: two progress examples on the unmodified SDK.

Input (``job["input"]``):
- ``{"example": "stages"}`` (default): progress with status messages: each stage
  reports one value, ``{"percent": p, "message": m}``, then
  works ``delay`` seconds; the handler returns right after its last update.
- ``{"example": "stages", "as_written": true}``: the same, but the first update is the
  common mistake, a three-argument call ``progress_update(job, 10, "Preprocessing input...")``.
- ``{"example": "items", "items": N, "delay": s}``: a long-running job: after each
  item, ``progress_update(job, int((i + 1) / total * 100))``; returns right after,
  ``{"results": [...], "total_processed": N}`` (item i's result is
  ``"item i done"``).

``runpod.serverless.progress_update`` starts a thread per call, so an update may
reach the endpoint after the result. Importing this file starts nothing;
``python handlers/l03_progress_race.py`` starts a worker.
"""

import asyncio

import runpod

STAGES = [(10, "Preprocessing input..."), (30, "Running inference..."),
          (80, "Postprocessing results..."), (100, "Complete")]


async def handler(job):
    job_input = job["input"]
    delay = float(job_input.get("delay", 0.05))
    if job_input.get("example", "stages") == "items":
        total = int(job_input.get("items", 5))
        results = []
        for i in range(total):
            await asyncio.sleep(delay)  # "process(item)"
            results.append(f"item {i} done")
            runpod.serverless.progress_update(job, int((i + 1) / total * 100))
        return {"results": results, "total_processed": total}
    for n, (percent, message) in enumerate(STAGES):
        if n == 0 and job_input.get("as_written"):
            runpod.serverless.progress_update(job, percent, message)  # the common mistake
        else:
            runpod.serverless.progress_update(job, {"percent": percent, "message": message})
        if percent < 100:
            await asyncio.sleep(delay)  # the stage's work
    return {"result": "done"}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "concurrency_modifier": lambda current: 8})
