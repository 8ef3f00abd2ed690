"""Benchmark 3: cold start, from process start to the worker ready and its first job done.

Contenders, each a fresh process per repetition, interleaved:
- the floor: a bare Python process that imports torch and transformers and loads the
  same model folder (``from_pretrained``), then stops: nothing a worker could skip;
- this worker, ``python -m worker``, cold-started by the local endpoint for a queued
  job: spawn -> ready (its first job-take) -> first job done;
- an import-first start-up, common in worker templates (``bench/handlers/import_first.py``): ``import
  runpod`` first, the model loaded at import, everything in sequence;
- this worker on runpod 2.0.0rc2 (``common.runpod2_python()``, the same torch and
  transformers): its ``import runpod`` is lazy and has no CPU probe, and its job
  runner starts the first job without the 0.1 s poll.
The breakdown of this worker's start (imports, weights, warm-up, the rest) comes from
its own ``model.loaded`` and ``worker.ready`` log lines; the import costs of runpod,
torch and transformers are also measured alone, each in a bare process, and so are
runpod 2.0.0rc2's ``import runpod`` and ``import runpod.serverless`` (what the worker
imports in the background).

Usage: python bench/cold_start.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import common

FLOOR = """
import sys, time
t0 = time.perf_counter()
import torch, transformers
from transformers import AutoModelForCausalLM, AutoTokenizer
t1 = time.perf_counter()
AutoTokenizer.from_pretrained(sys.argv[1]); AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32)
print("LOADED", t1 - t0, time.perf_counter() - t1, flush=True)
"""
IMPORT_ALONE = "import time; t = time.perf_counter(); import {m}; print(time.perf_counter() - t)"
OURS2 = f"this worker, {common.RUNPOD2_LABEL}"


def floor(path: str) -> dict:
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", FLOOR, path], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, HF_HUB_OFFLINE="1"))
    for line in proc.stdout:
        if line.startswith("LOADED"):
            done = time.perf_counter() - t
            _, imports, weights = line.split()
            proc.wait()
            return {"first_job_s": done, "ready_s": done, "imports_s": float(imports), "weights_s": float(weights)}
    raise RuntimeError("the floor process did not load the model")


def via_endpoint(command: list[str], env: dict[str, str]) -> dict:
    from local_endpoint import LocalEndpoint
    from worker.logs import split_log

    with LocalEndpoint(command, min_workers=0, max_workers=1, idle_timeout=3600, install=False,
                       worker_env={"RUNPOD_LOG_LEVEL": "ERROR", **env}) as ep:
        ep.endpoint().run_sync({"prompt": "Hello", "max_tokens": 8, "temperature": 0}, timeout=300)
        timeline = ep.timeline()
        logs = "\n".join(ep.worker_logs().values())
    (worker,) = timeline["workers"]
    (job,) = timeline["jobs"]
    out = {"ready_s": worker["ready"] - worker["spawned"], "first_job_s": job["finished"] - worker["spawned"]}
    records, _ = split_log(logs)
    for rec in records:
        if rec.get("message") == "model.loaded":
            out.update({k: rec[k] for k in ("imports_s", "weights_s", "warmup_s")})
        if rec.get("message") == "worker.ready":
            out["startup_s"] = rec["startup_s"]
    return out


def import_alone(module: str, python: str = sys.executable) -> float:
    done = subprocess.run([python, "-c", IMPORT_ALONE.format(m=module)], capture_output=True, text=True,
                          check=True)
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    reps = 2 if args.quick else 5
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from worker.config import Settings
    from worker.model import resolve_source

    settings = Settings.from_env()
    path = resolve_source(settings.model_name, settings.cache_dir)
    py = sys.executable
    py2 = common.runpod2_python()
    contenders = {
        "floor: bare import + from_pretrained": lambda: floor(path),
        "this worker (python -m worker)": lambda: via_endpoint([py, "-m", "worker"], {"LOG_LEVEL": "INFO"}),
        "import-first start-up": lambda: via_endpoint([py, str(common.BENCH / "handlers" / "import_first.py")],
                                                         {"BENCH_MODEL_PATH": path}),
        OURS2: lambda: via_endpoint([py2, "-m", "worker"], {"LOG_LEVEL": "INFO"}),
    }
    samples = common.interleave(contenders, reps)
    imports = common.interleave({**{m: (lambda m=m: import_alone(m)) for m in ("runpod", "torch", "transformers")},
                                 **{f"{m} ({common.RUNPOD2_LABEL})": (lambda m=m: import_alone(m, py2))
                                    for m in ("runpod", "runpod.serverless")}}, reps)

    first = {n: common.summary([s["first_job_s"] for s in v]) for n, v in samples.items()}
    ready = {n: common.summary([s["ready_s"] for s in v]) for n, v in samples.items()}
    base = "floor: bare import + from_pretrained"
    ratios = common.table("cold start: process start to first job done", list(first.items()), "s", baseline=base)
    common.table("cold start: process start to ready (first job-take)", list(ready.items()), "s", baseline=base)
    imp = {m: common.summary(v) for m, v in imports.items()}
    common.table("imports alone, each in a bare process", list(imp.items()), "s")
    ours = samples["this worker (python -m worker)"]
    breakdown = {k: common.summary([s[k] for s in ours if k in s])["median"]
                 for k in ("imports_s", "weights_s", "warmup_s", "startup_s")}
    breakdown["after ready, to first job done_s"] = first["this worker (python -m worker)"]["median"] - \
        ready["this worker (python -m worker)"]["median"]
    print("\nthis worker's start, median seconds:", {k: round(v, 3) for k, v in breakdown.items()})
    ratio = first["this worker (python -m worker)"]["median"] / first[base]["median"]
    ratio2 = first[OURS2]["median"] / first[base]["median"]
    targets = {"cold_start_over_floor": common.target(ratio, 1.3, False,
                                                      "this worker's spawn-to-first-job-done over the floor"),
               "runpod2_cold_start_over_floor": common.target(
                   ratio2, 1.2, False, f"{common.RUNPOD2_LABEL}: this worker's spawn-to-first-job-done over the floor")}
    print(f"target: worker ({common.RUNPOD2_LABEL}) / floor = {ratio2:.3f} "
          f"(limit 1.2, {'met' if targets['runpod2_cold_start_over_floor']['met'] else 'NOT met'})")
    ours2 = samples[OURS2]
    breakdown2 = {k: common.summary([s[k] for s in ours2 if k in s])["median"]
                  for k in ("imports_s", "weights_s", "warmup_s", "startup_s")}
    breakdown2["after ready, to first job done_s"] = first[OURS2]["median"] - ready[OURS2]["median"]
    print(f"this worker's start on {common.RUNPOD2_LABEL}, median seconds:",
          {k: round(v, 3) for k, v in breakdown2.items()})
    print(f"\ntarget: worker / floor = {ratio:.3f} (limit 1.3, {'met' if targets['cold_start_over_floor']['met'] else 'NOT met'})")
    floor_parts = {k: common.summary([s[k] for s in samples[base]])["median"] for k in ("imports_s", "weights_s")}
    plot(first, ready, imp, breakdown, floor_parts)
    common.save("cold_start", {
        "unit": "s", "model": settings.model_name, "contenders": list(first),
        "median": {k: round(v["median"], 3) for k, v in first.items()},
        "p95": {k: round(v["p95"], 3) for k, v in first.items()},
        "ready_median": {k: round(v["median"], 3) for k, v in ready.items()},
        "ratios": ratios, "imports_alone_median": {k: round(v["median"], 3) for k, v in imp.items()},
        "worker_breakdown_median": {k: round(v, 3) for k, v in breakdown.items()},
        "runpod2_worker_breakdown_median": {k: round(v, 3) for k, v in breakdown2.items()},
        "floor_breakdown_median": {k: round(v, 3) for k, v in floor_parts.items()},
        "targets": targets, "plot": "bench/cold_start.png",
    })


def plot(first: dict, ready: dict, imp: dict, breakdown: dict, floor_parts: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    names = list(first)
    axes[0].barh(names, [ready[n]["median"] for n in names], color="#4477aa", label="to ready")
    axes[0].barh(names, [first[n]["median"] - ready[n]["median"] for n in names],
                 left=[ready[n]["median"] for n in names], color="#ddcc77", label="ready to first job done")
    axes[0].set_xlabel("seconds from process start (median)")
    axes[0].invert_yaxis()
    axes[0].legend(fontsize=8, loc="lower right")
    parts = [("imports (torch, transformers; runpod alongside)", breakdown["imports_s"]),
             ("weights", breakdown["weights_s"]), ("warm-up", breakdown["warmup_s"]),
             ("rest of start-up", max(0.0, breakdown["startup_s"] - breakdown["imports_s"]
                                      - breakdown["weights_s"] - breakdown["warmup_s"])),
             ("first job", breakdown["after ready, to first job done_s"])]
    left = 0.0
    for (label, value), color in zip(parts, ["#4477aa", "#66ccee", "#228833", "#ccbb44", "#ee6677"]):
        axes[1].barh(["this worker"], [value], left=[left], color=color, label=label)
        left += value
    left = 0.0
    for (label, value), color in zip([("imports", floor_parts["imports_s"]), ("weights", floor_parts["weights_s"])],
                                     ["#4477aa", "#66ccee"]):
        axes[1].barh(["floor"], [value], left=[left], color=color)
        left += value
    axes[1].barh(["import runpod alone"], [imp["runpod"]["median"]], color="#aa3377")
    axes[1].set_xlabel("seconds (median); interpreter start not shown")
    axes[1].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    axes[1].invert_yaxis()
    fig.tight_layout()
    fig.savefig(common.BENCH / "cold_start.png", dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
