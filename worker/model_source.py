"""Where a model's files come from: which of the places a ``MODEL_NAME`` may live holds it.

Contract: ``find_source(name, settings, baked_hub=None)`` returns a ``ModelSource``
(``kind``, ``target`` for ``from_pretrained``, and the keywords to load it with) and
touches nothing but the file system; it imports neither torch nor transformers.

- A short name (``tiny``, ``smollm2``) or an existing folder: ``kind`` ``short name`` /
  ``folder``, as ``worker.model.resolve_source`` says.
- A hub id (``org/name``, optionally ``org/name:revision``) is looked up, in order:

  1. ``volume cache``: RunPod's cached models, a hub cache under the volume,
     ``{VOLUME_DIR}/huggingface-cache/hub/models--{org}--{name}/snapshots/{hash}/``
     (RunPod documentation, https://docs.runpod.io/serverless/endpoints/model-caching).
     Loaded with the hub cache pointed there, offline (``cache_dir``,
     ``local_files_only``), at the snapshot ``refs/{revision}`` names, or the newest.
  2. ``runpod cache``: the SDK helper's path ``{SDK_MODEL_CACHE}/{model}/{revision}``
     (revision ``main`` when none is given), the template of
     ``resolve_model_cache_path_from_hugginface_repository`` in
     ``runpod/serverless/utils/rp_model_cache.py`` (lines 9-50, runpod 1.12.0); loaded
     as a folder. Written here rather than imported: importing ``runpod`` costs over a
     second, and this runs before anything heavy (``tests/test_model_source.py``
     checks both give the same path).
  3. ``baked``: the image's own hub cache (``HF_HUB_CACHE``, under ``HF_HOME``), where
     ``demo_models.prefetch`` downloads a hub id at image build; loaded offline.
  4. ``hub``: downloaded by ``from_pretrained`` at start-up (where a hub is reachable;
     with ``HF_HUB_OFFLINE=1`` it fails at once, naming the model).

A cache counts only when its snapshot holds a ``config.json``: an interrupted copy is
passed over, not loaded half.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.config import Settings
from worker.errors import ModelLoadError

VOLUME_HUB = Path("huggingface-cache") / "hub"

# Short MODEL_NAMEs: the folder under WORKER_CACHE_DIR, and the command that builds it.
# The builders (demo_models/) write exactly these folders; bump a folder's suffix when
# its recipe changes, so that an older build is not mistaken for the new one.
SHORT_NAMES = {
    "tiny": ("tiny-llama-pydoc-v1", "python -m demo_models.tiny"),
    "smollm2": ("smollm2-135m-instruct-v1", "python -m demo_models.smollm2"),
}
# Written last by a build: a folder without it is an interrupted build.
BUILD_INFO = "build_info.json"


def resolve_source(name: str, cache_root: Path) -> str:
    """The path or hub id that ``from_pretrained`` gets for ``MODEL_NAME``."""
    if name in SHORT_NAMES:
        folder, command = SHORT_NAMES[name]
        path = Path(cache_root) / folder
        if not (path / BUILD_INFO).is_file():
            raise ModelLoadError(f"MODEL_NAME={name} is the folder {path}, which is not built: "
                                 f"build it with `{command}` (WORKER_CACHE_DIR={cache_root})")
        return str(path)
    path = Path(name).expanduser()
    if path.is_dir():
        return str(path)
    if name.startswith(("/", ".", "~")) or path.exists():
        # a path, not a hub id: say so, instead of the hub's complaint about repo ids
        raise ModelLoadError("no such model folder (MODEL_NAME is tiny, smollm2, "
                             "an existing model folder, or a hub id such as Qwen/Qwen2.5-0.5B-Instruct)")
    return name


@dataclass(frozen=True)
class ModelSource:
    """What ``from_pretrained`` gets, and the place it came from."""

    kind: str  # short name / folder / volume cache / runpod cache / baked / hub
    target: str  # a folder, or a hub id
    cache_dir: str | None = None  # a hub cache to load from, offline
    revision: str | None = None

    def load_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if self.cache_dir is not None:
            kwargs.update(cache_dir=self.cache_dir, local_files_only=True)
        if self.revision is not None:
            kwargs["revision"] = self.revision
        return kwargs


def split_revision(name: str) -> tuple[str, str | None]:
    """``org/name:rev`` -> (``org/name``, ``rev``); no colon -> (name, None)."""
    repo, colon, revision = name.rpartition(":")
    return (repo, revision or None) if colon and repo else (name, None)


def hub_snapshot(hub: Path, repo: str, revision: str | None = None) -> str | None:
    """The snapshot hash of ``repo`` in the hub cache ``hub`` that holds a model, or None."""
    snapshots = Path(hub) / ("models--" + repo.replace("/", "--")) / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = snapshots.parent / "refs" / (revision or "main")
    if ref.is_file():
        wanted = ref.read_text(encoding="utf-8").strip()
        return wanted if (snapshots / wanted / "config.json").is_file() else None
    if revision and (snapshots / revision / "config.json").is_file():
        return revision  # a commit hash given as the revision
    # No ref (a copied snapshot): the newest complete one.
    found = [p for p in snapshots.iterdir() if (p / "config.json").is_file()]
    return max(found, key=lambda p: p.stat().st_mtime).name if found else None


def runpod_cache_path(root: Path, name: str) -> Path:
    """``{root}/{model}/{revision}``, as the SDK's rp_model_cache.py template makes it."""
    repo, revision = split_revision(name)
    return Path(root) / repo / (revision or "main")


def default_baked_hub() -> Path:
    """The process's own hub cache (``HF_HUB_CACHE``, ``HF_HOME``/hub, ~/.cache/huggingface/hub)."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def find_source(name: str, settings: Settings, baked_hub: Path | None = None) -> ModelSource:
    """Where ``name`` loads from; see the module docstring for the order."""
    resolved = resolve_source(name, settings.cache_dir)  # raises for a missing folder
    if name in SHORT_NAMES:
        return ModelSource("short name", resolved)
    if Path(resolved).is_dir():
        return ModelSource("folder", resolved)
    repo, revision = split_revision(name)
    volume_hub = Path(settings.volume_dir) / VOLUME_HUB
    snapshot = hub_snapshot(volume_hub, repo, revision)
    if snapshot:
        return ModelSource("volume cache", repo, cache_dir=str(volume_hub), revision=snapshot)
    folder = runpod_cache_path(settings.sdk_model_cache, name)
    if (folder / "config.json").is_file():
        return ModelSource("runpod cache", str(folder))
    baked = Path(baked_hub) if baked_hub is not None else default_baked_hub()
    snapshot = hub_snapshot(baked, repo, revision)
    if snapshot:
        return ModelSource("baked", repo, cache_dir=str(baked), revision=snapshot)
    return ModelSource("hub", repo, revision=revision)
