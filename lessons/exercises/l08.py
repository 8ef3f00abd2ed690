"""Lesson 8's exercises: a structured log line, and one job's records read back from a mixed log."""

from __future__ import annotations

import io
import json

from lessons.exercises import exercise, run_learner_code


@exercise("08.structured_line")
def structured_line(log_job_done) -> None:
    from worker.config import Settings
    from worker.logs import configure_logging, get_logger

    logger = get_logger()
    saved = list(logger.handlers), logger.level, logger.propagate
    buffer = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=buffer)
    try:
        run_learner_code(log_job_done, "job-42", 1.2345, 17)
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved   # the notebook's logging as it was
    lines = [line for line in buffer.getvalue().splitlines() if line.strip()]
    assert lines, "nothing was logged through the 'worker' logger: call log_event"
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}") from None
    done = [r for r in records if r.get("message") == "job.done"]
    assert len(done) == 1, f"expected one line whose event is 'job.done', got messages {[r.get('message') for r in records]}"
    (r,) = done
    assert r.get("job_id") == "job-42", f"job_id should be a field of its own: 'job-42', got {r.get('job_id')!r}"
    duration = r.get("duration_ms")
    assert isinstance(duration, (int, float)) and not isinstance(duration, bool), (
        f"duration_ms should be a number, got {duration!r}")
    assert abs(duration - 1234.5) < 1, f"duration_ms should be the duration in milliseconds (1234.5), got {duration}"
    assert r.get("completion_tokens") == 17, f"completion_tokens should be 17, got {r.get('completion_tokens')!r}"


_JOB = "3f1c-aa"
_OTHER = "9b2e-cc"
_LOG = "\n".join([
    "# local_endpoint: started the worker",
    json.dumps({"message": "worker.ready", "level": "INFO"}),
    json.dumps({"message": "job.started", "job_id": _JOB, "max_tokens": 8}),
    json.dumps({"requestId": _JOB, "message": "Started.", "level": "INFO"}),
    json.dumps({"message": "job.started", "job_id": _OTHER, "note": f"after {_JOB}"}),
    f"INFO   | {_JOB} | Finished running generator.",
    "[1, 2, 3]",
    '{"message": "broken',
    json.dumps({"requestId": _OTHER, "message": "Finished.", "level": "INFO"}),
    json.dumps({"message": "job.done", "job_id": _JOB, "duration_ms": 12.5}),
    json.dumps({"requestId": _JOB, "message": "Finished.", "level": "INFO"}),
])
_EXPECTED = [json.loads(line) for line in _LOG.splitlines()[2:4]] + [json.loads(_LOG.splitlines()[-2]),
                                                                       json.loads(_LOG.splitlines()[-1])]


@exercise("08.lines_of_job")
def lines_of_job(lines_of) -> None:
    got = run_learner_code(lines_of, _LOG, _JOB)
    assert isinstance(got, list), f"return a list of dicts, got {type(got).__name__}"
    assert all(isinstance(r, dict) for r in got), (
        f"return the parsed JSON records (dicts), not lines of text: got {[type(r).__name__ for r in got]}")
    missing = [r for r in _EXPECTED if r not in got]
    extra = [r for r in got if r not in _EXPECTED]
    assert not missing, f"missing records of the job: {missing} (the SDK's lines carry the id under 'requestId')"
    assert not extra, f"records of other jobs or lines that are not the job's: {extra}"
    assert got == _EXPECTED, "the records are right but not in the log's order"
