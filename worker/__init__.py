"""A RunPod serverless worker for causal language models, copyable as a folder.

Importing ``worker`` or any of its modules starts nothing: no model is loaded, no
thread or process is started and ``runpod.serverless.start`` is not called. The only
place that starts the worker is its entry point, ``python -m worker``
(``worker/__main__.py``).

Modules, one concern each:
- ``config``: settings from environment variables, with their defaults.
- ``schema``: the request schema (pydantic v2) and its JSON Schema.
- ``model``: loading the model once, device and dtype, warm-up.
- ``generation``: one ``model.generate`` for a request or a batch, streamed per row.
- ``batching``: concurrent jobs merged into batches (``BATCH_SIZE``).
- ``handler``: the job handler (plain result or a stream of chunks).
- ``sdk``: the config handed to ``runpod.serverless.start`` (concurrency, aggregation).
- ``client``: client-side helpers (the whole /status body, errors, fast stream polling).
- ``progress``: ordered progress updates that never arrive after the result.
- ``errors``: failures classified into structured results with a retry flag.
- ``memory``: clean-up after each job and memory snapshots.
- ``logs``: structured JSON logs with job ids, timings and redaction.
- ``tiny_model`` / ``smollm2``: the offline default models (built or converted once),
  into the cache safely by ``model_cache``; ``prefetch`` puts a model there for an image.
"""

__version__ = "0.1.0"
