"""The source document's basic handler, as written: it starts the worker at import.

Lesson 1 imports this file in a subprocess to show what happens: the last line runs
``runpod.serverless.start`` while the module is being imported, and with no platform
around the SDK runs a local test job and exits the process, so the import never
finishes. ``l01_basic_handler.py`` is the same handler, importable.
"""

import runpod


def handler(job):
    job_id = job["id"]
    job_input = job["input"]

    # Process request (an upper-cased prompt stands in for a model)
    result = job_input["prompt"].upper()

    return {"output": result}


# Start the worker
runpod.serverless.start({"handler": handler})
