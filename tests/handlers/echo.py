"""Echo handler (sync): returns the job input unchanged.

Two inputs exercise failures: ``{"raise": msg}`` raises RuntimeError(msg) (the SDK
reports it as an error), and ``{"return_error": msg, **rest}`` returns
``{"error": msg, **rest}`` (an error result that carries output, as the source
document's handler does with ``"retry": True``).

Importing this file starts nothing; ``python tests/handlers/echo.py`` starts a worker.
"""

import runpod


def handler(job):
    job_input = job["input"]
    if isinstance(job_input, dict) and "raise" in job_input:
        raise RuntimeError(job_input["raise"])
    if isinstance(job_input, dict) and "return_error" in job_input:
        rest = {k: v for k, v in job_input.items() if k != "return_error"}
        return {"error": job_input["return_error"], **rest}
    return job_input


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
