"""Benchmark 2: streaming with the default model, from the model to the client.

Contenders, side by side (interleaved repetitions), greedy decoding of the same prompt
for the same ``max_tokens``:
- plain ``model.generate`` (no streamer), in this process: the ceiling;
- this worker's streaming handler in this process (``async_handler``, ``stream: true``);
- end to end through the local endpoint to the client, polling ``/stream`` with
  ``lessons.client.stream_outputs`` (asks again at once after every chunk);
- end to end with the SDK's ``Job.stream()`` (it sleeps 1 s before every poll);
- end to end, fast polling, with the worker on runpod 2.0.0rc2
  (``common.runpod2_python()``; the client and the endpoint stay on 1.12.0).
Tokens per second is completion tokens over the time from the request to the client
holding its last chunk. Time to
the first chunk is measured in the worker (``first_token_s``) and at the client with
both polling loops. This machine's speed drifts by tens of per cent from minute to
minute, so the target compares each end-to-end run with the plain run of the same
repetition and takes the median of those ratios.

Where the end-to-end run's remaining time goes, per run with fast polling
(``gap_ms``): from the request to the handler's start (the /run call, the
job-take, the SDK's dispatch: ``finished - total_s - created``, which also holds the
final chunk's and the result's posts), the handler's own time beyond plain
``generate`` (``total_s`` minus the plain run's seconds in the same repetition), and
from the job done to the client holding it; beside them the CPU seconds this process
(the client's polling and the endpoint's server) spent during the run, taken from
the two cores the model runs on.

Usage: python bench/streaming.py [--quick] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

import common

PROMPT = "The Python language"
E2E2 = f"end to end, fast /stream polling, {common.RUNPOD2_LABEL}"


def gap(e2e: list[dict], plain: list[dict], in_process: list[dict]) -> dict[str, float]:
    """Medians (ms) of where each end-to-end run's wall time beyond the plain run of the
    same repetition goes; see the module docstring."""
    rows = []
    for e, p, h in zip(e2e, plain, in_process):
        plain_s = p["tokens"] / p["tps"]
        rows.append({
            "beyond plain generate": e["secs"] - plain_s,
            "request to handler start": e["to_handler_start_s"],
            "handler beyond plain generate": e["handler_s"] - plain_s,
            "of which generate_s beyond plain": e["generate_s"] - plain_s,
            "in-process handler beyond plain (same repetition)": h["tokens"] / h["tps"] - plain_s,
            "job done to client's last chunk": e["done_to_client_s"],
            "client and endpoint CPU time": e["client_and_endpoint_cpu_s"],
        })
    return {k: round(common.summary([r[k] * 1000 for r in rows])["median"], 1) for k in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--max-tokens", type=int, default=1024)
    args = parser.parse_args()
    reps = 2 if args.quick else 15
    n = args.max_tokens
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from local_endpoint import LocalEndpoint
    from lessons.client import stream_outputs
    from worker.config import Settings, use_settings
    from worker.handler import async_handler
    from worker.model import get_model

    settings = Settings.from_env({k: v for k, v in os.environ.items() if k in ("XDG_CACHE_HOME", "WORKER_CACHE_DIR")})
    use_settings(settings)
    lm = get_model(settings)
    import torch

    inputs = lm.tokenizer(PROMPT, return_tensors="pt").to(lm.device)
    request = {"prompt": PROMPT, "max_tokens": n, "temperature": 0, "stream": True}

    def plain() -> dict:
        t = time.perf_counter()
        with torch.inference_mode():
            out = lm.model.generate(**inputs, max_new_tokens=n, do_sample=False, pad_token_id=lm.pad_token_id)
        tokens = out.shape[1] - inputs["input_ids"].shape[1]
        return {"tps": tokens / (time.perf_counter() - t), "tokens": tokens}

    def in_process() -> dict:
        async def go():
            t = time.perf_counter()
            last = None
            async for chunk in async_handler({"id": "bench", "input": request}):
                last = chunk
            return last, time.perf_counter() - t
        last, secs = asyncio.run(go())
        return {"tps": last["usage"]["completion_tokens"] / secs, "tokens": last["usage"]["completion_tokens"],
                "worker_first_chunk_s": last["timings"]["first_token_s"]}

    worker_env = {"LOG_LEVEL": "WARNING", "RUNPOD_LOG_LEVEL": "ERROR"}
    py2 = common.runpod2_python()
    with LocalEndpoint(min_workers=1, max_workers=1, idle_timeout=3600, install=False,
                       worker_env=worker_env) as ep, \
            LocalEndpoint([py2, "-m", "worker"], min_workers=1, max_workers=1, idle_timeout=3600, install=False,
                          worker_env=worker_env) as ep2:
        for e in (ep, ep2):
            e.wait_for(lambda h: h["workers"]["idle"] >= 1, timeout=180)

        def end_to_end(e, sdk_stream: bool) -> dict:
            client = e.endpoint()
            t, t_wall, cpu = time.perf_counter(), time.time(), time.process_time()
            job = client.run(request)
            first = None
            chunks = job.stream() if sdk_stream else stream_outputs(job)
            last = None
            for chunk in chunks:
                if first is None:
                    first = time.perf_counter() - t
                last = chunk
            secs = time.perf_counter() - t
            end_wall, cpu = time.time(), time.process_time() - cpu
            tokens = last["usage"]["completion_tokens"]
            (record,) = [j for j in e.timeline()["jobs"] if j["id"] == job.job_id]
            handler_start = record["finished"] - last["timings"]["total_s"]
            return {"tps": tokens / secs, "tokens": tokens, "client_first_chunk_s": first,
                    "worker_first_chunk_s": last["timings"]["first_token_s"], "secs": secs,
                    "to_handler_start_s": handler_start - t_wall, "handler_s": last["timings"]["total_s"],
                    "generate_s": last["timings"]["generate_s"], "done_to_client_s": end_wall - record["finished"],
                    "client_and_endpoint_cpu_s": cpu}

        contenders = {
            "plain model.generate": plain,
            "our handler, in process": in_process,
            "end to end, fast /stream polling": lambda: end_to_end(ep, False),
            "end to end, SDK Job.stream()": lambda: end_to_end(ep, True),
            E2E2: lambda: end_to_end(ep2, False),
        }
        for c in contenders.values():
            c()  # warm-up
        samples = common.interleave(contenders, reps)

    tps = {name: common.summary([s["tps"] for s in v]) for name, v in samples.items()}
    tokens = {name: sorted({s["tokens"] for s in v}) for name, v in samples.items()}
    ratios = common.table(f"tokens per second, {n} new tokens (greedy)", list(tps.items()), "/s",
                          baseline="plain model.generate", higher_is_better=True)
    ttfc = {
        "worker (first token decoded)": common.summary([s["worker_first_chunk_s"] * 1000
                                                        for s in samples["end to end, fast /stream polling"]]),
        "client, fast /stream polling": common.summary([s["client_first_chunk_s"] * 1000
                                                        for s in samples["end to end, fast /stream polling"]]),
        f"client, fast /stream polling, {common.RUNPOD2_LABEL}": common.summary(
            [s["client_first_chunk_s"] * 1000 for s in samples[E2E2]]),
        "client, SDK Job.stream()": common.summary([s["client_first_chunk_s"] * 1000
                                                    for s in samples["end to end, SDK Job.stream()"]]),
    }
    common.table("time to the first chunk", list(ttfc.items()), "ms")
    print("completion tokens per contender:", tokens)
    # This machine's speed drifts by tens of per cent from minute to minute: the target
    # compares each end-to-end run with the plain run of the same repetition.
    paired = [e["tps"] / p["tps"] for e, p in zip(samples["end to end, fast /stream polling"],
                                                  samples["plain model.generate"])]
    e2e = common.summary(paired)["median"]
    print(f"end to end / plain, per repetition: {[round(r, 3) for r in paired]}")
    paired2 = [e["tps"] / p["tps"] for e, p in zip(samples[E2E2], samples["plain model.generate"])]
    e2e2 = common.summary(paired2)["median"]
    print(f"end to end ({common.RUNPOD2_LABEL}) / plain, per repetition: {[round(r, 3) for r in paired2]}")
    in_process = [h["tps"] / p["tps"] for h, p in zip(samples["our handler, in process"], samples["plain model.generate"])]
    print(f"in process / plain, per repetition: {[round(r, 3) for r in in_process]}; "
          f"median {common.summary(in_process)['median']:.3f}")
    gaps = {line: gap(samples[name], samples["plain model.generate"], samples["our handler, in process"])
            for line, name in (("runpod 1.12.0", "end to end, fast /stream polling"), (common.RUNPOD2_LABEL, E2E2))}
    print("\nwhere the end-to-end run's time beyond plain generate goes (medians, ms):")
    for line, parts in gaps.items():
        print(f"  {line}: " + ", ".join(f"{k} {v}" for k, v in parts.items()))
    targets = {"end_to_end_fraction_of_plain_generate": common.target(
        e2e, 0.9, True, "end-to-end streaming tokens/s (request to the client's last chunk) over plain "
                        "model.generate tokens/s, median of the per-repetition ratios"),
               "runpod2_end_to_end_fraction_of_plain_generate": common.target(
        e2e2, 0.9, True, f"{common.RUNPOD2_LABEL}: end-to-end streaming tokens/s over plain model.generate "
                         "tokens/s, median of the per-repetition ratios")}
    print(f"\ntarget: end to end / plain = {e2e:.3f} (limit 0.9, {'met' if targets['end_to_end_fraction_of_plain_generate']['met'] else 'NOT met'})")
    plot(tps, ttfc)
    common.save("streaming", {
        "unit": "tokens/s", "max_tokens": n, "model": settings.model_name, "contenders": list(tps),
        "median": {k: round(v["median"], 1) for k, v in tps.items()},
        "p95": {k: round(v["p95"], 1) for k, v in tps.items()},
        "ratios": ratios, "completion_tokens": tokens,
        "end_to_end_over_plain_per_repetition": [round(r, 4) for r in paired],
        "runpod2_end_to_end_over_plain_per_repetition": [round(r, 4) for r in paired2],
        "gap_ms": gaps,
        "first_chunk_ms": {k: {"median": round(v["median"], 1), "p95": round(v["p95"], 1)} for k, v in ttfc.items()},
        "targets": targets, "plot": "bench/streaming.png",
    })


def plot(tps: dict, ttfc: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
    names = list(tps)
    axes[0].barh(names, [tps[n]["median"] for n in names], color="#4477aa")
    axes[0].set_xlabel("tokens per second (median)")
    axes[0].invert_yaxis()
    names = list(ttfc)
    axes[1].barh(names, [ttfc[n]["median"] for n in names], color="#cc6677")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("time to the first chunk, ms (log)")
    axes[1].invert_yaxis()
    for ax, data in ((axes[0], tps), (axes[1], ttfc)):
        for y, n in enumerate(data):
            ax.text(data[n]["median"], y, f" {data[n]['median']:.0f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(common.BENCH / "streaming.png", dpi=110)


if __name__ == "__main__":
    main()
