"""Shared by the benchmarks: the machine, interleaved timing, summaries, results.json.

Contract:
- ``interleave(contenders, reps)`` runs every contender once per repetition, in a
  rotated order each time (so that drift and noise on this shared machine fall on all
  of them alike), and returns each one's samples.
- ``summary(samples)``: median, p95, min, n.
- ``save(name, result)`` writes one benchmark's object into ``bench/results.json``
  (keeping the others), with the machine it ran on and when, and remakes README's
  results table from it (``report.write_readme``); every object carries
  ``contenders``, ``median``, ``p95``, ``ratios`` and ``targets`` (each target:
  ``value``, ``limit``, ``higher_is_better``, ``met``).
- ``table(...)`` prints the side-by-side table with ratios.
- ``runpod2_python()``: the interpreter of the virtualenv that holds runpod
  ``RUNPOD2`` (``.venv-runpod-2.0.0rc2``, made by ``make bench``; or
  ``BENCH_RUNPOD2_PYTHON``), checked to hold that release; its workers are the
  "runpod 2.0.0rc2" contenders, measured in the same runs as the pinned 1.12.0.
Importing it starts nothing.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results.json"
README = ROOT / "README.md"
sys.path.insert(0, str(ROOT))


RUNPOD2 = "2.0.0rc2"
RUNPOD2_LABEL = f"runpod {RUNPOD2}"


def runpod2_python() -> str:
    """The python whose runpod is ``RUNPOD2``; exits with the command that makes it."""
    import subprocess

    path = os.environ.get("BENCH_RUNPOD2_PYTHON") or str(ROOT / f".venv-runpod-{RUNPOD2}" / "bin" / "python")
    found = None
    if os.access(path, os.X_OK):
        done = subprocess.run([path, "-c", "from importlib.metadata import version; print(version('runpod'))"],
                              capture_output=True, text=True)
        found = done.stdout.strip() if done.returncode == 0 else None
    if found != RUNPOD2:
        raise SystemExit(f"{path} does not hold runpod {RUNPOD2} (found: {found}): "
                         f"run `make bench`, or `make test RUNPOD_VERSION={RUNPOD2}`, which make it")
    return path


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
                            "os": f"{platform.system()} {platform.release()}"}
    try:
        import psutil

        info["ram_gib"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    from importlib.metadata import version

    for pkg in ("runpod", "torch", "transformers"):
        info[pkg] = version(pkg)
    info["runpod_second_line"] = RUNPOD2  # the "runpod 2.0.0rc2" contenders' workers
    # how busy the machine was (1, 5 and 15 minute load averages) when the figures were saved
    info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    import torch

    info["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return info


def interleave(contenders: dict[str, Callable[[], Any]], reps: int) -> dict[str, list[Any]]:
    """Run each contender once per rep, rotating the order; see the module docstring."""
    names = list(contenders)
    samples: dict[str, list[Any]] = {n: [] for n in names}
    for rep in range(reps):
        order = names[rep % len(names):] + names[: rep % len(names)]
        for name in order:
            result = contenders[name]()
            if isinstance(result, list):
                samples[name].extend(result)
            else:
                samples[name].append(result)
    return samples


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "p95": percentile(values, 0.95), "min": min(values),
            "n": len(values)}


def target(value: float, limit: float, higher_is_better: bool, what: str) -> dict[str, Any]:
    met = value >= limit if higher_is_better else value <= limit
    return {"value": round(value, 4), "limit": limit, "higher_is_better": higher_is_better, "met": met,
            "what": what}


def save(name: str, result: dict[str, Any]) -> None:
    """Write one benchmark's object into results.json, keeping the others."""
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    result = {**result, "machine": machine(), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    data[name] = result
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    # The README's table is made from this file: remake it now, or the test that
    # compares the two fails after any benchmark run.
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    import report

    try:
        report.write_readme(RESULTS, README)
    except KeyError as missing:  # a first run: not every benchmark has results yet
        print(f"README table not updated yet: results.json has no {missing} (run make bench)")


def table(title: str, rows: list[tuple[str, dict[str, float]]], unit: str, baseline: str | None = None,
          higher_is_better: bool = False) -> dict[str, float]:
    """Print medians/p95 side by side; ratios against ``baseline``. Returns the ratios."""
    print(f"\n{title}")
    base = dict(rows)[baseline]["median"] if baseline else None
    ratios: dict[str, float] = {}
    width = max(len(name) for name, _ in rows)
    print(f"  {'contender':<{width}}  {'median':>12}  {'p95':>12}  {'n':>4}  ratio")
    for name, s in rows:
        ratio = ""
        if base:
            r = (s["median"] / base) if not higher_is_better else (s["median"] / base)
            ratios[name] = round(r, 3)
            ratio = f"{r:8.2f}x"
        print(f"  {name:<{width}}  {s['median']:>10.3f}{unit:>2}  {s['p95']:>10.3f}{unit:>2}  {s['n']:>4}  {ratio}")
    return ratios
