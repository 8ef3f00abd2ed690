"""The platform's size limits on what a worker sends back, on the local endpoint.

One SDK worker (tests/handlers/sized.py, a generator with ``return_aggregate_stream``)
behind an endpoint whose limits are lowered from the documented 20 MB result and
1 MB chunk to 4,000 and 1,000 bytes, so the tests send kilobytes, not megabytes.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import requests

from local_endpoint.config import MIB, EndpointConfig

HANDLER = Path(__file__).parent / "handlers" / "sized.py"
RESULT_LIMIT, CHUNK_LIMIT = 4000, 1000


@pytest.fixture(scope="module")
def sized(module_local_endpoint_factory):
    ep = module_local_endpoint_factory([sys.executable, str(HANDLER)], min_workers=1, max_workers=1,
                                       max_result_bytes=RESULT_LIMIT, max_stream_chunk_bytes=CHUNK_LIMIT)
    ep.wait_for(lambda h: h["workers"]["idle"] == 1, timeout=60)
    return ep


def test_the_limits_default_to_the_documented_20_mb_result_and_1_mb_chunk():
    cfg = EndpointConfig()
    assert (cfg.max_result_bytes, cfg.max_stream_chunk_bytes) == (20 * MIB, 1 * MIB)
    with pytest.raises(ValueError, match="max_result_bytes"):
        EndpointConfig(max_result_bytes=0)


def test_an_output_under_both_limits_completes(sized):
    job = sized.endpoint().run({"chunks": 3, "chunk_bytes": 500})
    assert [c["i"] for c in job.stream()] == [0, 1, 2]
    assert job.status() == "COMPLETED"
    assert len(job.output()) == 3


def test_a_chunk_over_the_chunk_limit_fails_the_job_saying_why(sized):
    job = sized.endpoint().run({"chunks": 1, "chunk_bytes": CHUNK_LIMIT + 100})
    result = _status(sized, job.job_id)
    assert result["status"] == "FAILED"
    assert "a stream chunk was" in result["error"] and f"{CHUNK_LIMIT}-byte limit" in result["error"]
    assert "s3Config" in result["error"] and "on the local endpoint" in result["error"]


def test_an_aggregated_stream_over_the_result_limit_fails_though_every_chunk_fits(sized):
    # 8 chunks of 600 bytes: each under the 1,000-byte chunk limit, together over 4,000.
    job = sized.endpoint().run({"chunks": 8, "chunk_bytes": 600})
    assert len(list(job.stream())) == 8  # every chunk reached the client
    result = _status(sized, job.job_id)
    assert result["status"] == "FAILED"
    assert "the job's result was" in result["error"] and f"{RESULT_LIMIT}-byte limit" in result["error"]
    assert "output" not in result
    # the worker's side, as users report it from RunPod (runpod-python issue 309)
    sized.wait_for(lambda h: "Failed to return job results" in "".join(sized.worker_logs().values()), timeout=10)


def test_s3config_of_the_request_reaches_the_worker_in_the_job(sized):
    s3 = {"accessId": "a", "accessSecret": "b", "bucketName": "c", "endpointUrl": "http://127.0.0.1:1"}
    job = sized.endpoint().run({"input": {"chunks": 1}, "s3Config": s3})
    first = job.output(timeout=30)[0]
    assert first["s3Config"] == s3
    assert first["job_keys"] == ["id", "input", "s3Config"]


def _status(ep, job_id: str) -> dict:
    """The job's status body once it is final (the raw body: the SDK client hides ``error``)."""
    deadline = time.monotonic() + 30
    while True:
        body = requests.get(f"{ep.url}/{ep.endpoint_id}/status/{job_id}",
                            headers={"Authorization": f"Bearer {ep.api_key}"}, timeout=10).json()
        if body["status"] in ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT") or time.monotonic() > deadline:
            return body
        time.sleep(0.1)
