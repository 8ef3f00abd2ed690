"""Solutions and wrong answers to lesson 12's exercises (``lessons.exercises.l12``)."""

from __future__ import annotations


def test_bad_input(handler):
    result = handler({"id": "t", "input": {}})
    assert result["status"] == "VALIDATION_ERROR" and result["retry"] is False


def only_error_present(handler):
    assert "error" in handler({"id": "t", "input": {}})


def expects_retry(handler):
    assert handler({"id": "t", "input": {}})["retry"] is True


SOLUTIONS = {
    "12.test_bad_input": test_bad_input,
    "12.endpoint_settings": {"active_workers": 1, "max_workers": 6, "idle_timeout_s": 30, "execution_timeout_s": 300},
}
WRONG = {
    "12.test_bad_input": [only_error_present, expects_retry],
    "12.endpoint_settings": [
        {"active_workers": 0, "max_workers": 6, "idle_timeout_s": 5, "execution_timeout_s": 300},
        {"active_workers": 1, "max_workers": 6, "idle_timeout_s": 5, "execution_timeout_s": 60},
        {"active_workers": 1, "max_workers": 3, "idle_timeout_s": 5, "execution_timeout_s": 300},
    ],
}
