"""A RunPod serverless worker for causal language models, copyable as a folder.

Importing ``worker`` or any of its modules starts nothing: no model is loaded, no
thread or process is started and ``runpod.serverless.start`` is not called. The only
place that starts the worker is its entry point, ``python -m worker``
(``worker/__main__.py``). Its requirements are ``worker/requirements.txt``; how to
adapt, run and deploy it is ``worker/README.md``.

Modules, one concern each:
- ``config``: the settings, each declared once, read from the environment at start.
- ``schema``: the request schema (pydantic v2) and its JSON Schema.
- ``model``: resolving ``MODEL_NAME``, loading the model once, device and dtype, warm-up.
- ``generation``: one ``model.generate`` for a request or a batch, streamed per row.
- ``batching``: concurrent jobs merged into batches (``BATCH_SIZE``), in one thread.
- ``handler``: one job from input to last item, and the SDK's ``async_handler``.
- ``progress``: ordered progress updates that never arrive after the result.
- ``errors``: failures classified into structured results with a retry flag.
- ``memory``: clean-up after each job and memory snapshots.
- ``logs``: structured JSON logs with job ids, timings and redaction.
- ``sdk``: the config handed to ``runpod.serverless.start``, and the SDK internals.

Not here, because a deployed worker does not need them: the demo models' builders
(``demo_models``, beside this package) and the helpers that serve the lessons and
tests (``lessons.client``, ``lessons.inprocess``, ``lessons.concurrency``).
"""

__version__ = "0.1.0"
