"""Lesson 2's exercises: a streaming handler, and a client loop that reads a stream.

- ``02.word_stream``: ``handler(job)`` must be a generator function (the SDK streams
  nothing else) yielding ``{"word": w, "finished": False}`` per word of
  ``job["input"]["text"]``, then ``{"finished": True, "count": n}``.
- ``02.read_text``: ``read_text(job)`` reads ``job.stream()`` (chunks as the SDK's
  ``Job.stream()`` yields them: the handler's dicts) and returns the joined ``token``
  text, stopping at the chunk with ``finished``.
"""

from __future__ import annotations

import asyncio
import inspect

from lessons.exercises import exercise, run_learner_code as _call



def _collect(handler, job) -> list:
    if inspect.isasyncgenfunction(handler):
        async def drain():
            return [item async for item in handler(job)]
        return asyncio.run(drain())
    return list(handler(job))


@exercise("02.word_stream")
def word_stream(handler) -> None:
    from runpod.serverless.modules.rp_handler import is_generator

    if not is_generator(handler):
        result = _call(handler, {"id": "check", "input": {"text": "a b"}})   # may raise NotImplementedError
        raise AssertionError(
            f"the handler is a plain function (it returned {type(result).__name__}): the SDK streams only "
            "generator functions (rp_handler.is_generator), so put `yield` in the handler's own body")
    for text in ("stream these three", ""):
        chunks = _call(_collect, handler, {"id": "check", "input": {"text": text}})
        words = text.split()
        expected = [{"word": w, "finished": False} for w in words] + [{"finished": True, "count": len(words)}]
        assert chunks, "the handler yielded nothing"
        assert chunks[-1] == expected[-1], f"the last chunk for {text!r} should be {expected[-1]}, got {chunks[-1]}"
        assert chunks == expected, f"for {text!r} expected the chunks {expected}, got {chunks}"


class _FakeJob:
    """Yields chunks the way the SDK's Job.stream() does: the handler's dicts themselves."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.read_past_finished = False

    def stream(self):
        for chunk in self.chunks:
            yield chunk
        self.read_past_finished = True
        yield {"token": "<after the finished chunk>", "finished": False}


@exercise("02.read_text")
def read_text(fn) -> None:
    chunks = [{"token": "Hello", "finished": False}, {"token": ", world", "finished": False},
              {"token": "", "finished": True, "usage": {"completion_tokens": 3}}]
    job = _FakeJob(chunks)
    text = _call(fn, job)
    assert text != "", ("the loop returned no text: Job.stream() yields each chunk's output already, "
                        "so read chunk['token'], not chunk['output']['token']")
    assert "<after the finished chunk>" not in text, "stop reading at the chunk whose 'finished' is true"
    assert text == "Hello, world", f"expected 'Hello, world', got {text!r}"
