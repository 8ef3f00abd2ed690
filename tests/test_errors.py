"""Error classification: every failure becomes ``error`` + ``status`` + ``retry``.

Pure functions and the in-process handler with generation made to fail; no network.
"""

from __future__ import annotations

import asyncio
import json

import pytest
import torch
from pydantic import ValidationError

from worker import errors
from worker.schema import parse_request


def validation_error() -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_request({"prompt": "x", "max_tokens": 0, "stream": "yes"})
    return info.value


@pytest.mark.parametrize("exc,status,retry", [
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"), "OOM_ERROR", False),
    (torch.OutOfMemoryError("out of memory"), "OOM_ERROR", False),
    (MemoryError(), "OOM_ERROR", False),
    (TimeoutError("took too long"), "TIMEOUT", True),
    (asyncio.TimeoutError(), "TIMEOUT", True),
    (errors.GenerationTimeout("limit"), "TIMEOUT", True),
    (ConnectionError("reset by peer"), "CONNECTION_ERROR", True),
    (ConnectionResetError("reset"), "CONNECTION_ERROR", True),
    (errors.RequestRejected("too long"), "VALIDATION_ERROR", False),
    (errors.ModelLoadError("no such model"), "MODEL_LOAD_ERROR", False),
    (KeyError("x"), "UNKNOWN_ERROR", True),
    (RuntimeError("boom"), "UNKNOWN_ERROR", True),
])
def test_exceptions_map_to_status_and_retry(exc, status, retry):
    result = errors.classify(exc)
    assert result["status"] == status and result["retry"] is retry
    assert isinstance(result["error"], str) and result["error"]
    assert result["error_type"] == type(exc).__name__


def test_classification_is_by_type_not_message_text():
    # A message that mentions CUDA OOM does not make an ordinary error an OOM.
    assert errors.classify(RuntimeError("CUDA out of memory"))["status"] == "UNKNOWN_ERROR"


def test_out_of_memory_never_retries():
    assert errors.RETRY[errors.OOM_ERROR] is False


def test_validation_errors_list_each_field():
    result = errors.classify(validation_error())
    assert result["status"] == "VALIDATION_ERROR" and result["retry"] is False
    locs = {d["loc"] for d in result["details"]}
    assert locs == {"max_tokens", "stream"}
    assert "max_tokens" in result["error"] and "stream" in result["error"]


def test_sdk_error_text_round_trips_to_the_structured_result():
    result = errors.classify(validation_error())
    text = errors.to_sdk_error(result)
    assert isinstance(text, str)
    back = errors.parse_job_error(text)
    assert back["status"] == "VALIDATION_ERROR" and back["retry"] is False and back["error"] == result["error"]


def test_parse_job_error_reads_the_sdks_own_report_and_plain_text():
    sdk = json.dumps({"error_type": "<class 'ValueError'>", "error_message": "bad", "error_traceback": "..."})
    assert errors.parse_job_error(sdk)["error"] == "bad"
    assert errors.parse_job_error("handler: boom")["status"] == "UNKNOWN_ERROR"
    assert errors.parse_job_error(None)["status"] == "UNKNOWN_ERROR"


def _fail_generation(monkeypatch, exc):
    from worker import generation

    def boom(lm, tasks):
        raise exc

    monkeypatch.setattr(generation, "run_batch", boom)


@pytest.mark.parametrize("stream", [False, True])
def test_simulated_cuda_oom_in_the_handler_is_a_structured_result(monkeypatch, tiny_lm, stream):
    from lessons.inprocess import handler

    _fail_generation(monkeypatch, torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"))
    result = handler({"id": "oom-1", "input": {"prompt": "Hi", "max_tokens": 4, "stream": stream}})
    assert isinstance(result, dict), "a failure before the first chunk is a dict, even for a stream"
    assert result["status"] == "OOM_ERROR" and result["retry"] is False


def test_unknown_error_in_the_handler_keeps_the_process_alive(monkeypatch, tiny_lm):
    from lessons.inprocess import handler

    _fail_generation(monkeypatch, ZeroDivisionError("division by zero"))
    result = handler({"id": "u-1", "input": {"prompt": "Hi", "max_tokens": 4}})
    assert result["status"] == "UNKNOWN_ERROR" and "ZeroDivisionError" in result["error"]
    monkeypatch.undo()
    # the same process serves the next job normally
    assert "text" in handler({"id": "u-2", "input": {"prompt": "Hi", "max_tokens": 4, "temperature": 0}})


@pytest.mark.parametrize("raw, loc, message", [
    ("a string", "input", "input must be a JSON object"),
    ({"prompt": "x", "messages": [{"role": "user", "content": "y"}]}, "input", "exactly one of"),
])
def test_validation_messages_speak_to_the_client_not_of_pydantic_internals(raw, loc, message):
    try:
        parse_request(raw)
    except ValidationError as exc:
        result = errors.classify(exc)
    else:
        pytest.fail("accepted")
    (detail,) = result["details"]
    assert detail["loc"] == loc and message in detail["msg"]
    assert "Value error" not in result["error"] and "GenerationRequest" not in result["error"]
