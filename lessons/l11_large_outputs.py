"""Harness of lesson 11 (large outputs and the Hub), also used by the tests.

Contract:
- ``local_s3(bucket)`` is a context manager: an S3-compatible server (moto's server
  mode) on 127.0.0.1 at a free port, with ``bucket`` created; it yields the
  ``s3Config`` a request carries (``endpointUrl``, ``accessId``, ``accessSecret``,
  ``bucketName``) and stops the server on exit. Nothing leaves the machine.
- ``download(url)`` is the bytes behind a presigned URL the worker returned (loopback only).
- ``failure(ep, job)`` waits for a job and returns its raw status body.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

import requests

ACCESS = {"accessId": "local-access-id", "accessSecret": "local-access-secret"}


@contextmanager
def local_s3(bucket: str = "outputs") -> Iterator[dict[str, str]]:
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per S3 request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=ACCESS["accessId"],
                     aws_secret_access_key=ACCESS["accessSecret"]).create_bucket(Bucket=bucket)
        yield {"endpointUrl": url, **ACCESS, "bucketName": bucket}
    finally:
        server.stop()


def download(url: str) -> bytes:
    """The object behind ``url`` (loopback only: the local S3 server)."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"not the local S3 server: {url[:40]}")
    answer = requests.get(url, timeout=30)
    answer.raise_for_status()
    return answer.content


def failure(ep, job) -> dict:
    """A finished job's raw status body (``runpod.Endpoint`` hides a failed job's ``error``)."""
    job.output(timeout=120)
    return job.rp_client.get(f"{ep.endpoint_id}/status/{job.job_id}")
