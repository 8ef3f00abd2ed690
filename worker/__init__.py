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
- ``progress``: ordered progress updates that never arrive after the result.
- ``errors``: failures classified into structured results with a retry flag.
- ``memory``: clean-up after each job and memory snapshots.
- ``logs``: structured JSON logs with job ids, timings and redaction.

The demo models' builders live beside this package (``demo_models``), and the helpers
that serve lessons and tests in ``lessons`` (``client``, ``inprocess``, ``concurrency``).
"""

__version__ = "0.1.0"
