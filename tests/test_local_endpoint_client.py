"""The SDK client against the local endpoint with a real SDK worker (tests/handlers/echo.py).

Both sides are the unmodified runpod 1.12.0: ``runpod.Endpoint`` / ``AsyncioEndpoint``
here, ``runpod.serverless.start`` in a worker subprocess. One worker serves the module.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import aiohttp
import pytest


HANDLERS = Path(__file__).parent / "handlers"


@pytest.fixture(scope="module")
def echo(module_local_endpoint_factory):
    ep = module_local_endpoint_factory([sys.executable, str(HANDLERS / "echo.py")],
                                       min_workers=1, max_workers=1)
    ep.wait_for(lambda h: h["workers"]["idle"] == 1, timeout=60)
    return ep


def status_body(ep, job):
    return job.rp_client.get(f"{ep.endpoint_id}/status/{job.job_id}")


def test_run_then_status_and_output(echo):
    endpoint = echo.endpoint()
    job = endpoint.run({"text": "hello"})
    assert job.status() in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")
    assert job.output(timeout=30) == {"text": "hello"}
    assert job.status() == "COMPLETED"
    body = status_body(echo, job)
    assert body["delayTime"] >= 0 and body["executionTime"] >= 0
    assert body["workerId"] == "worker-1"


def test_run_sync_returns_the_output(echo):
    assert echo.endpoint().run_sync({"numbers": [1, 2, 3]}, timeout=60) == {"numbers": [1, 2, 3]}


def test_a_raising_handler_fails_the_job_with_its_error(echo):
    endpoint = echo.endpoint()
    assert endpoint.run_sync({"raise": "boom"}, timeout=60) is None  # the SDK drops the error
    job = endpoint.run({"raise": "bang"})
    job.output(timeout=30)
    assert job.status() == "FAILED"
    assert "bang" in status_body(echo, job)["error"]


def test_an_error_result_fails_the_job_and_keeps_the_rest_as_output(echo):
    job = echo.endpoint().run({"return_error": "busy", "retry": True})
    assert job.output(timeout=30) == {"retry": True}
    body = status_body(echo, job)
    assert body["status"] == "FAILED" and body["error"] == "busy"


def test_health_counts_jobs_and_the_idle_worker(echo):
    endpoint = echo.endpoint()
    before = endpoint.health()["jobs"]["completed"]
    endpoint.run_sync({"n": 1}, timeout=60)
    health = echo.wait_for(lambda h: h["workers"]["idle"] == 1)
    assert health["jobs"]["completed"] == before + 1
    assert endpoint.health()["workers"] == {"idle": 1, "running": 0, "initializing": 0,
                                            "ready": 1, "throttled": 0}


def test_asyncio_endpoint_run_status_output(echo):
    async def scenario():
        async with aiohttp.ClientSession() as session:
            endpoint = echo.asyncio_endpoint(session)
            jobs = [await endpoint.run({"n": n}) for n in range(2)]
            outputs = [await job.output(timeout=60) for job in jobs]
            return outputs, [await job.status() for job in jobs]

    outputs, statuses = asyncio.run(scenario())
    assert outputs == [{"n": 0}, {"n": 1}]
    assert statuses == ["COMPLETED"] * 2


# The source document's retry loop, corrected for runpod 1.12.0: a FAILED job's
# run_sync() returns None (its error is dropped), or the output sent along with the
# error, so both are checked before `.get`.
def run_with_retry(endpoint, input_data, max_retries=3, attempts=None):
    for attempt in range(max_retries):
        if attempts is not None:
            attempts.append(attempt)
        try:
            result = endpoint.run_sync(input_data, timeout=120)
            if result is None or result.get("retry") is True:
                print(f"Retry requested, attempt {attempt + 1}")
                continue
            return result
        except Exception as e:
            if attempt == max_retries - 1:
                raise
            print(f"Attempt {attempt + 1} failed: {e}")
            time.sleep(0.1 * 2 ** attempt)  # the document's backoff, scaled down
    raise Exception("Max retries exceeded")


def test_source_document_run_sync_with_retries(echo):
    endpoint = echo.endpoint()
    assert run_with_retry(endpoint, {"prompt": "hi"}) == {"prompt": "hi"}
    attempts = []
    with pytest.raises(Exception, match="Max retries exceeded"):
        run_with_retry(endpoint, {"return_error": "overloaded", "retry": True},
                       attempts=attempts)
    assert attempts == [0, 1, 2]
