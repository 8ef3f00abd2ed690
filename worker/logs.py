"""Structured logs: one JSON object per line, with job ids, durations and token counts.

Contract:
- ``configure_logging(settings, stream=None)`` installs one handler on the ``worker``
  logger (not the root logger: the host application's logging is left alone), at
  ``LOG_LEVEL``, writing ``LOG_FORMAT`` (json or text) to ``stream`` (default stderr,
  so that stdout stays free for ``--test_input`` output). Calling it again replaces
  the handler rather than adding a second one.
- ``log_event(event, **fields)`` logs an event name with fields; fields named
  ``job_id``, ``duration_ms``, ``prompt_tokens``, ... become top-level JSON keys.
- Redaction is applied to every record, whoever logs it through the ``worker``
  logger: values under secret-looking keys (``api_key``, ``authorization``,
  ``password``, ``secret``, ``token``, ...) become ``"[REDACTED]"``, and key-shaped
  strings (``Bearer ...``, RunPod ``rpa_...``, Hugging Face ``hf_...``, ``sk-...``)
  are masked in any text. Prompts are not logged unless ``LOG_PROMPTS=1`` (the
  handler decides that; this module only redacts).
- ``split_log(text)`` reads a log back: the JSON records (as dicts) and, apart,
  every other line (the SDK's own plain-text lines, tracebacks, ...).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any, Mapping, TextIO

LOGGER_NAME = "worker"
REDACTED = "[REDACTED]"

# Whole key names that hold secrets. "prompt_tokens" or "max_tokens" must not match.
_SECRET_KEY = re.compile(
    r"(^|[_\-.])(api[_\-]?key|key|secret|password|passwd|authorization|auth|token|access[_\-]?token|credentials?)$",
    re.IGNORECASE,
)
_SECRET_TEXT = re.compile(
    r"(Bearer\s+)[A-Za-z0-9._\-+/=]+|\brpa_[A-Za-z0-9]{8,}|\bhf_[A-Za-z0-9]{16,}|\bsk-[A-Za-z0-9_\-]{16,}"
)
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def _mask_text(text: str) -> str:
    return _SECRET_TEXT.sub(lambda m: (m.group(1) or "") + REDACTED, text)


def redact(value: Any, key: str | None = None) -> Any:
    """A copy of ``value`` with secrets masked (see the module docstring)."""
    if key is not None and _SECRET_KEY.search(key):
        return REDACTED
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event/message, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": _mask_text(record.getMessage()),
        }
        if os.environ.get("RUNPOD_POD_ID"):  # which worker wrote it, where there are several
            payload["worker_id"] = os.environ["RUNPOD_POD_ID"]
        payload.update(redact(_fields(record)))
        if record.exc_info:
            payload["exception"] = _mask_text(self.formatException(record.exc_info))
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Human-readable lines with the same fields, for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in redact(_fields(record)).items())
        line = f"{record.levelname:<7}| {record.name} | {_mask_text(record.getMessage())}"
        if extra:
            line += f" | {extra}"
        if record.exc_info:
            line += "\n" + _mask_text(self.formatException(record.exc_info))
        return line


def get_logger(name: str | None = None) -> logging.Logger:
    """The ``worker`` logger, or a child of it."""
    return logging.getLogger(LOGGER_NAME if not name else f"{LOGGER_NAME}.{name}")


def configure_logging(settings: Any = None, stream: TextIO | None = None) -> None:
    """Install the structured handler on the ``worker`` logger; see the module docstring."""
    level = getattr(settings, "log_level", "INFO")
    fmt = getattr(settings, "log_format", "json")
    logger = get_logger()
    for old in [h for h in logger.handlers if getattr(h, "_worker_handler", False)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._worker_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def log_event(event: str, *, level: int = logging.INFO, logger: logging.Logger | None = None, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as structured keys."""
    clean = {("field_" + k if k in _RESERVED else k): v for k, v in fields.items()}
    (logger or get_logger()).log(level, event, extra=clean)


def split_log(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The JSON object lines of ``text`` as dicts, and the lines that are not (in order)."""
    records, other = [], []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            other.append(line)
    return records, other
