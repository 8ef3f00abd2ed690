"""Lesson 10's harness: model-source layouts on a temporary volume, and timed loads.

Contract:
- ``build_places(model_folder, root)`` lays ``model_folder``'s files (links, no copies)
  out under ``root`` as each source expects them and returns ``{label: settings
  changes}``: ``volume cache`` (a hub id in ``{volume}/huggingface-cache/hub``),
  ``runpod cache`` (the SDK's ``{root}/{org}/{name}/main``), ``folder`` (a plain folder
  on the volume) and ``baked`` (the short name, the image's own folder).
- ``timed_load(settings)`` loads the model as the worker does (``worker.model.load_model``,
  warm-up off) and returns the source it found and the seconds the weights took.
- ``hub_failure(settings)``: where the hub is unreachable (``HF_HUB_OFFLINE=1``), how
  fast a hub id with no local copy fails, and the reason the worker would stop with.
"""

from __future__ import annotations

import time
from pathlib import Path

from demo_models.layouts import hub_cache_layout, runpod_cache_layout
from worker.config import Settings
from worker.errors import ModelLoadError
from worker.model import load_model
from worker.model_source import VOLUME_HUB

REPO = "HuggingFaceTB/SmolLM2-135M-Instruct"


def build_places(model_folder: Path, root: Path, short_name: str) -> dict[str, dict]:
    """Each source's layout under ``root``; see the module docstring."""
    volume, sdk_cache = Path(root) / "runpod-volume", Path(root) / "runpod-cache"
    hub_cache_layout(model_folder, volume / VOLUME_HUB, REPO)
    runpod_cache_layout(model_folder, sdk_cache, REPO)
    plain = runpod_cache_layout(model_folder, volume / "models", "smollm2")  # a plain folder
    empty = Path(root) / "empty-volume"
    empty.mkdir(exist_ok=True)
    return {
        "volume cache": dict(model_name=REPO, volume_dir=volume, sdk_model_cache=sdk_cache),
        "runpod cache": dict(model_name=REPO, volume_dir=empty, sdk_model_cache=sdk_cache),
        "folder": dict(model_name=str(plain), volume_dir=volume),
        "baked": dict(model_name=short_name),
    }


def timed_load(settings: Settings) -> dict:
    """Load as the worker does; the source found and the seconds it took."""
    started = time.perf_counter()
    lm = load_model(settings.replace(warmup=False))
    return {"source": lm.source_kind, "weights_s": round(lm.timings["weights_s"], 3),
            "total_s": round(time.perf_counter() - started, 3)}


def hub_failure(settings: Settings, root: Path) -> dict:
    """A hub id found nowhere, with the hub unreachable: how fast and why it fails."""
    empty = Path(root) / "empty-volume"
    started = time.perf_counter()
    try:
        load_model(settings.replace(model_name=REPO, volume_dir=empty, sdk_model_cache=empty, warmup=False))
    except ModelLoadError as exc:
        return {"failed_after_s": round(time.perf_counter() - started, 3), "reason": str(exc)[:160]}
    return {"failed_after_s": None, "reason": "loaded: a hub or a hub cache was reachable"}
