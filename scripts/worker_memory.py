"""Does the worker's memory level off under fuzzed requests? Measure it.

``python scripts/worker_memory.py [--requests N] [--every K] [--check]`` starts a
local endpoint with this project's worker (``python -m worker``, the embedded tiny
model unless ``MODEL_NAME`` says otherwise), sends it N requests drawn at random
(valid ones of every shape: prompt or messages, any length up to the limits, plain or
streamed, sampled or greedy, with stop strings and seeds; and invalid ones: wrong
types, unknown fields, lone surrogates, values out of range), and samples the
worker process's RSS every K requests. It prints one JSON object: the samples, and
the growth over the first and the second half. With ``--check`` it exits 1 unless
the second half grew by at most ``max(LEVEL_MB, first-half growth / 4)``: memory that
keeps growing at the same pace is a leak, memory that levels off is caches filling.
``make test-full`` runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import string
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RUNPOD_SKIP_AUTO_SYSTEM_CHECKS", "true")

FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")
LEVEL_MB = 15.0  # growth below this over the second half is noise, not a trend
ALPHABET = string.ascii_letters + string.digits + " .,;:!?\n\t" + "éßж中文🙂"


def fuzzed_input(rng: random.Random) -> dict:
    if rng.random() < 0.2:  # input the worker must refuse
        return rng.choice([
            {"prompt": 42}, {"prompt": ""}, {"prompt": "hi", "max_tokens": 10**6},
            {"prompt": "hi", "unknown": 1}, {"messages": []}, {"prompt": "a\ud800b"},
            {"messages": [{"role": "user", "content": "x\udc00"}]},
            {"prompt": "hi", "temperature": "hot"}, {"prompt": "hi", "stop": [""] * 3},
            {"prompt": "x" * 200_000}, [1, 2], None,
        ])
    text = "".join(rng.choice(ALPHABET) for _ in range(rng.choice([1, 10, 100, 1000, 4000])))
    request: dict = ({"prompt": text} if rng.random() < 0.6 else
                     {"messages": [{"role": rng.choice(["system", "user", "assistant"]),
                                    "content": text[i::3] or "x"} for i in range(rng.randint(1, 3))]})
    request["max_tokens"] = rng.choice([1, 4, 16, 64])
    request["temperature"] = rng.choice([0.0, 0.7, 1.5])
    if rng.random() < 0.5:
        request["top_p"] = rng.choice([0.1, 0.9, 1.0])
    if rng.random() < 0.3:
        request["seed"] = rng.randint(0, 2**32 - 1)
    if rng.random() < 0.3:
        request["stop"] = [rng.choice(["\n", ".", "the"])]
    request["stream"] = rng.random() < 0.3
    return request


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--check", action="store_true", help="exit 1 if memory does not level off")
    args = parser.parse_args()

    import psutil

    from local_endpoint import LocalEndpoint

    rng = random.Random(args.seed)
    samples = []
    with LocalEndpoint(min_workers=1, max_workers=1, install=False) as ep:
        client = ep.endpoint()
        client.run_sync({"prompt": "warm up", "max_tokens": 2}, timeout=300)
        [worker] = [w for w in ep.workers() if w["state"] != "exited"]
        process = psutil.Process(worker["pid"])
        started = time.monotonic()
        samples.append((0, process.memory_info().rss / 2**20))
        failed = 0
        for n in range(1, args.requests + 1):
            job = client.run({"input": fuzzed_input(rng)})
            deadline = time.monotonic() + 120
            while (status := job.status()) not in FINAL and time.monotonic() < deadline:
                time.sleep(0.02)
            failed += status != "COMPLETED"
            if n % args.every == 0 or n == args.requests:
                samples.append((n, process.memory_info().rss / 2**20))
        elapsed = time.monotonic() - started
    half = len(samples) // 2
    first = samples[half][1] - samples[0][1]
    second = samples[-1][1] - samples[half][1]
    levels_off = second <= max(LEVEL_MB, first / 4)
    print(json.dumps({
        "requests": args.requests, "failed_as_invalid_or_error": failed,
        "seconds": round(elapsed, 1),
        "rss_mb": [[n, round(mb, 1)] for n, mb in samples],
        "growth_first_half_mb": round(first, 1), "growth_second_half_mb": round(second, 1),
        "levels_off": levels_off}))
    return 0 if levels_off or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
