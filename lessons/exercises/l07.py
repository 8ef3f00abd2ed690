"""Lesson 7's exercises: a handler that keeps nothing, the clean-up order, the weights' size."""

from __future__ import annotations

import gc
import weakref

from lessons.exercises import exercise, run_learner_code

_GIB = 2**30


class _Output:
    """What the exercise's ``generate`` returns: the text and a large ``scores`` buffer."""

    def __init__(self, prompt: str):
        self.text = f"echo {prompt}"
        self.scores = bytearray(1 << 20)


@exercise("07.keep_nothing")
def keep_nothing(make_handler) -> None:
    alive: weakref.WeakSet = weakref.WeakSet()

    def generate(prompt: str) -> _Output:
        out = _Output(prompt)
        alive.add(out)
        return out

    handler = run_learner_code(make_handler, generate)
    for i in range(20):
        result = run_learner_code(handler, {"id": f"job-{i}", "input": {"prompt": f"p{i}"}})
        assert result == {"text": f"echo p{i}"}, f"job {i}: expected {{'text': 'echo p{i}'}}, got {result!r}"
    gc.collect()
    assert not alive, (f"{len(alive)} of 20 outputs are still reachable after the jobs: the handler keeps them "
                       "(a list, a dict, a global, a default argument?)")


class _FakeCuda:
    """A cycle's tensor: freed into CUDA's cache by a collection, returned to the driver by empty_cache."""

    def __init__(self) -> None:
        self.in_cycle, self.cached_free, self.calls = 64, 0, []

    def collect(self) -> int:
        self.calls.append("collect")
        self.cached_free += self.in_cycle
        self.in_cycle = 0
        return 1

    def empty_cache(self) -> None:
        self.calls.append("empty_cache")
        self.cached_free = 0


@exercise("07.cleanup_order")
def cleanup_order(after_job) -> None:
    fake = _FakeCuda()
    run_learner_code(after_job, fake.collect, fake.empty_cache)
    assert fake.in_cycle == 0, f"the cycle was never collected (calls: {fake.calls}): its tensor is still alive"
    assert fake.cached_free == 0, (f"calls {fake.calls} leave the freed tensor's 64 MiB reserved in CUDA's cache: "
                                   "empty_cache() returns only blocks already free, so it must come after the collection")


@exercise("07.weights_gib")
def weights_gib(answer) -> None:
    cases = [(7_000_000_000, "float32", 4), (7_000_000_000, "float16", 2), (7_000_000_000, "bfloat16", 2),
             (135_000_000, "int8", 1), (500_000_000, "bfloat16", 2)]
    for n, dtype, size in cases:
        expected = n * size / _GIB
        got = run_learner_code(answer, n, dtype)
        assert isinstance(got, (int, float)), f"weights_gib({n:,}, {dtype!r}) returned {got!r}, not a number"
        assert abs(got - expected) < 0.01 * expected, (
            f"weights_gib({n:,}, {dtype!r}) = {got:.3f}, expected {expected:.3f} GiB "
            f"({size} bytes per parameter, 1 GiB = 2**30 bytes)")
