"""Outputs over the platform's size limits: measured as JSON, sent through S3 or refused.

The S3 server is moto's server mode on 127.0.0.1 (``lessons.l11_large_outputs.local_s3``),
started and stopped by a fixture; the worker uploads with the SDK's own
``upload_in_memory_object``. Limits are lowered to hundreds of bytes so the tiny model's
ordinary answers are "too large".
"""

from __future__ import annotations

import asyncio
import json
import sys

import pytest

from lessons.client import job_error, status_body
from lessons.l11_large_outputs import download, local_s3
from worker.config import Settings
from worker.errors import OutputTooLarge, RequestRejected, classify
from worker.large_output import OutputGuard, json_size


@pytest.fixture(scope="module")
def s3():
    with local_s3() as config:
        yield config


def guard(job, **limits):
    return OutputGuard(job, Settings(**limits))


def test_json_size_measures_the_serialised_output_where_getsizeof_sees_only_the_dict():
    output = {"text": "é" * 1_000_000}
    assert json_size(output) == len(json.dumps(output, ensure_ascii=False).encode()) > 2_000_000
    assert sys.getsizeof(output) < 1000  # why rp_tips.check_return_size never warns


def test_without_s3config_a_too_large_item_is_a_non_retryable_error_saying_how_to_fix_it():
    with pytest.raises(OutputTooLarge) as caught:
        asyncio.run(guard({"id": "j"}, max_chunk_bytes=100).fit({"text": "x" * 200}))
    result = classify(caught.value)
    assert result["status"] == "OUTPUT_TOO_LARGE" and result["retry"] is False
    assert "s3Config" in result["error"] and "MAX_CHUNK_BYTES" in result["error"]


def test_items_that_fit_pass_unchanged_until_their_sum_passes_the_result_limit():
    g = guard({"id": "j"}, max_chunk_bytes=1000, max_result_bytes=250)
    item = {"token": "x" * 80}  # 93 bytes: two fit in 250 with the envelope, three do not
    assert asyncio.run(g.fit(item)) == item
    assert asyncio.run(g.fit(item)) == item
    with pytest.raises(OutputTooLarge, match="MAX_RESULT_BYTES"):
        asyncio.run(g.fit(item))


@pytest.mark.parametrize("config", [{"endpointUrl": "http://127.0.0.1:1"}, "s3://x",
                                    {"endpointUrl": "u", "accessId": "a", "accessSecret": ""}])
def test_an_incomplete_s3config_is_refused_as_bad_input_never_written_to_a_local_folder(config, tmp_path,
                                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RequestRejected):
        guard({"id": "j", "s3Config": config})
    assert classify(RequestRejected("x"))["retry"] is False
    assert not (tmp_path / "local_upload").exists()


def test_a_too_large_item_goes_to_s3_and_comes_back_byte_for_byte(s3, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    item = {"text": "große Ausgabe " * 200, "usage": {"completion_tokens": 3}}
    reference = asyncio.run(guard({"id": "job-1", "s3Config": s3}, max_chunk_bytes=600).fit(item))
    assert set(reference) == {"output_url", "output_bytes", "content_type"}
    data = download(reference["output_url"])
    assert len(data) == reference["output_bytes"] == json_size(item)
    assert json.loads(data) == item
    assert not (tmp_path / "local_upload").exists()


@pytest.fixture(scope="module")
def small_limits(module_local_endpoint_factory, tiny_lm):
    """Our worker behind the local endpoint, its limits lowered to a few hundred bytes."""
    return module_local_endpoint_factory(min_workers=1, max_workers=1, idle_timeout=60,
                                         worker_env={"MAX_CHUNK_BYTES": "600", "MAX_RESULT_BYTES": "1000",
                                                                     "STREAM_INTERVAL_MS": "0"})


REQUEST = {"prompt": "The Python language", "max_tokens": 200, "temperature": 0}


def test_through_the_endpoint_a_large_result_without_s3config_fails_with_the_fix(small_limits):
    job = small_limits.endpoint().run(REQUEST)
    assert job.output(timeout=120) is None
    assert status_body(job)["status"] == "FAILED"
    err = job_error(job)
    assert err["status"] == "OUTPUT_TOO_LARGE" and err["retry"] is False and "s3Config" in err["error"]


def test_through_the_endpoint_s3config_round_trip_request_upload_download(small_limits, s3):
    job = small_limits.endpoint().run({"input": REQUEST, "s3Config": s3})
    (reference,) = job.output(timeout=120)
    data = download(reference["output_url"])
    result = json.loads(data)
    assert len(data) == reference["output_bytes"] > 600
    assert result["text"] and result["usage"]["completion_tokens"] > 0
    assert result["model"] == "tiny"


def test_through_the_endpoint_an_aggregated_stream_over_the_result_limit_fails(small_limits):
    job = small_limits.endpoint().run({**REQUEST, "stream": True})
    chunks = list(job.stream())
    assert chunks, "the chunks that fit reached the client"
    assert status_body(job)["status"] == "FAILED"
    assert job_error(job)["status"] == "OUTPUT_TOO_LARGE"
