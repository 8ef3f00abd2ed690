"""Solutions and wrong answers to lesson 8's exercises (``lessons.exercises.l08``)."""

from __future__ import annotations

import json
import logging


def log_job_done(job_id, duration_s, completion_tokens):
    from worker.logs import log_event

    log_event("job.done", job_id=job_id, duration_ms=round(duration_s * 1000, 2), completion_tokens=completion_tokens)


def sentence(job_id, duration_s, completion_tokens):
    logging.getLogger("worker").info(f"Job completed: {job_id} in {duration_s:.2f}s, {completion_tokens} tokens")


def seconds_as_text(job_id, duration_s, completion_tokens):
    from worker.logs import log_event

    log_event("job.done", job_id=job_id, duration_ms=f"{duration_s:.2f}s", completion_tokens=completion_tokens)


def lines_of(log_text, job_id):
    records = []
    for line in log_text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and job_id in (record.get("job_id"), record.get("requestId")):
            records.append(record)
    return records


def substring_match(log_text, job_id):
    return [line for line in log_text.splitlines() if job_id in line]


def worker_lines_only(log_text, job_id):
    return [r for r in lines_of(log_text, job_id) if r.get("job_id") == job_id]


SOLUTIONS = {"08.structured_line": log_job_done, "08.lines_of_job": lines_of}
WRONG = {
    "08.structured_line": [sentence, seconds_as_text],
    "08.lines_of_job": [substring_match, worker_lines_only],
}
