"""Input the worker cannot use is the client's fault: VALIDATION_ERROR, never retryable.

A client that honours ``retry`` (worker.errors) would otherwise resend a request that
can never succeed. JSON text can carry a lone surrogate (``"\\ud800"``): ``json.loads``
keeps it, and so does pydantic's check of a string inside a nested model.
"""

from __future__ import annotations

import json

import pytest

LONE_SURROGATE = json.loads('"a\\ud800b"')


@pytest.mark.parametrize("job_input", [
    {"prompt": LONE_SURROGATE, "max_tokens": 2},
    {"messages": [{"role": "user", "content": LONE_SURROGATE}], "max_tokens": 2},
    {"messages": [{"role": "system", "content": "ok"}, {"role": "user", "content": LONE_SURROGATE}],
     "max_tokens": 2},
    {"prompt": "Hi", "stop": LONE_SURROGATE, "max_tokens": 2},
    {"prompt": "Hi", "stop": ["ok", LONE_SURROGATE], "max_tokens": 2},
], ids=["prompt", "message-content", "second-message", "stop", "stop-list"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_lone_surrogate_anywhere_in_the_input_is_a_validation_error_not_retried(tiny_lm, job_input, stream):
    from lessons.inprocess import handler

    result = handler({"id": "surrogate-1", "input": {**job_input, "stream": stream}})
    if not isinstance(result, dict):  # a stream's generator: its one item is the failure
        result = list(result)[-1]
    assert result["status"] == "VALIDATION_ERROR", result
    assert result["retry"] is False
