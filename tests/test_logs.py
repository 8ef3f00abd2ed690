"""Structured logs: JSON lines with job ids and timings; secrets and prompts kept out.

In-process: the ``worker`` logger writes to a StringIO; the handler runs on the tiny model.
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from worker.config import Settings, use_settings
from worker.logs import REDACTED, configure_logging, log_event, redact, split_log


@pytest.fixture
def captured(settings):
    buf = io.StringIO()
    configure_logging(settings, stream=buf)
    yield buf
    configure_logging(settings)


def lines(buf) -> list[dict]:
    return [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]


def test_every_line_is_a_json_object_with_the_event_and_fields(captured):
    log_event("job.done", job_id="abc", duration_ms=12.5, prompt_tokens=3)
    (rec,) = lines(captured)
    assert rec["message"] == "job.done" and rec["job_id"] == "abc" and rec["duration_ms"] == 12.5
    assert rec["level"] == "INFO" and rec["logger"] == "worker" and rec["ts"].endswith("Z")


def test_handler_logs_carry_the_job_id_durations_and_token_counts(captured, tiny_lm):
    from lessons.inprocess import handler

    handler({"id": "job-42", "input": {"prompt": "The secret recipe is", "max_tokens": 5, "temperature": 0}})
    recs = [r for r in lines(captured) if r.get("job_id") == "job-42"]
    events = [r["message"] for r in recs]
    assert events == ["job.started", "job.done"]
    done = recs[-1]
    assert done["duration_ms"] > 0 and done["completion_tokens"] >= 1 and done["prompt_tokens"] >= 1
    assert "The secret recipe" not in captured.getvalue(), "prompts are not logged by default"


def test_prompts_are_logged_only_when_asked(tiny_lm, settings):
    buf = io.StringIO()
    use_settings(Settings(**{**settings.__dict__, "log_prompts": True}))
    configure_logging(settings, stream=buf)
    try:
        from lessons.inprocess import handler

        handler({"id": "p-1", "input": {"prompt": "visible prompt", "max_tokens": 2, "temperature": 0}})
    finally:
        use_settings(settings)
        configure_logging(settings)
    assert any(r.get("prompt") == "visible prompt" for r in lines(buf))


def test_validation_failures_are_logged_as_warnings_with_status(captured, tiny_lm):
    from lessons.inprocess import handler

    handler({"id": "bad-1", "input": {"prompt": "x", "max_tokens": 0}})
    (rec,) = [r for r in lines(captured) if r.get("job_id") == "bad-1"]
    assert rec["message"] == "job.failed" and rec["level"] == "WARNING" and rec["status"] == "VALIDATION_ERROR"


def test_secrets_are_redacted_by_key_and_by_shape(captured):
    log_event("config", api_key="rpa_ABCDEF1234567890", headers={"Authorization": "Bearer abc.def"},
              hf_token="hf_abcdefghijklmnopqrstuvwx", max_tokens=5, prompt_tokens=3,
              note="call with Bearer sk-live-123 and rpa_QWERTYUIOP123456")
    text = captured.getvalue()
    for secret in ("rpa_ABCDEF1234567890", "abc.def", "hf_abcdefghijklmnopqrstuvwx", "sk-live-123", "rpa_QWERTYUIOP123456"):
        assert secret not in text
    (rec,) = lines(captured)
    assert rec["api_key"] == REDACTED and rec["headers"]["Authorization"] == REDACTED
    assert rec["max_tokens"] == 5 and rec["prompt_tokens"] == 3, "token counts are not secrets"


def test_redaction_also_applies_to_messages():
    assert "rpa_" not in json.dumps(redact({"m": "key rpa_0123456789abcdef"}))


def test_configuring_twice_does_not_duplicate_lines(settings):
    buf = io.StringIO()
    configure_logging(settings, stream=buf)
    configure_logging(settings, stream=buf)
    log_event("once")
    configure_logging(settings)
    assert len(buf.getvalue().splitlines()) == 1


def test_text_format_for_terminals(settings):
    buf = io.StringIO()
    configure_logging(Settings(log_format="text"), stream=buf)
    log_event("job.done", job_id="t-1", level=logging.WARNING)
    configure_logging(settings)
    assert buf.getvalue().startswith("WARNING| worker | job.done | job_id=t-1")


def test_a_log_read_back_splits_json_records_from_other_lines():
    text = '{"message": "job.done", "job_id": "j1"}\nFinished.\n[1, 2]\n{not json\n{"message": "worker.ready"}'
    records, other = split_log(text)
    assert [r["message"] for r in records] == ["job.done", "worker.ready"]
    assert other == ["Finished.", "[1, 2]", "{not json"]   # JSON that is not an object is not a record
