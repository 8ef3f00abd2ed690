"""Benchmark 4: concurrency. An async I/O handler at concurrency 1 to 16 against the
ideal, and concurrent generation requests served one by one against batched.

Part A, ``asyncio.sleep(0.1)`` jobs, all queued at once, measured from the first
submission to the last completion (the endpoint's own timestamps):
- stock: ``concurrency_modifier`` answers the concurrency (the SDK's documented way);
- ours: ``worker.sdk.start_config`` (the SDK is told MAX_CONCURRENCY, the jobs a
  worker may hold) with ``limit_concurrency(handler, c)`` (how many run at once);
- ideal: jobs x 0.1 s / concurrency;
- at the target point also stock and ours with the worker on runpod 2.0.0rc2
  (``common.runpod2_python()``): no 0.1 s poll in its job runner, the same take loop.
Part B, 8 clients each asking for ``--gen-tokens`` greedy tokens of a different
prompt, through the local endpoint to this worker with BATCH_SIZE=1 (one by one) and
BATCH_SIZE=8 (batched): total completion tokens per second of wall time.

Usage: python bench/concurrency.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import common

HANDLERS = common.BENCH / "handlers"
SLEEP_S = 0.1
SWEEP_JOBS = 16  # per point of the sweep: the stock worker at concurrency 1 takes about a second a job
HOLD = 128  # MAX_CONCURRENCY for "ours": above twice the jobs queued at once (see worker.sdk)
PROMPTS = ["The Python language", "A list is", "def main():\n", "Exceptions are", "import os", "Classes",
           "The for statement", "Strings are"]


def endpoint(command, env, **kw):
    from local_endpoint import LocalEndpoint

    return LocalEndpoint(command, min_workers=1, max_workers=1, idle_timeout=3600, install=False,
                         worker_env={"RUNPOD_LOG_LEVEL": "ERROR", "LOG_LEVEL": "WARNING", **env}, **kw)


def burst(ep, jobs: int) -> float:
    """Queue ``jobs`` sleep jobs at once; seconds from the first submission to the last end."""
    client = ep.endpoint()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda _: client.run({"seconds": SLEEP_S}).job_id, range(jobs)))
    ep.wait_for(lambda h: h["jobs"]["inQueue"] == 0 and h["jobs"]["inProgress"] == 0, timeout=600)
    mine = [j for j in ep.timeline()["jobs"] if j["id"] in set(ids)]
    assert len(mine) == jobs and all(j["status"] == "COMPLETED" for j in mine)
    return max(j["finished"] for j in mine) - min(j["created"] for j in mine)


def generation_round(ep) -> float:
    """8 clients at once, one request each: total completion tokens per second."""
    client = ep.endpoint()
    t = time.perf_counter()
    with ThreadPoolExecutor(len(PROMPTS)) as pool:
        outs = list(pool.map(lambda p: client.run_sync({"prompt": p, "max_tokens": GEN_TOKENS, "temperature": 0},
                                                       timeout=600), PROMPTS))
    secs = time.perf_counter() - t
    return sum(o[0]["usage"]["completion_tokens"] for o in outs) / secs


GEN_TOKENS = 128


def main() -> None:
    global GEN_TOKENS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--gen-tokens", type=int, default=128)
    args = parser.parse_args()
    GEN_TOKENS = args.gen_tokens
    reps = 1 if args.quick else 3
    levels = [1, 2, 4, 8, 16]
    py = sys.executable
    io_cmd = [py, str(HANDLERS / "io_sleep.py")]

    # Part A: the sweep, then the target point (64 jobs at concurrency 8) repeated.
    sweep: dict[str, dict[int, float]] = {"stock": {}, "ours": {}}
    for c in levels:
        eps = {cfg: endpoint(io_cmd, {"BENCH_CONFIG": cfg, "BENCH_CONCURRENCY": str(c), "MAX_CONCURRENCY": str(HOLD)})
               for cfg in sweep}
        for ep in eps.values():
            ep.start()
        try:
            for ep in eps.values():
                ep.wait_for(lambda h: h["workers"]["idle"] >= 1, timeout=120)
            for cfg, ep in eps.items():
                burst(ep, 4)  # warm
                sweep[cfg][c] = burst(ep, SWEEP_JOBS)
        finally:
            for ep in eps.values():
                ep.close()
        print(f"concurrency {c}: " + ", ".join(f"{cfg} {sweep[cfg][c]:.2f} s" for cfg in sweep)
              + f", ideal {SWEEP_JOBS * SLEEP_S / c:.2f} s ({SWEEP_JOBS} jobs)", flush=True)

    io_cmd2 = [common.runpod2_python(), str(HANDLERS / "io_sleep.py")]
    point_configs = {cfg: (io_cmd, cfg) for cfg in ("stock", "ours", "ours-patched")}
    point_configs.update({f"{common.RUNPOD2_LABEL} {cfg}": (io_cmd2, cfg) for cfg in ("stock", "ours")})
    eps = {name: endpoint(cmd, {"BENCH_CONFIG": cfg, "BENCH_CONCURRENCY": "8", "MAX_CONCURRENCY": str(HOLD)})
           for name, (cmd, cfg) in point_configs.items()}
    for ep in eps.values():
        ep.start()
    try:
        for ep in eps.values():
            ep.wait_for(lambda h: h["workers"]["idle"] >= 1, timeout=120)
            burst(ep, 8)
        point = common.interleave({cfg: (lambda ep=ep: burst(ep, 64)) for cfg, ep in eps.items()}, reps)
    finally:
        for ep in eps.values():
            ep.close()
    point_s = {f"{cfg}: 64 jobs at concurrency 8": common.summary(v) for cfg, v in point.items()}
    point_s["ideal"] = common.summary([64 * SLEEP_S / 8])
    ratios_a = common.table("64 async jobs of 0.1 s at concurrency 8: wall time", list(point_s.items()), "s",
                            baseline="ideal")

    # Part B: batching.
    geps = {name: endpoint([py, "-m", "worker"], {"BATCH_SIZE": size})
            for name, size in (("one by one (BATCH_SIZE=1)", "1"), ("batched (BATCH_SIZE=8)", "8"))}
    for ep in geps.values():
        ep.start()
    try:
        for ep in geps.values():
            ep.wait_for(lambda h: h["workers"]["idle"] >= 1, timeout=180)
            generation_round(ep)  # warm
        gen = common.interleave({name: (lambda ep=ep: generation_round(ep)) for name, ep in geps.items()}, reps)
    finally:
        for ep in geps.values():
            ep.close()
    gen_s = {name: common.summary(v) for name, v in gen.items()}
    ratios_b = common.table(f"8 concurrent generation requests ({GEN_TOKENS} tokens each): total tokens/s",
                            list(gen_s.items()), "/s", baseline="one by one (BATCH_SIZE=1)", higher_is_better=True)

    ours64 = point_s["ours: 64 jobs at concurrency 8"]["median"]
    speedup = gen_s["batched (BATCH_SIZE=8)"]["median"] / gen_s["one by one (BATCH_SIZE=1)"]["median"]
    targets = {
        "async_64_jobs_at_8_s": common.target(ours64, 1.2, False, "64 async 0.1 s jobs at concurrency 8, our config"),
        "batching_speedup_at_8": common.target(speedup, 2.0, True, "batched / one-by-one total tokens/s, 8 requests"),
    }
    print("\ntargets:")
    for name, t in targets.items():
        print(f"  {name}: {t['value']} (limit {t['limit']}, {'met' if t['met'] else 'NOT met'})")
    plot(sweep, levels, point_s, gen_s)
    common.save("concurrency", {
        "unit": "s", "contenders": list(point_s),
        "median": {k: round(v["median"], 3) for k, v in point_s.items()},
        "p95": {k: round(v["p95"], 3) for k, v in point_s.items()},
        "ratios": ratios_a,
        "sweep_jobs": SWEEP_JOBS,
        "sweep_s": {cfg: {str(c): round(v, 3) for c, v in d.items()} for cfg, d in sweep.items()},
        "sweep_ideal_s": {str(c): round(SWEEP_JOBS * SLEEP_S / c, 3) for c in levels},
        "our_max_concurrency": HOLD,
        "batching_tokens_per_s": {"median": {k: round(v["median"], 1) for k, v in gen_s.items()},
                                  "p95": {k: round(v["p95"], 1) for k, v in gen_s.items()}, "ratios": ratios_b,
                                  "tokens_per_request": GEN_TOKENS},
        "targets": targets, "plot": "bench/concurrency.png",
    })


def plot(sweep, levels, point_s, gen_s) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    ax = axes[0]
    ideal = [c / SLEEP_S for c in levels]
    ax.plot(levels, ideal, "k--", label="ideal")
    for cfg, style in (("stock", "o-"), ("ours", "s-")):
        ax.plot(levels, [SWEEP_JOBS / sweep[cfg][c] for c in levels], style,
                label=f"SDK worker, {'our' if cfg == 'ours' else cfg} config")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(levels, [str(c) for c in levels])
    ax.set_xlabel("concurrency (jobs running at once)")
    ax.set_ylabel("jobs per second (0.1 s async jobs)")
    ax.legend(fontsize=8)
    names = list(gen_s)
    axes[1].barh(names, [gen_s[n]["median"] for n in names], color=["#999", "#4477aa"])
    axes[1].set_xlabel("total tokens per second, 8 concurrent requests")
    for y, n in enumerate(names):
        axes[1].text(gen_s[n]["median"], y, f" {gen_s[n]['median']:.0f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(common.BENCH / "concurrency.png", dpi=110)


if __name__ == "__main__":
    main()
