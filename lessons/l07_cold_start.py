"""Lesson 7's measuring harness: start-up phases in a fresh process, memory per job, plots.

Contract:
- ``import_runpod_s()``: in a fresh Python process, the seconds of the CPU probe that
  ``import runpod`` runs (``cpuinfo.get_cpu_info()``), then of ``import runpod`` itself;
  returns ``{"cpu_probe_s", "import_runpod_s"}``.
- ``startup_phases(settings)``: in a fresh Python process, the loading steps of a worker
  timed one by one, each with how many modules it imported (an import hides inside a
  step that looks like something else: transformers imports its code lazily on first
  use). Returns ``[(label, seconds, modules_imported), ...]`` in order.
- ``memory_trace(handler, job, n, device)``: runs ``handler(job)`` ``n`` times and returns
  the memory where the model's tensors live after each job, in MiB: CUDA's allocated
  memory on ``cuda``, else the process's RSS (``worker.memory.snapshot``).
- ``cycle_steps(mib, device, actions)``: puts a ``mib`` MiB tensor in a reference cycle,
  then runs ``actions`` in order ("del", "gc.collect()", "torch.cuda.empty_cache()");
  returns ``[(step, used_mib, cuda_reserved_mib or None), ...]``, used relative to the
  start. The caller pauses the automatic collector around it.
- ``tensor_mib(outputs)``: MiB held by the scores and logits of ``generate`` outputs.
- ``full_collection_s()``: median seconds of a full ``gc.collect()``.
- ``tokens_per_s(model, ids, tokens, pad_token_id)``: greedy generation speed, the
  median of three runs after one warm-up; ``generate_timed`` times one generation.
- ``plot_phases`` and ``plot_lifecycle`` draw; they measure nothing.
"""

from __future__ import annotations

import gc
import json
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

from worker import memory

_PROBE = """
import json, time
t = time.perf_counter(); import cpuinfo; cpuinfo.get_cpu_info(); probe = time.perf_counter() - t
t = time.perf_counter(); import runpod; imported = time.perf_counter() - t
print(json.dumps({"cpu_probe_s": probe, "import_runpod_s": imported}))
"""

# The steps a worker's start-up runs, in a fresh process; each step is timed and its
# newly imported modules counted. argv: model folder or hub id, device, dtype name.
_PHASES = """
import json, sys, time
marks, t, n = [], time.perf_counter(), len(sys.modules)
def mark(label):
    global t, n
    marks.append((label, time.perf_counter() - t, len(sys.modules) - n)); t, n = time.perf_counter(), len(sys.modules)
import torch
mark("import torch")
import transformers
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
transformers.utils.logging.disable_progress_bar()
mark("import transformers")
source, device, dtype = sys.argv[1], sys.argv[2], getattr(torch, sys.argv[3])
config = AutoConfig.from_pretrained(source)
tokenizer = AutoTokenizer.from_pretrained(source)
mark("config and tokenizer")
model_class = AutoModelForCausalLM._model_mapping[type(config)]
mark("the model's code")
model = model_class.from_pretrained(source, config=config, dtype=dtype).to(device).eval()
mark("weights")
ids = tokenizer("Hello", return_tensors="pt").to(device)
with torch.inference_mode():
    model.generate(**ids, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.eos_token_id)
mark("warm-up")
print(json.dumps(marks))
"""


def _fresh_python(code: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"the fresh process failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def import_runpod_s() -> dict[str, float]:
    """Seconds of the CPU probe and of ``import runpod``, in a fresh process."""
    return json.loads(_fresh_python(_PROBE))


def startup_phases(settings: Any) -> list[tuple[str, float, int]]:
    """A worker's loading steps timed in a fresh process; see the module docstring."""
    from worker.model import pick_device, pick_dtype, resolve_source

    source = resolve_source(settings.model_name, settings.cache_dir)
    device = pick_device(settings.device)
    dtype = str(pick_dtype(settings.dtype, device)).removeprefix("torch.")
    return [tuple(m) for m in json.loads(_fresh_python(_PHASES, source, device, dtype))]


def _used(device: str) -> tuple[float, float | None]:
    snap = memory.snapshot()
    return (snap["cuda_allocated_mib"] if device == "cuda" else snap["rss_mib"]), snap["cuda_reserved_mib"]


def memory_trace(handler: Callable[[dict], Any], job: dict, n: int, device: str) -> list[float]:
    """Memory in MiB after each of ``n`` calls of ``handler(job)``; see the module docstring."""
    trace = []
    for _ in range(n):
        handler(job)
        trace.append(_used(device)[0])
    return trace


class _Holder:
    """An object that refers to itself: a reference cycle around a tensor."""

    def __init__(self, tensor: Any):
        self.tensor, self.me = tensor, self


def cycle_steps(mib: int, device: str, actions: list[str]) -> list[tuple[str, float, float | None]]:
    """A tensor in a reference cycle, then ``actions``; see the module docstring."""
    import torch

    run = {"del": lambda: box.clear(), "gc.collect()": gc.collect,
           "torch.cuda.empty_cache()": torch.cuda.empty_cache if device == "cuda" else (lambda: None)}
    start, _ = _used(device)
    rows = [("before", 0.0, _used(device)[1])]
    box = [_Holder(torch.ones(mib * 2**18, device=device))]   # float32: mib MiB
    rows.append(("a tensor in a reference cycle", _used(device)[0] - start, _used(device)[1]))
    for action in actions:
        run[action]()
        used, reserved = _used(device)
        rows.append((f"after {action}", used - start, reserved))
    return rows


def tensor_mib(outputs: list[Any]) -> float:
    """MiB held by the ``scores`` and ``logits`` of ``generate`` outputs."""
    return sum(t.numel() * t.element_size() for out in outputs for t in (*out.scores, *out.logits)) / 2**20


def full_collection_s(repeats: int = 3) -> float:
    """Median seconds of a full ``gc.collect()``."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        gc.collect()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def generate_timed(model: Any, ids: Any, tokens: int, pad_token_id: int | None) -> tuple[float, Any]:
    """Seconds for one greedy generation of exactly ``tokens`` tokens, and its token ids."""
    import torch

    cuda = ids["input_ids"].is_cuda
    if cuda:
        torch.cuda.synchronize()
    started = time.perf_counter()
    with torch.inference_mode():
        out = model.generate(**ids, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                             pad_token_id=pad_token_id)
    if cuda:
        torch.cuda.synchronize()
    return time.perf_counter() - started, out


def tokens_per_s(model: Any, ids: Any, tokens: int, pad_token_id: int | None, repeats: int = 3) -> float:
    """Median tokens per second of ``repeats`` generations, after one warm-up."""
    generate_timed(model, ids, tokens, pad_token_id)
    return statistics.median(tokens / generate_timed(model, ids, tokens, pad_token_id)[0] for _ in range(repeats))


def plot_phases(phases: list[tuple[str, float, int]], import_runpod: float) -> None:
    """One stacked bar of the phases, and ``import runpod`` alone beneath it."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 2.4))
    left = 0.0
    for (label, seconds, _), color in zip(phases, plt.cm.tab10.colors):
        ax.barh(["a fresh process"], [seconds], left=[left], color=color, label=label)
        left += seconds
    ax.barh(["import runpod alone"], [import_runpod], color="tab:gray")
    ax.set_xlabel("seconds")
    ax.invert_yaxis()
    ax.legend(fontsize=7, ncol=3, loc="lower right")
    fig.tight_layout()
    plt.show()


def plot_lifecycle(timeline: dict[str, Any], title: str) -> None:
    """Every worker and job of one local endpoint's run against time."""
    import matplotlib.pyplot as plt

    from lessons.timeline import plot_timeline

    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.35 * (len(timeline["workers"]) + len(timeline["jobs"]))))
    plot_timeline(ax, workers=timeline["workers"], jobs=timeline["jobs"])
    ax.set_xlabel("seconds since the first job arrived")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    plt.show()
