"""A RunPod serverless worker for causal language models, copyable as a folder.

Importing ``worker`` or any of its modules starts nothing: no model is loaded, no
thread or process is started and ``runpod.serverless.start`` is not called. The only
place that starts the worker is its entry point, ``python -m worker``
(``worker/__main__.py``).

Modules, one concern each:
- ``config``: settings from environment variables, with their defaults.
- ``schema``: the request schema (pydantic v2) and its JSON Schema.
- ``model``: loading the model once, device and dtype, warm-up, generation, streaming.
- ``handler``: the job handler (plain result or a stream of chunks).
- ``progress``: ordered progress updates that never arrive after the result.
- ``errors``: failures classified into structured results with a retry flag.
- ``memory``: clean-up after each job and memory snapshots.
- ``logs``: structured JSON logs with job ids, timings and redaction.
- ``tiny_model`` / ``smollm2``: the offline default models (built or converted once).
"""

__version__ = "0.1.0"
