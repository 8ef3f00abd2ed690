"""Streaming and progress through the local endpoint, with real SDK workers.

A generator worker (tests/handlers/chunks.py, ``return_aggregate_stream=True``) and a
progress worker (tests/handlers/progress.py, ``progress_update``), each with one
worker for the module; the clients are the unmodified ``runpod.Endpoint`` and
``AsyncioEndpoint``, including the source document's client loops as corrected for
runpod 1.12.0.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp
import pytest


HANDLERS = Path(__file__).parent / "handlers"
TEXT = "one two three four five six seven eight"


@pytest.fixture(scope="module")
def workers_ready(module_local_endpoint_factory):
    """Both endpoints, started together: their workers' cold starts overlap."""
    endpoints = {
        name: module_local_endpoint_factory([sys.executable, str(HANDLERS / f"{name}.py")],
                                            min_workers=1, max_workers=1)
        for name in ("chunks", "progress")
    }
    for ep in endpoints.values():
        ep.wait_for(lambda h: h["workers"]["idle"] == 1, timeout=60)
    return endpoints


@pytest.fixture
def chunks(workers_ready):
    return workers_ready["chunks"]


@pytest.fixture
def progress(workers_ready):
    return workers_ready["progress"]


def job_times(ep, job_id):
    return next(j for j in ep.timeline()["jobs"] if j["id"] == job_id)


def test_stream_yields_chunks_while_the_job_runs_then_the_aggregate(chunks):
    job = chunks.endpoint().run({"text": TEXT, "delay": 0.3})
    received = []
    for output in job.stream():
        received.append((time.time(), output))
    assert [o["token"] for _, o in received] == TEXT.split()
    times = job_times(chunks, job.job_id)
    # Streamed, not handed over at the end: the client had the first chunk before
    # the worker sent its last one (7 sleeps of 0.3 s later).
    assert received[0][0] < times["finished"]
    assert times["first_chunk"] < times["finished"]
    assert job.output() == [o for _, o in received]  # return_aggregate_stream
    assert job.status() == "COMPLETED"


def test_asyncio_stream_yields_every_chunk(chunks):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            job = await chunks.asyncio_endpoint(session).run({"text": "a b c", "delay": 0.1})
            tokens = [output["token"] async for output in job.stream()]
            return tokens, await job.status()

    assert asyncio.run(scenario()) == (["a", "b", "c"], "COMPLETED")


def test_a_generator_that_raises_ends_the_stream_and_fails_the_job(chunks):
    job = chunks.endpoint().run({"text": TEXT, "delay": 0.05, "fail_after": 2})
    assert [o["token"] for o in job.stream()] == ["one", "two"]
    assert job.status() == "FAILED"
    body = job.rp_client.get(f"{chunks.endpoint_id}/status/{job.job_id}")
    assert "failed after 2 chunks" in body["error"]


# The source document's streaming loop, corrected for runpod 1.12.0: Job.stream()
# already yields each chunk's output (not {"output": ...}).
def stream_story(endpoint, prompt):
    job = endpoint.run({"text": prompt, "delay": 0.1})
    printed = []
    for output in job.stream():
        token = output.get("token", "")
        print(token, end=" ", flush=True)
        printed.append(token)
        if output.get("finished"):
            break
    final = job.output(timeout=30)
    return printed, final


def test_source_document_streaming_loop(chunks):
    printed, final = stream_story(chunks.endpoint(), "Write a story about dogs")
    assert printed == ["Write", "a", "story", "about", "dogs"]
    assert [chunk["token"] for chunk in final] == printed and final[-1]["finished"] is True


def test_progress_is_seen_by_a_polling_client_while_the_job_runs(progress):
    job = progress.endpoint().run({"steps": 3, "delay": 0.8})
    seen = []
    deadline = time.monotonic() + 60
    while job.status() != "COMPLETED" and time.monotonic() < deadline:
        value = job.output()
        if value is not None:
            seen.append(value)
        time.sleep(0.25)
    assert job.output() == {"steps": 3}
    distinct = list(dict.fromkeys(seen))
    assert set(distinct) <= {33, 67, 100} and len(distinct) >= 2, seen


# The source document's progress polling loop, corrected for runpod 1.12.0: `run` has
# no `is_async`, Job.status() returns the status word, and the progress arrives as
# the job's output while it is IN_PROGRESS.
def poll_progress(endpoint, items, interval=0.3):
    job = endpoint.run({"steps": len(items), "delay": 0.5})
    reports = []
    while True:
        status = job.status()
        if status == "COMPLETED":
            result = job.output()
            break
        elif status == "FAILED":
            raise Exception(f"Job failed: {job.output()}")
        elif status == "IN_PROGRESS":
            progress = job.output() or 0
            print(f"Progress: {progress}%")
            reports.append(progress)
        time.sleep(interval)
    return result, reports


def test_source_document_progress_polling_loop(progress):
    result, reports = poll_progress(progress.endpoint(), items=["a", "b", "c", "d"])
    assert result == {"steps": 4}
    assert any(report in (25, 50, 75, 100) for report in reports), reports
