"""Lesson 3's exercises: a handler that reports progress, and a client loop that follows it.

- ``03.report_items``: ``handler(job)`` processes ``job["input"]["items"]`` and after each
  item calls ``runpod.serverless.progress_update(job, {"percent": p, "message": m})``
  (one value: the SDK's function takes ``(job, progress)``), ``p`` rising to 100; it
  returns ``{"processed": n}``. The checker swaps the SDK's function for a recorder
  with the same signature, so nothing is posted.
- ``03.follow``: ``follow(job, every)`` polls a ``runpod`` ``Job`` (``status()`` is the
  status word; ``output()`` is the progress while IN_PROGRESS and the result once
  COMPLETED) and returns ``(result, [progress values seen, in order, no repeats])``;
  it raises ``RuntimeError`` for FAILED, TIMED_OUT or CANCELLED.
"""

from __future__ import annotations

from lessons.exercises import exercise, run_learner_code as _call



@exercise("03.report_items")
def report_items(handler) -> None:
    import runpod.serverless

    sent = []

    def recorder(job, progress):   # the SDK's signature: progress_update(job, progress)
        sent.append(progress)

    original = runpod.serverless.progress_update
    runpod.serverless.progress_update = recorder
    try:
        try:
            result = handler({"id": "check", "input": {"items": ["a", "b", "c", "d"]}})
        except TypeError as exc:
            raise AssertionError(f"{exc}: progress_update takes (job, progress); pass one dict, "
                                 "{'percent': ..., 'message': ...}") from None
        except (NotImplementedError, AssertionError):
            raise
        except Exception as exc:
            raise AssertionError(f"your handler raised {type(exc).__name__}: {exc}") from None
    finally:
        runpod.serverless.progress_update = original
    assert result == {"processed": 4}, f"return {{'processed': 4}} for four items, got {result}"
    assert len(sent) == 4, f"report once per item: 4 updates expected, {len(sent)} sent (call runpod.serverless.progress_update)"
    assert all(isinstance(v, dict) and {"percent", "message"} <= set(v) for v in sent), \
        f"each update should be one dict with 'percent' and 'message', got {sent}"
    percents = [v["percent"] for v in sent]
    assert percents == sorted(percents) and percents[-1] == 100, f"percent should rise to 100, got {percents}"


class _FakeJob:
    def __init__(self, script):
        self.script = list(script)   # (status, output) per poll
        self.i = 0
        self.polls = 0

    def _now(self):
        return self.script[min(self.i, len(self.script) - 1)]

    def status(self):
        self.polls += 1
        state = self._now()
        self.i += 1
        return state[0]

    def output(self, timeout=0):
        return self.script[min(self.i - 1, len(self.script) - 1)][1]


@exercise("03.follow")
def follow(fn) -> None:
    script = [("IN_QUEUE", None), ("IN_PROGRESS", 10), ("IN_PROGRESS", 10), ("IN_PROGRESS", 50),
              ("COMPLETED", {"answer": 42})]
    try:
        result = fn(_FakeJob(script), 0)
    except (TypeError, AttributeError) as exc:
        if isinstance(exc, NotImplementedError):
            raise
        raise AssertionError(f"{type(exc).__name__}: {exc}: job.status() returns the status word (a str), "
                             "and the progress is job.output() while the job is IN_PROGRESS") from None
    except (NotImplementedError, AssertionError):
        raise
    except Exception as exc:
        raise AssertionError(f"your loop raised {type(exc).__name__}: {exc}") from None
    assert isinstance(result, tuple) and len(result) == 2, "return (result, progress values seen)"
    value, seen = result
    assert value == {"answer": 42}, f"the result is job.output() once the status is COMPLETED; got {value!r}"
    assert seen == [10, 50], f"progress seen should be [10, 50] (in order, no repeats), got {seen}"
    try:
        _call(fn, _FakeJob([("IN_PROGRESS", 30), ("FAILED", None)]), 0)
    except AssertionError as exc:
        if "RuntimeError" not in str(exc):
            raise
    except RuntimeError:
        pass
    else:
        raise AssertionError("a FAILED job should raise RuntimeError, not return")
