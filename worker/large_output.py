"""Outputs over the platform's size limits: sent through S3, or refused with the fix.

The platform refuses a job result over about 20 MB and a stream chunk over 1 MB
(https://docs.runpod.io/serverless/workers/handler-functions, payload limits); the
SDK then only logs "Failed to return job results. | 400" (runpod/serverless/modules/
rp_http.py line 69) and the client gets no output (runpod-python issue 309). This
worker is a generator handler, so the SDK posts every item it yields as a stream chunk
and, with ``return_aggregate_stream``, the list of all of them as the result
(rp_job.py lines 203-219): each item must fit ``MAX_CHUNK_BYTES`` and all of them
together ``MAX_RESULT_BYTES``.

Contract:
- ``json_size(value)`` is the size of ``value`` as the SDK sends it
  (``json.dumps(..., ensure_ascii=False)`` in UTF-8, rp_http.py line 60). Not
  ``sys.getsizeof``: that is the size of the outer Python object only (a dict holding
  a 30 MB string measures a few hundred bytes).
- ``OutputGuard(job, settings).fit(item)`` (awaitable) returns what to yield instead
  of ``item``: the item itself when it fits; when it does not and the job carries an
  ``s3Config`` (the platform passes the request's ``s3Config`` in the job), a
  reference ``{"output_url", "output_bytes", "content_type"}`` to the item's JSON,
  uploaded with the SDK's ``upload_in_memory_object`` (runpod/serverless/utils/
  rp_upload.py); otherwise it raises ``OutputTooLarge`` (OUTPUT_TOO_LARGE, never
  retried) saying how to fix it.
- An ``s3Config`` without ``endpointUrl``, ``accessId`` and ``accessSecret`` (text)
  is a ``RequestRejected``: the SDK would otherwise write the file to a local
  ``local_upload/`` folder with only a warning (rp_upload.py ``_save_to_local_fallback``),
  which on a worker means lost. ``bucketName`` is optional (the SDK then uses a bucket
  named after the month, ``%m-%y``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
from typing import Any

from worker.config import Settings
from worker.errors import OutputTooLarge, RequestRejected
from worker.logs import log_event

S3_KEYS = ("endpointUrl", "accessId", "accessSecret")
# What the SDK wraps around each posted item: {"output": ...} for a chunk, and the
# list brackets and commas of the aggregated result.
ENVELOPE = len('{"output": []}')


def json_size(value: Any) -> int:
    """Bytes of ``value`` as the SDK serialises it; see the module docstring."""
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))


def s3_config(job: Any) -> dict[str, str] | None:
    """The job's ``s3Config``, checked; None when it has none."""
    config = job.get("s3Config") if isinstance(job, dict) else None
    if config is None:
        return None
    if not isinstance(config, dict) or not all(isinstance(config.get(k), str) and config[k] for k in S3_KEYS):
        raise RequestRejected(f"s3Config must be an object with {', '.join(S3_KEYS)} (text) and optionally "
                              "bucketName")
    if "bucketName" in config and not (isinstance(config["bucketName"], str) and config["bucketName"]):
        raise RequestRejected("s3Config.bucketName must be a non-empty text")
    return config


def upload(job_id: str, index: int, data: bytes, config: dict[str, str]) -> str:
    """The presigned URL of ``data`` uploaded with the SDK's ``upload_in_memory_object``."""
    if importlib.util.find_spec("boto3") is None:  # the SDK would write to local_upload/ instead
        raise RuntimeError("boto3 is not installed: the worker cannot upload to S3")
    from runpod.serverless.utils import upload_in_memory_object

    return upload_in_memory_object(f"{index}.json", data, bucket_creds=config,
                                   bucket_name=config.get("bucketName"), prefix=job_id)


class OutputGuard:
    """Every item of one job, checked against the limits in the order it is yielded."""

    def __init__(self, job: Any, settings: Settings) -> None:
        self.job_id = str(job.get("id", "local")) if isinstance(job, dict) else "local"
        self.config = s3_config(job)
        self.settings = settings
        self.total = ENVELOPE  # the aggregated result so far
        self.index = 0

    def _fits(self, size: int) -> bool:
        return (size + ENVELOPE <= self.settings.max_chunk_bytes
                and self.total + size + 2 <= self.settings.max_result_bytes)

    async def fit(self, item: Any) -> Any:
        self.index += 1
        size = json_size(item)
        if not self._fits(size):
            if self.config is None:
                raise OutputTooLarge(
                    f"the output is too large for the platform: an item of {size} bytes (JSON), with "
                    f"{self.total} bytes of the job's result already used; the limits are "
                    f"{self.settings.max_chunk_bytes} bytes per item (MAX_CHUNK_BYTES) and "
                    f"{self.settings.max_result_bytes} bytes per result (MAX_RESULT_BYTES). Send the "
                    "request with an s3Config (endpointUrl, accessId, accessSecret, bucketName) and "
                    "the worker uploads the output and returns its URL, or ask for less (max_tokens)")
            data = json.dumps(item, ensure_ascii=False).encode("utf-8")
            url = await asyncio.to_thread(upload, self.job_id, self.index, data, self.config)
            log_event("job.output_uploaded", job_id=self.job_id, output_bytes=len(data))
            item = {"output_url": url, "output_bytes": len(data), "content_type": "application/json"}
            size = json_size(item)
            if not self._fits(size):
                raise OutputTooLarge(f"even the reference to the uploaded output ({size} bytes) is over "
                                     "the limits: raise MAX_RESULT_BYTES or ask for fewer chunks")
        self.total += size + 2  # ", " between items
        return item
