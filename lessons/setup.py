"""The one set-up call at the top of every lesson: ``lesson = start_lesson(MODEL, DEVICE, DTYPE)``.

Contract:
- Works whether the kernel started in the repository root or in ``notebooks/`` (papermill
  from either, JupyterLab): the repository root goes on ``sys.path`` and the working
  folder becomes ``notebooks/``, so a lesson's relative paths (``handlers/...``) hold.
- ``HF_HUB_OFFLINE`` defaults to 1 (no hub is reachable on a CPU machine here; a GPU pod
  that loads a hub id sets ``HF_HUB_OFFLINE=0`` itself), and tokenizers' fork warning
  is silenced.
- ``import runpod`` sets the root logger to INFO (``logging.basicConfig`` in the SDK's
  logger module): the root logger goes back to WARNING and, unless ``quiet_sdk=False``,
  the SDK's own logger is set to ERROR, so a lesson's output is its own.
- The lesson's parameters become the settings of everything that runs in this kernel
  (``worker.config.use_settings``) and, as environment variables, of the workers an
  endpoint starts (``lesson.worker_env``), the way a RunPod endpoint passes them.
- Returns a ``Lesson`` with ``settings`` and ``worker_env``. Calling it again replaces both.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


@dataclass
class Lesson:
    """What a lesson's set-up cell made: the kernel's settings and the workers' environment."""

    settings: Any
    worker_env: dict[str, str] = field(default_factory=dict)


def start_lesson(model: str = "tiny", device: str = "auto", dtype: str = "auto", *,
                 quiet_sdk: bool = True, **settings: Any) -> Lesson:
    """Set up a lesson's kernel; see the module docstring. ``settings``: more worker settings."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.chdir(NOTEBOOKS)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import runpod  # noqa: F401  (imported now, so that its logging set-up is undone below)

    logging.getLogger().setLevel(logging.WARNING)
    if quiet_sdk:
        from runpod.serverless.modules.rp_logger import RunPodLogger

        RunPodLogger().set_level("ERROR")

    from worker.config import Settings, use_settings

    chosen = Settings(model_name=model, device=device, dtype=dtype, **settings)
    use_settings(chosen)
    env = {"MODEL_NAME": model, "DEVICE": device, "DTYPE": dtype}
    env.update({name.upper(): str(int(v) if isinstance(v, bool) else v) for name, v in settings.items()})
    return Lesson(settings=chosen, worker_env=env)
