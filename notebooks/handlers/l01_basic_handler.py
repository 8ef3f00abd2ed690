"""The source document's basic handler, importable: ``start`` runs only as a script.

Lesson 1 imports this file (nothing starts) and hands its ``handler`` to the SDK's
own job runner to show what a client would receive. ``python l01_basic_handler.py``
would start a worker, as ``python -m worker`` does for the real one.
"""

import runpod


def handler(job):
    job_id = job["id"]
    job_input = job["input"]

    # Process request (an upper-cased prompt stands in for a model)
    result = job_input["prompt"].upper()

    return {"output": result}


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
