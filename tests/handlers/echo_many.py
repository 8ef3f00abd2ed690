"""Echo handler (async) that holds many jobs at once, for load tests.

Returns the job input unchanged. The SDK is told a concurrency of 32: told 1, its
take loop sleeps a second after nearly every job (see worker/sdk.py), and a load test
would measure that sleep instead of the endpoint.

Importing this file starts nothing; ``python tests/handlers/echo_many.py`` starts a worker.
"""

import runpod


async def handler(job):
    return job["input"]


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "concurrency_modifier": lambda current: 32})
