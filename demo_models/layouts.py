"""Model folders laid out the way each model source expects them: for tests and lessons.

Contract: each function links (symlinks) the files of an existing model folder into a
new layout under a root it is given and returns the folder the worker will load from;
nothing is copied, so a layout of a 260 MB model costs nothing.

- ``hub_cache_layout(model, hub, repo)``: the Hugging Face hub cache layout RunPod's
  cached models use (``{hub}/models--{org}--{name}/snapshots/{hash}/`` plus
  ``refs/main``), e.g. under ``{volume}/huggingface-cache/hub``.
- ``runpod_cache_layout(model, root, repo)``: ``{root}/{org}/{name}/main``, the path the
  SDK's ``rp_model_cache.py`` names.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def _link_files(model: Path, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    for item in Path(model).iterdir():
        if item.is_file() and not (into / item.name).exists():
            (into / item.name).symlink_to(item.resolve())
    return into


def hub_cache_layout(model: Path, hub: Path, repo: str, revision: str = "main") -> Path:
    """Link ``model``'s files as ``repo``'s snapshot in the hub cache ``hub``; returns the snapshot."""
    commit = hashlib.sha1(f"{repo}@{Path(model).resolve()}".encode()).hexdigest()  # a stand-in hash
    base = Path(hub) / ("models--" + repo.replace("/", "--"))
    snapshot = _link_files(model, base / "snapshots" / commit)
    (base / "refs").mkdir(parents=True, exist_ok=True)
    (base / "refs" / revision).write_text(commit, encoding="utf-8")
    return snapshot


def runpod_cache_layout(model: Path, root: Path, repo: str, revision: str = "main") -> Path:
    """Link ``model``'s files to ``{root}/{repo}/{revision}``; returns that folder."""
    return _link_files(model, Path(root) / repo / revision)
