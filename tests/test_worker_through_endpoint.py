"""Our worker (``python -m worker``, the real entry point) behind the local endpoint.

The unmodified SDK on both sides: ``runpod.Endpoint`` here, ``runpod.serverless.start``
in a worker process the endpoint cold-starts on the embedded model.
"""

from __future__ import annotations

import time

import pytest

from lessons.client import job_error, status_body, stream_outputs, text_of

PROMPT = "The Python language"


@pytest.fixture(scope="module")
def endpoint(module_local_endpoint_factory, tiny_lm):
    # one warm worker for the module: the model loads once
    # min_execution_timeout: one test times a job out after 300 ms
    return module_local_endpoint_factory(min_workers=1, max_workers=1, idle_timeout=60,
                                         min_execution_timeout=0.3)


def test_run_sync_returns_the_aggregated_output_of_a_plain_request(endpoint):
    output = endpoint.endpoint().run_sync({"prompt": PROMPT, "max_tokens": 16, "temperature": 0}, timeout=120)
    (result,) = output
    assert result["text"] and result["usage"]["completion_tokens"] <= 16


def test_streamed_chunks_reach_the_client_and_join_to_the_plain_text(endpoint):
    ep = endpoint.endpoint()
    plain = ep.run_sync({"prompt": PROMPT, "max_tokens": 40, "temperature": 0}, timeout=120)[0]["text"]
    job = ep.run({"prompt": PROMPT, "max_tokens": 40, "temperature": 0, "stream": True})
    chunks = list(job.stream())
    assert chunks[-1]["finished"] is True
    assert "".join(c["token"] for c in chunks) == plain
    assert job.status() == "COMPLETED"
    assert job.output() == chunks, "return_aggregate_stream: the output is every chunk"


def test_bad_input_fails_the_job_with_a_structured_error_and_the_worker_survives(endpoint):
    ep = endpoint.endpoint()
    job = ep.run({"prompt": PROMPT, "max_tokens": 0})
    assert job.output(timeout=60) is None
    # run_sync and output() drop a failed job's error; the /status body has it
    assert status_body(job)["status"] == "FAILED"
    err = job_error(job)
    assert err["status"] == "VALIDATION_ERROR" and err["retry"] is False and "max_tokens" in err["error"]
    # the same worker serves the next job
    assert ep.run_sync({"prompt": PROMPT, "max_tokens": 4, "temperature": 0}, timeout=120)[0]["text"] is not None
    assert endpoint.health()["workers"]["running"] + endpoint.health()["workers"]["idle"] == 1


def test_progress_of_a_plain_request_is_visible_while_it_runs(endpoint):
    ep = endpoint.endpoint()
    job = ep.run({"prompt": PROMPT, "max_tokens": 4096, "temperature": 0})
    seen = []
    while job.status() in ("IN_QUEUE", "IN_PROGRESS"):
        time.sleep(0.05)
        value = status_body(job).get("output")
        if isinstance(value, dict) and "percent" in value:
            seen.append(value["percent"])
        if len(seen) >= 2:
            job.cancel()
            break
    assert seen and seen == sorted(seen), seen


def test_fast_stream_polling_gets_the_same_text_as_the_sdks_stream(endpoint):
    ep = endpoint.endpoint()
    inp = {"prompt": PROMPT, "max_tokens": 40, "temperature": 0, "stream": True}
    sdk = list(ep.run(inp).stream())
    fast_job = ep.run(inp)
    fast = list(stream_outputs(fast_job))
    # chunk boundaries depend on timing (STREAM_INTERVAL_MS); the text does not
    assert fast[-1]["finished"] is True and sdk[-1]["finished"] is True
    assert text_of(fast_job.output()) == text_of(fast) == "".join(c["token"] for c in sdk)
    assert job_error(fast_job) is None


def test_a_job_the_platform_timed_out_is_a_retryable_timeout_for_the_client(endpoint):
    ep = endpoint.endpoint()
    job = ep.run({"input": {"prompt": PROMPT, "max_tokens": 4096, "temperature": 0},
                  "policy": {"executionTimeout": 300}})
    while job.status() in ("IN_QUEUE", "IN_PROGRESS"):
        time.sleep(0.05)
    body = status_body(job)
    assert body["status"] == "TIMED_OUT" and "output" not in body
    err = job_error(job)
    assert err["status"] == "TIMEOUT" and err["retry"] is True
