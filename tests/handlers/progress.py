"""Progress handler (async): reports a percentage with ``progress_update``.

Input ``{"steps": 3, "delay": 1.0}``: after each of ``steps`` steps of ``delay``
seconds it calls ``runpod.serverless.progress_update(job, percent)``; then it waits
one more ``delay`` (so the last update can be seen) and returns ``{"steps": steps}``.

Importing this file starts nothing; ``python tests/handlers/progress.py`` starts a worker.
"""

import asyncio

import runpod


async def handler(job):
    steps = job["input"].get("steps", 3)
    delay = job["input"].get("delay", 1.0)
    for step in range(1, steps + 1):
        await asyncio.sleep(delay)
        runpod.serverless.progress_update(job, round(step / steps * 100))
    await asyncio.sleep(delay)
    return {"steps": steps}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
