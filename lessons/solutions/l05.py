"""Lesson 5's exercise solutions and the wrong answers their checkers must refuse."""

import time


def retry_flag(exc):
    import torch

    if isinstance(exc, (torch.OutOfMemoryError, MemoryError, ValueError)):
        return False
    return True


def by_message(exc):
    return "out of memory" not in str(exc) and not isinstance(exc, ValueError)


def runtime_first(exc):
    if isinstance(exc, RuntimeError):   # catches torch.OutOfMemoryError first
        return True
    return retry_flag(exc)


class RequestFailed(Exception):
    pass


def run_with_retry(run_once, request, max_attempts=3, base_delay_s=0.01):
    for attempt in range(max_attempts):
        output, error = run_once(request)
        if error is None:
            return output
        if not error["retry"] or attempt == max_attempts - 1:
            raise RequestFailed(f"{error['status']}: {error['error']}")
        time.sleep(base_delay_s * 2 ** attempt)


def retries_everything(run_once, request, max_attempts=3, base_delay_s=0.01):
    for attempt in range(max_attempts):
        output, error = run_once(request)
        if error is None:
            return output
        time.sleep(base_delay_s * 2 ** attempt)
    raise RequestFailed(f"{error['status']}: {error['error']}")


def no_wait(run_once, request, max_attempts=3, base_delay_s=0.01):
    for attempt in range(max_attempts):
        output, error = run_once(request)
        if error is None:
            return output
        if not error["retry"] or attempt == max_attempts - 1:
            raise RequestFailed(f"{error['status']}: {error['error']}")


def bare_message(run_once, request, max_attempts=3, base_delay_s=0.01):
    for attempt in range(max_attempts):
        output, error = run_once(request)
        if error is None:
            return output
        if not error["retry"]:
            raise RequestFailed(error["error"])
        time.sleep(base_delay_s * 2 ** attempt)
    raise RequestFailed("Max retries exceeded")


SOLUTIONS = {"05.retry_flag": retry_flag, "05.retry_loop": run_with_retry}
WRONG = {"05.retry_flag": [by_message, runtime_first, lambda exc: True],
         "05.retry_loop": [retries_everything, no_wait, bare_message]}
