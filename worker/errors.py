"""Failures classified into structured results: what a client gets instead of a crash.

Contract:
- ``classify(exc)`` maps any exception to a result dict with a string ``error``, a
  ``status`` word and a ``retry`` flag (plus ``error_type`` and, for bad input,
  ``details``). It classifies by exception *type*, never by message text.
- Out of memory never retries: the same input would fail the same way.
- ``to_sdk_error(result)`` is the string a streaming (generator) handler hands to the
  runpod SDK, which keeps only the ``error`` string of a failed stream: the structured
  result travels as JSON text in it (with ``openai``, OpenAI's error object, for an
  OpenAI-compatible job: ``worker.openai_compat``). ``parse_job_error(text)`` is its client-side
  inverse; it also reads the SDK's own JSON for a handler that raised, and plain text.
- Importing this module does not import torch: a torch OOM can only be raised once
  torch is imported, so it is looked up in ``sys.modules`` when needed.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from pydantic import ValidationError

VALIDATION_ERROR = "VALIDATION_ERROR"
OOM_ERROR = "OOM_ERROR"
TIMEOUT = "TIMEOUT"
CONNECTION_ERROR = "CONNECTION_ERROR"
MODEL_LOAD_ERROR = "MODEL_LOAD_ERROR"
OUTPUT_TOO_LARGE = "OUTPUT_TOO_LARGE"
UNKNOWN_ERROR = "UNKNOWN_ERROR"

# status -> retry. A retry is worth it only where another attempt (maybe on another
# worker) can succeed: timeouts and connection errors are transient; bad input, OOM
# and a model that cannot load are not. Unknown errors retry, as the source document
# teaches, but clients should cap their attempts (lesson 5 shows backoff).
RETRY = {
    VALIDATION_ERROR: False,
    OOM_ERROR: False,
    TIMEOUT: True,
    CONNECTION_ERROR: True,
    MODEL_LOAD_ERROR: False,
    OUTPUT_TOO_LARGE: False,  # the same request makes the same output
    UNKNOWN_ERROR: True,
}


class RequestRejected(ValueError):
    """Input that passes the schema but not the model (e.g. longer than its context)."""


class OutputTooLarge(ValueError):
    """An output over the platform's size limits, and no ``s3Config`` to send it through."""


class GenerationTimeout(TimeoutError):
    """Generation ran past the job's time limit (``JOB_TIMEOUT_S``)."""


class ModelLoadError(RuntimeError):
    """The model could not be loaded (wrong name, missing files, no hub)."""


def _is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):  # host RAM
        return True
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    oom_types = tuple(
        t for t in (getattr(torch, "OutOfMemoryError", None), getattr(torch.cuda, "OutOfMemoryError", None)) if t
    )
    return bool(oom_types) and isinstance(exc, oom_types)


def _message(err: dict[str, Any]) -> str:
    # pydantic prefixes the messages of our own validators with "Value error, " and
    # names the model class when the input is not an object: neither helps a client.
    if err["type"] == "model_type":
        return "input must be a JSON object"
    return err["msg"].removeprefix("Value error, ")


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": ".".join(str(p) for p in err["loc"]) or "input", "msg": _message(err), "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


def error_result(status: str, message: str, *, error_type: str, details: list | None = None) -> dict[str, Any]:
    """A structured failure, the shape every error of this worker takes."""
    result: dict[str, Any] = {"error": message, "status": status, "retry": RETRY[status], "error_type": error_type}
    if details:
        result["details"] = details
    return result


def classify(exc: BaseException) -> dict[str, Any]:
    """The structured result for ``exc``; see the module docstring."""
    name = type(exc).__name__
    if isinstance(exc, ValidationError):
        details = _validation_details(exc)
        text = "; ".join(f"{d['loc']}: {d['msg']}" for d in details)
        return error_result(VALIDATION_ERROR, f"invalid input: {text}", error_type=name, details=details)
    if isinstance(exc, OutputTooLarge):
        return error_result(OUTPUT_TOO_LARGE, str(exc), error_type=name)
    if isinstance(exc, RequestRejected):
        return error_result(VALIDATION_ERROR, f"invalid input: {exc}", error_type=name)
    if _is_out_of_memory(exc):
        return error_result(
            OOM_ERROR, "out of memory: reduce max_tokens or the prompt, or use a larger GPU", error_type=name
        )
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return error_result(TIMEOUT, f"timed out: {exc}" if str(exc) else "timed out", error_type=name)
    if isinstance(exc, ConnectionError):
        return error_result(CONNECTION_ERROR, f"connection error: {exc}", error_type=name)
    if isinstance(exc, ModelLoadError):
        return error_result(MODEL_LOAD_ERROR, f"model could not be loaded: {exc}", error_type=name)
    return error_result(UNKNOWN_ERROR, f"{name}: {exc}", error_type=name)


def is_error(result: Any) -> bool:
    """True for a structured failure produced by this module."""
    return isinstance(result, dict) and isinstance(result.get("error"), str) and "status" in result


def to_sdk_error(result: dict[str, Any]) -> str:
    """The ``error`` string for the SDK: the structured result as JSON text."""
    return json.dumps({k: result[k] for k in ("error", "status", "retry", "error_type", "details", "openai")
                       if k in result})


def parse_job_error(error: Any) -> dict[str, Any]:
    """A failed job's ``error`` as a dict with ``error``, ``status`` and ``retry``.

    Reads this worker's JSON (see ``to_sdk_error``), the SDK's JSON for a handler
    that raised (``error_type``/``error_message``), or plain text (status unknown).
    """
    if isinstance(error, dict):
        data: Any = error
    else:
        try:
            data = json.loads(error)
        except (TypeError, ValueError):
            return {"error": str(error), "status": UNKNOWN_ERROR, "retry": RETRY[UNKNOWN_ERROR]}
    if not isinstance(data, dict):
        return {"error": str(error), "status": UNKNOWN_ERROR, "retry": RETRY[UNKNOWN_ERROR]}
    if "status" in data and "error" in data:
        return data
    if "error_message" in data:  # the SDK's report of a handler that raised
        return {
            "error": str(data["error_message"]),
            "status": UNKNOWN_ERROR,
            "retry": RETRY[UNKNOWN_ERROR],
            "error_type": str(data.get("error_type", "")),
        }
    return {"error": str(error), "status": UNKNOWN_ERROR, "retry": RETRY[UNKNOWN_ERROR]}
