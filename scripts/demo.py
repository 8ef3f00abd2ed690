"""The main job (`make demo`): run the worker on the embedded model, plain then streaming.

Each run is the worker's own entry point in local test mode, a fresh process as on
the platform: ``python -m worker --test_input '{"input": {...}}'``. The lines the
worker prints (each chunk as it comes, then the final output) are relayed with the
time they arrived, and the whole run is timed from process start: the difference
between the two is the cold start (imports, model load, warm-up).

Usage: python scripts/demo.py [--prompt TEXT] [--max-tokens N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def summarise(output: list) -> str:
    """The text and figures of a job's final output (one result, or a stream's chunks)."""
    if len(output) == 1 and "text" in output[0]:
        text, last = output[0]["text"], output[0]
    else:
        text, last = "".join(c["token"] for c in output), output[-1]
    t = last["timings"]
    return (f"text: {text!r}\n{last['usage']['completion_tokens']} tokens in {t['generate_s']:.3f} s "
            f"({t['tokens_per_s']:.0f} tokens/s), first token after {t['first_token_s']:.3f} s, "
            f"{len(output)} item(s) in the output")


def run_worker(job_input: dict, title: str) -> float:
    print(f"\n=== {title} ===")
    cmd = [sys.executable, "-m", "worker", "--test_input", json.dumps({"input": job_input})]
    print("$ python -m worker --test_input '" + json.dumps({"input": job_input}) + "'")
    env = dict(os.environ, LOG_FORMAT="text", RUNPOD_LOG_LEVEL="WARN")
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    output = None
    for line in proc.stdout:
        print(f"[{time.perf_counter() - start:6.2f} s] {line.rstrip()}", flush=True)
        if line.startswith("output: "):
            output = json.loads(line[len("output: "):])
    code = proc.wait()
    seconds = time.perf_counter() - start
    print(f"exit code {code}, {seconds:.2f} s from process start")
    if code != 0 or output is None:
        raise SystemExit(f"the worker failed ({title})")
    print(summarise(output))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompt", default="The Python language")
    parser.add_argument("--max-tokens", type=int, default=48)
    args = parser.parse_args()
    base = {"prompt": args.prompt, "max_tokens": args.max_tokens, "temperature": 0}
    plain = run_worker(base, "plain request: one result")
    streamed = run_worker({**base, "stream": True}, "stream: true, chunks as they are generated")
    print(f"\nplain run {plain:.2f} s, streaming run {streamed:.2f} s (each a fresh worker process)")


if __name__ == "__main__":
    main()
