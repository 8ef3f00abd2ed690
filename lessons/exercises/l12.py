"""Lesson 12's exercises: a test that catches a retryable validation error; endpoint settings."""

from __future__ import annotations

from lessons.exercises import exercise


def _good(job):
    if not job["input"].get("prompt"):
        return {"error": "invalid input: prompt is required", "status": "VALIDATION_ERROR", "retry": False}
    return {"text": "ok"}


def _retryable(job):
    return {**_good(job), "retry": True} if not job["input"].get("prompt") else _good(job)


def _no_status(job):
    return {"error": "invalid input: prompt is required"} if not job["input"].get("prompt") else _good(job)


@exercise("12.test_bad_input")
def test_bad_input(test) -> None:
    try:
        test(_good)
    except NotImplementedError:
        raise
    except Exception as exc:
        raise AssertionError(f"your test fails a correct handler ({type(exc).__name__}: {exc}); "
                             "it answers {'error': ..., 'status': 'VALIDATION_ERROR', 'retry': False}") from None
    for bad, what in [(_retryable, "marks bad input retry: True"), (_no_status, "answers without a status")]:
        try:
            test(bad)
        except NotImplementedError:
            raise
        except Exception:
            continue
        raise AssertionError(f"your test passed a handler that {what}: assert on 'status' and 'retry'")


@exercise("12.endpoint_settings")
def endpoint_settings(settings) -> None:
    keys = {"active_workers", "max_workers", "idle_timeout_s", "execution_timeout_s"}
    assert isinstance(settings, dict) and set(settings) == keys, f"a dict with exactly the keys {sorted(keys)}"
    for key, value in settings.items():
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0, (
            f"{key} must be a number >= 0, got {value!r}")
    active, most = settings["active_workers"], settings["max_workers"]
    assert active >= 1, "with no active worker, a request after a quiet spell waits through the 40 s cold start"
    assert most >= 6, f"at the peak 6 jobs run at once, one per worker: max_workers={most} makes some wait in the queue"
    assert most >= active, "max_workers counts the active workers too: it cannot be below active_workers"
    assert settings["execution_timeout_s"] > 90, "a 90 s job would be stopped before it finished"
    assert settings["execution_timeout_s"] <= 900, (
        "set the execution timeout near the slowest job (here within 10x of 90 s), so a runaway job is stopped")
    assert settings["idle_timeout_s"] > 0, "an idle timeout of 0 stops every flex worker the moment its job ends"
