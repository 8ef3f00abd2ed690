"""Checkers of lesson 5's exercises: a retry flag decided by the exception's type, and a
client retry loop that follows the flag with exponential backoff (``lessons.exercises``)."""

from __future__ import annotations

import time

from lessons.exercises import exercise


@exercise("05.retry_flag")
def retry_flag(flag) -> None:
    import torch

    cases = [
        (ValueError("max_tokens must be an integer"), False, "bad input fails the same way every time"),
        (torch.OutOfMemoryError("CUDA out of memory"), False,
         "out of memory fails the same way on the same card (and it is a RuntimeError: test it first)"),
        (MemoryError(), False, "host out of memory fails the same way"),
        (TimeoutError("took too long"), True, "a timeout may pass on another attempt"),
        (ConnectionError("the service did not answer"), True, "a remote service may answer next time"),
        (RuntimeError("tensor shapes do not match"), True, "an unknown error retries"),
        (ValueError("prompt 'why do I run out of memory?' is too long"), False,
         "decide by type: this is bad input, whatever its message says"),
        (RuntimeError("CUDA out of memory (quoted in another error's message)"), True,
         "decide by type: a plain RuntimeError is unknown, whatever its message says"),
    ]
    for exc, expected, why in cases:
        got = flag(exc)
        assert got is expected, f"retry_flag({type(exc).__name__}({str(exc)!r})) returned {got!r}, expected {expected}: {why}"


class _Scripted:
    """A ``run_once`` that answers from a script and records when it was called."""

    def __init__(self, script):
        self.script, self.calls = list(script), []

    def __call__(self, request):
        self.calls.append(time.perf_counter())
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]


def _fail(status, retry):
    return None, {"error": f"{status.lower()} happened", "status": status, "retry": retry}


@exercise("05.retry_loop")
def retry_loop(run_with_retry) -> None:
    ok = ([{"text": "hi"}], None)
    once = _Scripted([ok])
    assert run_with_retry(once, {"prompt": "x"}) == ok[0], "a job that succeeds returns its output"
    assert len(once.calls) == 1, f"a job that succeeded was sent {len(once.calls)} times"

    flaky = _Scripted([_fail("CONNECTION_ERROR", True), _fail("CONNECTION_ERROR", True), ok])
    assert run_with_retry(flaky, {"prompt": "x"}, base_delay_s=0.01) == ok[0], "retry until it succeeds"
    waits = [b - a for a, b in zip(flaky.calls, flaky.calls[1:])]
    assert len(flaky.calls) == 3, f"two retryable failures then a success: expected 3 attempts, got {len(flaky.calls)}"
    assert waits[0] >= 0.009 and waits[1] >= 0.019, (
        f"wait base_delay_s * 2 ** attempt between attempts (0.01 s, then 0.02 s); waited {[round(w, 3) for w in waits]}")

    bad = _Scripted([_fail("VALIDATION_ERROR", False)])
    try:
        run_with_retry(bad, {"prompt": "x"})
    except Exception as exc:  # noqa: BLE001 (any exception will do, if it says why)
        assert "validation_error happened" in str(exc), f"raise with the job's error in the message, got {exc!r}"
    else:
        raise AssertionError("a failure with retry false must raise, not return")
    assert len(bad.calls) == 1, f"a failure with retry false was sent {len(bad.calls)} times; send it once"

    never = _Scripted([_fail("TIMEOUT", True)])
    try:
        run_with_retry(never, {"prompt": "x"}, max_attempts=3, base_delay_s=0.001)
    except Exception as exc:  # noqa: BLE001
        assert "timeout happened" in str(exc), f"after the last attempt, raise the last error, got {exc!r}"
    else:
        raise AssertionError("a request that never succeeds must raise after max_attempts")
    assert len(never.calls) == 3, f"max_attempts=3, but it was sent {len(never.calls)} times"
