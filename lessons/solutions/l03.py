"""Lesson 3's solutions and wrong answers (graded by tests/test_exercises.py)."""

import time

import runpod


def report_items(job):
    items = job["input"]["items"]
    for i, item in enumerate(items):
        percent = round((i + 1) / len(items) * 100)
        runpod.serverless.progress_update(job, {"percent": percent, "message": f"processed {item}"})
    return {"processed": len(items)}


def report_items_two_arguments(job):   # the common mistake: percent and message as two arguments
    items = job["input"]["items"]
    for i, item in enumerate(items):
        runpod.serverless.progress_update(job, (i + 1) * 100 // len(items), f"processed {item}")
    return {"processed": len(items)}


def report_items_bare_number(job):
    items = job["input"]["items"]
    for i, _ in enumerate(items):
        runpod.serverless.progress_update(job, (i + 1) * 100 // len(items))
    return {"processed": len(items)}


def follow(job, every=2.0):
    seen = []
    while True:
        status = job.status()
        if status == "COMPLETED":
            return job.output(), seen
        if status in ("FAILED", "TIMED_OUT", "CANCELLED"):
            raise RuntimeError(f"job {status}")
        if status == "IN_PROGRESS":
            progress = job.output()
            if progress is not None and (not seen or progress != seen[-1]):
                seen.append(progress)
        time.sleep(every)


def follow_indexes_the_word(job, every=2.0):   # treats job.status() as the /status body
    seen = []
    while True:
        status = job.status()
        if status["status"] == "COMPLETED":
            return job.output(), seen
        seen.append(status.get("progress", 0))
        time.sleep(every)


def follow_keeps_repeats(job, every=2.0):
    seen = []
    while True:
        status = job.status()
        if status == "COMPLETED":
            return job.output(), seen
        if status in ("FAILED", "TIMED_OUT", "CANCELLED"):
            raise RuntimeError(status)
        if status == "IN_PROGRESS":
            seen.append(job.output())
        time.sleep(every)


SOLUTIONS = {"03.report_items": report_items, "03.follow": follow}
WRONG = {
    "03.report_items": [report_items_two_arguments, report_items_bare_number],
    "03.follow": [follow_indexes_the_word, follow_keeps_repeats],
}
