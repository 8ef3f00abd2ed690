"""Lesson 11's solutions and wrong answers (graded by tests/test_exercises.py)."""

import json
import sys


def fits_in_result(output, limit_bytes):
    return len(json.dumps(output, ensure_ascii=False).encode("utf-8")) <= limit_bytes


def fits_by_getsizeof(output, limit_bytes):           # the outer object only
    return sys.getsizeof(output) <= limit_bytes


def fits_by_characters(output, limit_bytes):          # characters, not UTF-8 bytes
    return len(json.dumps(output, ensure_ascii=False)) <= limit_bytes


def hub_test(name, prompt, timeout_s):
    return {"name": name, "input": {"prompt": prompt, "max_tokens": 16}, "timeout": int(timeout_s * 1000)}


def hub_test_in_seconds(name, prompt, timeout_s):     # the Hub reads milliseconds
    return {"name": name, "input": {"prompt": prompt, "max_tokens": 16}, "timeout": int(timeout_s)}


def hub_test_wrapped_input(name, prompt, timeout_s):  # "input" inside "input": not a request of this worker
    return {"name": name, "input": {"input": {"prompt": prompt, "max_tokens": 16}},
            "timeout": int(timeout_s * 1000)}


SOLUTIONS = {"11.fits_in_result": fits_in_result, "11.hub_test": hub_test}
WRONG = {
    "11.fits_in_result": [fits_by_getsizeof, fits_by_characters],
    "11.hub_test": [hub_test_in_seconds, hub_test_wrapped_input],
}
