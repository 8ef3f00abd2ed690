"""Streaming handler of outputs of a chosen size (async generator, ``return_aggregate_stream=True``).

Input ``{"chunks": n, "chunk_bytes": b}``: yields ``n`` chunks ``{"i": i, "data": "x" * b}``.
The first chunk also carries ``"job_keys"``, the sorted keys of the job the worker
received, and ``"s3Config"`` when the job has one: what the endpoint passed on.

Importing this file starts nothing; ``python tests/handlers/sized.py`` starts a worker.
"""

import runpod


async def handler(job):
    job_input = job["input"]
    for i in range(job_input.get("chunks", 1)):
        chunk = {"i": i, "data": "x" * job_input.get("chunk_bytes", 10)}
        if i == 0:
            chunk["job_keys"] = sorted(job)
            if "s3Config" in job:
                chunk["s3Config"] = job["s3Config"]
        yield chunk


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "return_aggregate_stream": True})
