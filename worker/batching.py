"""Dynamic batching: concurrent generation jobs merged into one ``model.generate``.

Contract:
- ``Batcher(lm, max_batch, wait_s)``: ``submit(task)`` queues a
  ``worker.generation.GenerationTask`` and returns at once; one thread runs the queue.
  Each round takes the oldest task and up to ``max_batch - 1`` more with the same
  ``batch_key()`` (same sampling settings and stop strings), in arrival order; tasks
  whose key differs wait for a later round, and a task whose key is ``None`` (sampling
  with its own seed) is served alone. Each task still gets its own stream and result.
- Before a round, the batcher waits up to ``wait_s`` for more tasks to arrive (jobs
  that arrive together then share a batch); under load, tasks that queued while the
  previous round ran form the next one without waiting.
- ``max_batch=1`` serves one task at a time: the same code path, no batching.
- Every task ends (``done``), whatever a round raises: the thread never dies with tasks
  waiting.
- At interpreter exit, every batcher finishes the round it is in (at most 10 s), so
  that no thread is inside torch while the process shuts down.
- ``stats()`` counts rounds and tasks per batch size, for lessons and benchmarks.
- ``get_batcher(lm, settings)`` is the batcher of that model; no thread starts until
  the first task is submitted; ``close()`` ends the thread (at interpreter exit).
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections import Counter, deque

from worker import generation
from worker.config import Settings
from worker.model import LoadedModel


class Batcher:
    """Runs generation tasks, merging compatible ones; see the module docstring."""

    def __init__(self, lm: LoadedModel, max_batch: int = 8, wait_s: float = 0.002) -> None:
        self.lm = lm
        self.max_batch = max(1, max_batch)
        self.wait_s = max(0.0, wait_s)
        self._queue: deque[generation.GenerationTask] = deque()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._sizes: Counter[int] = Counter()
        self._closed = False

    def submit(self, task: generation.GenerationTask) -> None:
        with self._cv:
            if self._closed:
                raise RuntimeError("this batcher is closed: the process is exiting")
            self._queue.append(task)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="batcher", daemon=True)
                self._thread.start()
            self._cv.notify()

    def close(self, wait: float = 0.0) -> None:
        """Stop the thread once the queue is empty.

        ``wait``: seconds to wait for the thread to finish the round it is in.
        """
        with self._cv:
            self._closed = True
            self._cv.notify()
        if wait and self._thread is not None:
            self._thread.join(wait)

    def stats(self) -> dict[str, object]:
        with self._cv:
            sizes = dict(sorted(self._sizes.items()))
        return {"rounds": sum(sizes.values()), "tasks": sum(k * v for k, v in sizes.items()),
                "rounds_by_batch_size": sizes, "queued": len(self._queue)}

    def _take(self) -> list[generation.GenerationTask]:
        first = self._queue.popleft()
        key = first.batch_key()
        batch = [first]
        if key is None:
            return batch
        kept: deque[generation.GenerationTask] = deque()
        while self._queue and len(batch) < self.max_batch:
            task = self._queue.popleft()
            (batch if task.batch_key() == key else kept).append(task)
        kept.extend(self._queue)
        self._queue = kept
        return batch

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._queue:
                    if self._closed:
                        return
                    self._cv.wait()
                if self.wait_s and len(self._queue) < self.max_batch:
                    until = time.monotonic() + self.wait_s
                    while len(self._queue) < self.max_batch and (left := until - time.monotonic()) > 0:
                        self._cv.wait(left)
                batch = self._take()
                self._sizes[len(batch)] += 1
            try:
                generation.run_batch(self.lm, batch)
            except BaseException as exc:  # run_batch ends its tasks; this keeps the thread alive
                for task in batch:
                    task.finish(error=exc if isinstance(exc, Exception) else RuntimeError(repr(exc)))


_LOCK = threading.Lock()
_OPEN: "weakref.WeakSet[Batcher]" = weakref.WeakSet()


def get_batcher(lm: LoadedModel, settings: Settings) -> Batcher:
    """The batcher of ``lm`` (one per loaded model, made on first use)."""
    with _LOCK:
        if lm.batcher is None:
            lm.batcher = Batcher(lm, settings.batch_size, settings.batch_wait_ms / 1000)
            _OPEN.add(lm.batcher)
        return lm.batcher


@atexit.register
def _finish_rounds_before_exit() -> None:
    # A job's result is handed over as soon as its row ends, while model.generate()
    # may still be finishing the step it is in. Interpreter shutdown with the batcher
    # thread inside torch aborts the process ("terminate called without an active
    # exception"): let the round end first.
    for batcher in list(_OPEN):
        batcher.close(wait=10.0)
