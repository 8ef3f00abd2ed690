"""Lesson 5's second worker: a handler that *returns* its errors as dicts, a common pattern
(``{"error": ..., "status": ..., "retry": ...}``), written for the lesson, with one branch
per kind of failure. ``validate`` and ``process`` are the smallest functions that let
every branch run on demand, with no model:

- ``validate(job_input)`` returns an error message, or ``None`` when the input is fine.
- ``process(job_input)`` raises, by the ``prompt``'s first word: ``oom`` the error torch
  raises when a GPU allocation fails, ``slow`` a ``TimeoutError``, ``flaky`` a
  ``ConnectionError``, ``bug`` a ``KeyError``; any other prompt is echoed back upper-cased.

Running this file starts the SDK worker with that handler; importing it starts nothing.
"""

from __future__ import annotations

import traceback

import torch


def validate(job_input):
    if not isinstance(job_input.get("prompt"), str) or not job_input["prompt"]:
        return "prompt must be a non-empty string"
    return None


def process(job_input):
    first_word = job_input["prompt"].split()[0]
    if first_word == "oom":
        raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
    if first_word == "slow":
        raise TimeoutError("the model took too long (simulated)")
    if first_word == "flaky":
        raise ConnectionError("the feature store did not answer (simulated)")
    if first_word == "bug":
        raise KeyError("choices")
    return job_input["prompt"].upper()


def handler(job):
    """Production error handling."""
    try:
        job_input = job["input"]

        # Validate input
        validation_error = validate(job_input)
        if validation_error:
            return {
                "error": validation_error,
                "status": "VALIDATION_FAILED",
                "retry": False
            }

        # Process
        result = process(job_input)

        return {
            "output": result,
            "status": "SUCCESS"
        }

    except torch.cuda.OutOfMemoryError:
        # OOM - don't retry, need smaller input
        return {
            "error": "GPU out of memory. Reduce input size or max_tokens.",
            "status": "OOM_ERROR",
            "retry": False
        }

    except TimeoutError:
        # Timeout - may succeed on retry
        return {
            "error": "Request timed out",
            "status": "TIMEOUT",
            "retry": True
        }

    except ConnectionError as e:
        # Network issue - retry
        return {
            "error": f"Connection error: {str(e)}",
            "status": "CONNECTION_ERROR",
            "retry": True
        }

    except Exception as e:
        # Unknown error - log and retry
        return {
            "error": str(e),
            "traceback": traceback.format_exc(),
            "status": "UNKNOWN_ERROR",
            "retry": True
        }


if __name__ == "__main__":
    import runpod

    runpod.serverless.start({"handler": handler})
