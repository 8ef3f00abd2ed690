"""Lesson 2's example handlers on the unmodified SDK, and the worker that serves them.

What ``python handlers/l02_examples.py`` registers with ``runpod.serverless.start``:
- ``L02_HANDLER=as_written``: ``handler_as_written``, the common mistake: a plain
  function that *returns* a generator (the SDK does not stream it).
- ``L02_HANDLER=generator`` (the default): ``handler``, a generator function, which
  the SDK does stream. The job input picks the example:
  - ``{"example": "tokens", "prompt": "..."}``: one chunk per word of the prompt
    (``generate_stream`` stands in for a model), then a last chunk with ``usage``;
  - ``{"example": "metadata", "items": [...]}``: one chunk per item with ``progress``,
    ``remaining`` and ``finished``;
  - ``{"example": "stamped", "chunks": n, "gap": s}``: ``n`` chunks ``s`` seconds apart,
    each with ``sent``, the worker's ``time.time()`` when it yielded the chunk, so the
    lesson can tell when each chunk left the worker.
- ``L02_AGGREGATE=1`` (the default) or ``0``: the ``return_aggregate_stream`` option.

The rest of the configuration is this project's (``worker.sdk.start_config``): its
``concurrency_modifier`` lets the SDK take the next job at once instead of after a
1 s pause (lesson 4 explains it), which only makes the lesson quicker.

Importing this file starts nothing.
"""

import asyncio
import os
import time


def generate_stream(prompt):
    """Stands in for a model's token stream: one token per word."""
    for word in prompt.split():
        yield word + " "


def process_item(item):
    """Stands in for real work on one item."""
    return str(item).upper()


def handler_as_written(job):
    """The common mistake: a plain function that returns a generator object."""
    job_input = job["input"]
    prompt = job_input.get("prompt", "")

    def stream_tokens():
        token_count = 0
        for token in generate_stream(prompt):
            token_count += 1
            yield {"token": token, "finished": False}
        yield {"token": "", "finished": True, "usage": {"tokens": token_count}}

    return stream_tokens()


def stream_tokens(job):
    """The fix: a generator function, ``yield`` in the handler's own body."""
    prompt = job["input"].get("prompt", "")
    token_count = 0
    for token in generate_stream(prompt):
        token_count += 1
        yield {"token": token, "finished": False}
    yield {"token": "", "finished": True, "usage": {"tokens": token_count}}


def stream_with_metadata(job):
    """One chunk per item, with how far the job has got."""
    items = job["input"].get("items", [])
    total = len(items)
    for i, item in enumerate(items):
        yield {
            "result": process_item(item),
            "progress": (i + 1) / total * 100,
            "remaining": total - i - 1,
            "finished": i == total - 1,
        }


async def stamped_chunks(job):
    """``chunks`` chunks, ``gap`` seconds apart, each stamped with when it was yielded."""
    n = int(job["input"].get("chunks", 10))
    gap = float(job["input"].get("gap", 0.1))
    for i in range(n):
        await asyncio.sleep(gap)  # the work that makes chunk i
        yield {"i": i, "sent": time.time(), "finished": i == n - 1}


async def handler(job):
    """One generator function for every example (a worker registers one handler)."""
    example = job["input"].get("example", "tokens")
    if example == "stamped":
        async for chunk in stamped_chunks(job):
            yield chunk
    else:
        for chunk in {"tokens": stream_tokens, "metadata": stream_with_metadata}[example](job):
            yield chunk


if __name__ == "__main__":
    import runpod

    from worker.config import Settings
    from worker.sdk import start_config

    as_written = os.environ.get("L02_HANDLER", "generator") == "as_written"
    config = start_config(Settings.from_env(), handler=handler_as_written if as_written else handler)
    config["return_aggregate_stream"] = os.environ.get("L02_AGGREGATE", "1") == "1"
    runpod.serverless.start(config)
