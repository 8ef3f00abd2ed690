"""Streaming handler (async generator, ``return_aggregate_stream=True``).

Input ``{"text": "a few words", "delay": 0.2, "fail_after": n?}``: yields
``{"token": word, "index": i, "finished": is_last}`` per word, ``delay`` seconds
apart, so a stream spans several client polls. With ``fail_after`` it raises after
that many chunks (the job then fails after part of its stream went out).

Importing this file starts nothing; ``python tests/handlers/chunks.py`` starts a worker.
"""

import asyncio

import runpod


async def handler(job):
    job_input = job["input"]
    words = job_input.get("text", "").split()
    delay = job_input.get("delay", 0.2)
    fail_after = job_input.get("fail_after")
    for index, word in enumerate(words):
        if fail_after is not None and index >= fail_after:
            raise RuntimeError(f"failed after {fail_after} chunks")
        await asyncio.sleep(delay)
        yield {"token": word, "index": index, "finished": index == len(words) - 1}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "return_aggregate_stream": True})
