"""The model: resolved by name, loaded once, placed on a device, warmed up.

Contract:
- ``resolve_source(name, cache_root)``: a short name of ``SHORT_NAMES`` (``tiny``,
  ``smollm2``) is its folder under ``cache_root`` (``WORKER_CACHE_DIR``); the worker
  never builds one: a missing folder is a ``ModelLoadError`` naming the command that
  builds it (``demo_models``, beside this package). An existing folder is used as is;
  anything else is a hub id handed to ``from_pretrained`` (set ``HF_HUB_OFFLINE=1``
  where no hub is reachable, so a wrong name fails at once instead of hanging).
- ``pick_device``/``pick_dtype``: ``auto`` means CUDA when usable, else CPU; bfloat16
  on GPUs that support it, else float16; float32 on CPU. Asking for ``cuda`` where
  none is usable falls back to CPU with a warning rather than failing.
- ``load_model(settings)`` loads with the real ``AutoTokenizer`` /
  ``AutoModelForCausalLM.from_pretrained`` and returns a ``LoadedModel`` with the
  timings of each start-up phase (imports, weights, warm-up). Failures raise
  ``worker.errors.ModelLoadError`` naming the source.
- ``get_model(settings)`` loads on first call and returns the same object afterwards
  (thread-safe); it lives as long as the process. Importing this module imports neither
  torch nor transformers: they load inside ``load_model``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker import memory
from worker.config import Settings
from worker.errors import ModelLoadError
from worker.logs import log_event

# Short MODEL_NAMEs: the folder under WORKER_CACHE_DIR, and the command that builds it.
# The builders (demo_models/) write exactly these folders; bump a folder's suffix when
# its recipe changes, so that an older build is not mistaken for the new one.
SHORT_NAMES = {
    "tiny": ("tiny-llama-pydoc-v1", "python -m demo_models.tiny"),
    "smollm2": ("smollm2-135m-instruct-v1", "python -m demo_models.smollm2"),
}
# Written last by a build: a folder without it is an interrupted build.
BUILD_INFO = "build_info.json"
WARMUP_PROMPT = "Hello"


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


def pick_device(requested: str) -> str:
    import torch

    if requested in ("auto", "cuda"):
        if torch.cuda.is_available():
            return "cuda"
        if requested == "cuda":
            log_event("device.fallback", level=logging.WARNING, requested="cuda", used="cpu",
                      reason="torch.cuda.is_available() is False")
    return "cpu"


def pick_dtype(requested: str, device: str):
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


@dataclass
class LoadedModel:
    """A tokenizer and model on a device, with what it cost to get them there."""

    name: str
    source: str
    tokenizer: Any
    model: Any
    device: str
    dtype: str
    context_length: int
    timings: dict[str, float] = field(default_factory=dict)
    # One generate() at a time per model: concurrent jobs are merged by the batcher.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    batcher: Any = field(default=None, repr=False)  # worker.batching.Batcher, made on first use

    @property
    def has_chat_template(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    @property
    def eos_token_ids(self) -> set[int]:
        ids = self.model.generation_config.eos_token_id
        if ids is None:
            ids = self.tokenizer.eos_token_id
        if ids is None:
            return set()
        return set(ids) if isinstance(ids, (list, tuple)) else {int(ids)}

    @property
    def pad_token_id(self) -> int | None:
        pad = self.tokenizer.pad_token_id
        return pad if pad is not None else next(iter(self.eos_token_ids), None)


def load_model(settings: Settings) -> LoadedModel:
    """Load, place and warm up the model named by ``settings``; see the docstring."""
    t0 = time.perf_counter()
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    transformers.utils.logging.disable_progress_bar()  # its bar on stderr is noise in logs
    t_imports = time.perf_counter() - t0

    source = resolve_source(settings.model_name, settings.cache_dir)
    device = pick_device(settings.device)
    dtype = pick_dtype(settings.dtype, device)

    t1 = time.perf_counter()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    except Exception as exc:
        raise ModelLoadError(f"{source!r}: {type(exc).__name__}: {exc}") from exc
    model.to(device)
    model.eval()
    if device == "cuda":
        torch.cuda.synchronize()
    t_weights = time.perf_counter() - t1

    context = int(getattr(model.config, "max_position_embeddings", 0) or 0) or 2048
    lm = LoadedModel(
        name=settings.model_name, source=source, tokenizer=tokenizer, model=model,
        device=device, dtype=str(dtype).removeprefix("torch."), context_length=context,
        timings={"imports_s": t_imports, "weights_s": t_weights, "warmup_s": 0.0},
    )
    if settings.warmup:
        t2 = time.perf_counter()
        warm_up(lm)
        lm.timings["warmup_s"] = time.perf_counter() - t2
    lm.timings["total_s"] = time.perf_counter() - t0
    log_event("model.loaded", model=settings.model_name, device=device, dtype=lm.dtype,
              **{k: round(v, 4) for k, v in lm.timings.items()})
    return lm


def warm_up(lm: LoadedModel) -> None:
    """One short greedy generation: the first call pays for lazy kernels and caches."""
    import torch

    ids = lm.tokenizer(WARMUP_PROMPT, return_tensors="pt").to(lm.device)
    with torch.inference_mode():
        lm.model.generate(**ids, max_new_tokens=4, do_sample=False, pad_token_id=lm.pad_token_id)


_MODEL: LoadedModel | None = None
_MODEL_LOCK = threading.Lock()


def get_model(settings: Settings | None = None, *, freeze: bool = True) -> LoadedModel:
    """The process's model, loaded on first call; see the module docstring.

    ``freeze``: once loaded, exempt everything alive from later garbage collections
    (``worker.memory.freeze_long_lived``); the entry point passes False and freezes
    itself once the SDK is imported too.
    """
    global _MODEL
    if _MODEL is None:
        with _MODEL_LOCK:
            if _MODEL is None:
                _MODEL = load_model(settings or Settings.from_env())
                if freeze:
                    # What is alive now lives as long as the process: keep the per-job
                    # collection from scanning it again and again.
                    memory.freeze_long_lived()
    return _MODEL


def is_loaded() -> bool:
    """Whether ``get_model`` would return without loading."""
    return _MODEL is not None

