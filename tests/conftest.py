"""Shared test set-up: offline hub, the default settings, the embedded model once per session.

Nothing here reaches a network: ``HF_HUB_OFFLINE=1`` makes a wrong model name fail at
once. The tiny model is built into the cache by ``make setup`` (or on first use).
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

pytest_plugins = ["local_endpoint.pytest_plugin"]

from worker.config import Settings, use_settings  # noqa: E402


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The default settings (the embedded ``tiny`` model on CPU), made current."""
    s = Settings.from_env({k: v for k, v in os.environ.items() if k in ("XDG_CACHE_HOME", "WORKER_CACHE_DIR", "HOME")})
    use_settings(s)
    return s


@pytest.fixture(scope="session")
def tiny_lm(settings):
    """The embedded default model, loaded once for the whole session."""
    from worker.model import get_model

    return get_model(settings)
