"""Lesson 1's harness: loading a worker file, timing requests, showing source, plotting.

Contract:
- ``load_file(path)`` imports a Python file as a fresh module each call (a learner's
  edit to the file takes effect without restarting the kernel); importing runs the
  file's top level, so a worker without the ``__main__`` guard would start here.
- ``run_python(args, cwd=".", env=None)`` runs ``python ARGS`` as a subprocess with
  ``RUNPOD_SKIP_AUTO_SYSTEM_CHECKS=true`` (the SDK's automatic checks open a TCP
  connection to 8.8.8.8) and returns ``(CompletedProcess, seconds)``.
- ``time_fresh_processes(job_input, env, n)``: ``n`` requests, each in a fresh
  ``python -m worker --test_input`` process (what "load the model per request" costs:
  every request imports and loads everything); seconds per request, and each run's
  start-up phases from the worker's ``model.loaded`` log line.
- ``time_calls(fn, job, n)``: seconds of ``n`` in-process calls of ``fn(job)``.
- ``source(obj, start=None, stop=None)``: the source of ``obj`` (a function, class or
  module), optionally only the lines
  from the first containing ``start`` up to the first (after it) containing ``stop``.
- ``plot_latencies(per_request_s, loaded_once_s, title)``: the two series, log scale.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from worker.logs import split_log


def load_file(path: str | Path):
    path = Path(path)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_python(args: list[str], cwd: str | Path = ".", env: dict[str, str] | None = None,
               timeout: float = 600) -> tuple[subprocess.CompletedProcess, float]:
    full_env = {**os.environ, **(env or {}), "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=timeout)
    return done, time.perf_counter() - started


def time_fresh_processes(job_input: dict, env: dict[str, str], n: int) -> tuple[list[float], list[dict]]:
    seconds, phases = [], []
    root = Path(__file__).resolve().parent.parent
    for _ in range(n):
        done, s = run_python(["-m", "worker", "--test_input", json.dumps({"input": job_input})],
                             cwd=root, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"python -m worker failed:\n{done.stderr[-2000:]}")
        records, _ = split_log(done.stderr)
        loaded = next(r for r in records if r["message"] == "model.loaded")
        phases.append({k: loaded[k] for k in ("imports_s", "weights_s", "warmup_s")})
        seconds.append(s)
    return seconds, phases


def time_calls(fn: Callable[[dict], Any], job: dict, n: int) -> list[float]:
    seconds = []
    for _ in range(n):
        started = time.perf_counter()
        fn(job)
        seconds.append(time.perf_counter() - started)
    return seconds


def source(obj: Any, start: str | None = None, stop: str | None = None) -> str:
    lines = inspect.getsource(obj).splitlines()
    if start is not None:
        first = next(i for i, line in enumerate(lines) if start in line)
        last = len(lines) if stop is None else next(
            i for i, line in enumerate(lines) if i > first and stop in line)
        lines = lines[first:last]
    return "\n".join(lines).rstrip()


def plot_latencies(per_request_s: list[float], loaded_once_s: list[float], title: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    for values, marker, label in ((per_request_s, "o-", "a fresh process per request (loads the model)"),
                                  (loaded_once_s, "s-", "the model loaded once, in this process")):
        ax.plot(range(1, len(values) + 1), [s * 1000 for s in values], marker, label=label)
    ax.set_yscale("log")
    ax.set_xticks(range(1, max(len(per_request_s), len(loaded_once_s)) + 1))
    ax.set_xlabel("request")
    ax.set_ylabel("latency (ms, log scale)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    plt.show()
