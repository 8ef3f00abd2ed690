"""The worker's code run in-process, without the SDK: for lessons, tests and benchmarks.

A deployed worker never needs this module: the SDK runs ``worker.handler.async_handler``
on its own event loop. A notebook already runs an event loop of its own, and a plain
script has none, so these run the worker's code synchronously.

Contract:
- ``handler(job)`` runs ``worker.handler.job_items`` (the very code the SDK's handler
  runs) on a private event loop thread: a plain request returns its result dict (or
  its structured error); ``"stream": true`` returns an iterator of the chunks.
  Nothing raises out of it, as for the worker's own handler.
- ``complete(lm, request)`` generates one request's whole text in this thread;
  ``stream(lm, request)`` returns a ``TokenStream`` iterating its text pieces, made in
  a thread of its own; both go straight to ``worker.generation.run_batch``, around the
  worker's batcher.
Importing this module starts nothing.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import threading
from typing import Any, Callable, Iterator

from worker.generation import Completion, GenerationTask, run_batch
from worker.handler import job_items
from worker.model import LoadedModel
from worker.schema import GenerationRequest

# -- the handler: the worker's own code on a private event loop ------------------
_BRIDGE: asyncio.AbstractEventLoop | None = None
_BRIDGE_LOCK = threading.Lock()


def _bridge_loop() -> asyncio.AbstractEventLoop:
    global _BRIDGE
    with _BRIDGE_LOCK:
        if _BRIDGE is None:
            _BRIDGE = asyncio.new_event_loop()
            threading.Thread(target=_BRIDGE.run_forever, name="handler-loop", daemon=True).start()
        return _BRIDGE


def _sync_items(job: Any) -> Iterator[dict[str, Any]]:
    loop = _bridge_loop()
    items = job_items(job)
    try:
        while True:
            try:
                yield asyncio.run_coroutine_threadsafe(items.__anext__(), loop).result()
            except StopAsyncIteration:
                return
    finally:
        asyncio.run_coroutine_threadsafe(items.aclose(), loop).result()


def handler(job: Any) -> dict[str, Any] | Iterator[dict[str, Any]]:
    """A job run in-process by the worker's own code; see the module docstring."""
    items = _sync_items(job)
    first = next(items)
    if "finished" not in first:  # a plain result or an error
        items.close()  # runs the job's clean-up now
        return first
    return itertools.chain([first], items)


# -- one request straight to the generator, bypassing the batcher ------------------
def complete(lm: LoadedModel, request: GenerationRequest, *, cancel: threading.Event | None = None,
             deadline: float | None = None, on_tokens: Callable[[int], None] | None = None) -> Completion:
    """Generate one request's whole text, in this thread."""
    task = GenerationTask(request, cancel=cancel, deadline=deadline, on_tokens=on_tokens)
    run_batch(lm, [task])
    return task.result()


class TokenStream:
    """Iterates one request's text pieces; ``completion`` is set once it is exhausted."""

    _END = object()

    def __init__(self, lm: LoadedModel, request: GenerationRequest, *, cancel: threading.Event | None,
                 deadline: float | None, on_tokens: Callable[[int], None] | None) -> None:
        self._pieces: queue.Queue = queue.Queue()
        self.task = GenerationTask(request, on_text=self._pieces.put, on_tokens=on_tokens, cancel=cancel,
                                   deadline=deadline, on_done=lambda: self._pieces.put(self._END))
        self.completion: Completion | None = None
        threading.Thread(target=run_batch, args=(lm, [self.task]), name="generate", daemon=True).start()

    def __iter__(self) -> Iterator[str]:
        while (piece := self._pieces.get()) is not self._END:
            yield piece
        self.completion = self.task.result()


def stream(lm: LoadedModel, request: GenerationRequest, *, cancel: threading.Event | None = None,
           deadline: float | None = None, on_tokens: Callable[[int], None] | None = None) -> TokenStream:
    """Generate one request as a stream of text pieces, in a thread of its own."""
    return TokenStream(lm, request, cancel=cancel, deadline=deadline, on_tokens=on_tokens)
