"""Benchmark: OpenAI-compatible streaming end to end, with the official ``openai`` client.

Contenders, interleaved, greedy decoding of the same prompt for the same
``max_tokens`` with the default model:
- plain ``model.generate`` (no streamer), in this process: the ceiling;
- ``client.completions.create(stream=True)`` of the official client through the local
  endpoint's ``/openai/v1/completions`` and the real worker (``python -m worker``);
- the native path through the same endpoint: ``/run`` + ``/stream`` polled at once
  after every answer (``lessons.client.stream_outputs``).
Tokens per second is completion tokens over the time from the request to the client
holding its last delta (the OpenAI answer's usage chunk gives the count). Time to the
first text is taken at the client for both paths, beside the worker's own first token
(``first_token_s`` of the native run's last chunk). The target compares each OpenAI
run with the plain run of the same repetition (median of the ratios), as
``bench/streaming.py`` does: this machine's speed drifts from minute to minute.

Usage: python bench/openai_streaming.py [--quick] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import os
import time

import common

PROMPT = "The Python language"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--max-tokens", type=int, default=1024)
    args = parser.parse_args()
    reps = 2 if args.quick else 9
    n = args.max_tokens
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import openai
    import torch

    from lessons.client import stream_outputs
    from local_endpoint import LocalEndpoint
    from worker.config import Settings, use_settings
    from worker.model import get_model
    from worker.openai_compat import served_name

    settings = Settings.from_env({k: v for k, v in os.environ.items() if k in ("XDG_CACHE_HOME", "WORKER_CACHE_DIR")})
    use_settings(settings)
    lm = get_model(settings)
    inputs = lm.tokenizer(PROMPT, return_tensors="pt").to(lm.device)

    def plain() -> dict:
        t = time.perf_counter()
        with torch.inference_mode():
            out = lm.model.generate(**inputs, max_new_tokens=n, do_sample=False, pad_token_id=lm.pad_token_id)
        tokens = out.shape[1] - inputs["input_ids"].shape[1]
        return {"tps": tokens / (time.perf_counter() - t), "tokens": tokens}

    with LocalEndpoint(min_workers=1, max_workers=1, idle_timeout=3600, install=False,
                       worker_env={"LOG_LEVEL": "WARNING", "RUNPOD_LOG_LEVEL": "ERROR"}) as ep:
        ep.wait_for(lambda h: h["workers"]["idle"] >= 1, timeout=180)
        client = openai.OpenAI(base_url=f"{ep.url}/{ep.endpoint_id}/openai/v1", api_key=ep.api_key, max_retries=0)
        runpod_client = ep.endpoint()

        def openai_stream() -> dict:
            t = time.perf_counter()
            first, usage = None, None
            for chunk in client.completions.create(model=served_name(settings), prompt=PROMPT, max_tokens=n,
                                                   temperature=0, stream=True, stream_options={"include_usage": True}):
                if first is None and chunk.choices and chunk.choices[0].text:
                    first = time.perf_counter() - t
                usage = chunk.usage or usage
            secs = time.perf_counter() - t
            return {"tps": usage.completion_tokens / secs, "tokens": usage.completion_tokens, "first_s": first}

        def native_stream() -> dict:
            t = time.perf_counter()
            job = runpod_client.run({"prompt": PROMPT, "max_tokens": n, "temperature": 0, "stream": True})
            first, last = None, None
            for chunk in stream_outputs(job):
                if first is None and chunk.get("token"):
                    first = time.perf_counter() - t
                last = chunk
            secs = time.perf_counter() - t
            tokens = last["usage"]["completion_tokens"]
            return {"tps": tokens / secs, "tokens": tokens, "first_s": first,
                    "worker_first_s": last["timings"]["first_token_s"]}

        contenders = {"plain model.generate": plain, "OpenAI stream, official client": openai_stream,
                      "native /run + /stream": native_stream}
        for c in contenders.values():
            c()  # warm-up
        samples = common.interleave(contenders, reps)

    tps = {name: common.summary([s["tps"] for s in v]) for name, v in samples.items()}
    tokens = {name: sorted({s["tokens"] for s in v}) for name, v in samples.items()}
    ratios = common.table(f"tokens per second, {n} new tokens (greedy)", list(tps.items()), "/s",
                          baseline="plain model.generate", higher_is_better=True)
    first = {
        "worker (first token decoded)": common.summary([s["worker_first_s"] * 1000
                                                        for s in samples["native /run + /stream"]]),
        "client, OpenAI stream (official client)": common.summary([s["first_s"] * 1000 for s in
                                                                   samples["OpenAI stream, official client"]]),
        "client, native /stream polling": common.summary([s["first_s"] * 1000 for s in samples["native /run + /stream"]]),
    }
    common.table("time to the first text", list(first.items()), "ms")
    print("completion tokens per contender:", tokens)
    paired = [o["tps"] / p["tps"] for o, p in zip(samples["OpenAI stream, official client"],
                                                  samples["plain model.generate"])]
    value = common.summary(paired)["median"]
    print(f"OpenAI end to end / plain, per repetition: {[round(r, 3) for r in paired]}")
    targets = {"openai_stream_fraction_of_plain_generate": common.target(
        value, 0.9, True, "OpenAI streaming tokens/s with the official client (request to its last delta) over "
                          "plain model.generate tokens/s, median of the per-repetition ratios")}
    print(f"\ntarget: OpenAI stream / plain = {value:.3f} (limit 0.9, "
          f"{'met' if targets['openai_stream_fraction_of_plain_generate']['met'] else 'NOT met'})")
    plot(tps, first)
    common.save("openai_streaming", {
        "unit": "tokens/s", "max_tokens": n, "model": settings.model_name, "contenders": list(tps),
        "torch_threads": torch.get_num_threads(),  # OMP_NUM_THREADS=1 is steadier on a loaded 2-core machine
        "median": {k: round(v["median"], 1) for k, v in tps.items()},
        "p95": {k: round(v["p95"], 1) for k, v in tps.items()},
        "ratios": ratios, "completion_tokens": tokens,
        "openai_over_plain_per_repetition": [round(r, 4) for r in paired],
        "first_text_ms": {k: {"median": round(v["median"], 1), "p95": round(v["p95"], 1)} for k, v in first.items()},
        "targets": targets, "plot": "bench/openai_streaming.png",
    })


def plot(tps: dict, first: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 3.0))
    for ax, data, label in ((axes[0], tps, "tokens per second (median)"),
                            (axes[1], first, "time to the first text, ms (median)")):
        names = list(data)
        ax.barh(names, [data[k]["median"] for k in names], color="#4477aa" if ax is axes[0] else "#cc6677")
        ax.set_xlabel(label)
        ax.invert_yaxis()
        for y, k in enumerate(names):
            ax.text(data[k]["median"], y, f" {data[k]['median']:.0f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(common.BENCH / "openai_streaming.png", dpi=110)


if __name__ == "__main__":
    main()
