"""Lesson 11's exercises: the size that counts, and a RunPod Hub test.

- ``11.fits_in_result``: ``fits_in_result(output, limit_bytes)`` is True when
  ``output`` serialised as the SDK sends it (``json.dumps(..., ensure_ascii=False)``,
  UTF-8 bytes) is at most ``limit_bytes``.
- ``11.hub_test``: ``hub_test(name, prompt, timeout_s)`` returns one entry of
  ``.runpod/tests.json``: ``{"name", "input": {"prompt", "max_tokens": 16}, "timeout"}``
  with the timeout in milliseconds (an integer), and an input this worker accepts.
"""

from __future__ import annotations

import json

from lessons.exercises import exercise


def _size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


@exercise("11.fits_in_result")
def fits_in_result(fn) -> None:
    cases = [{"text": "x" * 5000}, {"text": "é" * 3000}, {"rows": [{"t": "ab"}] * 400}, ["日本語" * 500]]
    for output in cases:
        size = _size(output)
        for limit in (size - 1, size, size + 1):
            got = fn(output, limit)
            assert isinstance(got, bool), f"return True or False, not {type(got).__name__}"
            assert got == (size <= limit), (
                f"an output of {size} bytes (as the SDK sends it) against a limit of {limit}: expected "
                f"{size <= limit}; measure len(json.dumps(output, ensure_ascii=False).encode('utf-8'))")


@exercise("11.hub_test")
def hub_test(fn) -> None:
    from local_endpoint.hub import tests_json_problems
    from worker.config import Settings
    from worker.schema import parse_request

    entry = fn("plain request", "Hello", 30)
    assert isinstance(entry, dict), "return the test as a dict"
    problems = tests_json_problems({"tests": [entry]})
    assert not problems, "; ".join(problems)
    assert entry["name"] == "plain request", "keep the name you were given"
    assert entry["timeout"] == 30_000, f"tests.json timeouts are milliseconds: 30 s is 30000, got {entry['timeout']}"
    assert entry["input"].get("prompt") == "Hello" and entry["input"].get("max_tokens") == 16, (
        "the input is this worker's request: {'prompt': ..., 'max_tokens': 16}")
    parse_request(entry["input"], Settings())
    assert fn("x", "Hi", 1.5)["timeout"] == 1500, "1.5 s is 1500 ms (an integer)"
