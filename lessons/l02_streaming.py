"""Lesson 2's harness: waiting for jobs, timing a stream's chunks, and plotting them.

Contract:
- ``wait_final(job, timeout)``: poll ``/status`` until the job is final; its status word.
- ``log_lines(logs, needle, job_id)``: the worker-log lines (``ep.worker_logs()``) that
  contain ``needle``, with the job id replaced by ``<job id>`` (ids differ per run).
- ``arrivals(endpoint, request, fast)``: run one job and read its stream with the SDK's
  ``Job.stream()`` (``fast=False``) or ``lessons.client.stream_outputs`` (``fast=True``);
  returns ``(wall-clock start, [(seconds since start, chunk), ...], job)``.
- ``lags(seen, started)``: per chunk, seconds between ``chunk["sent"]`` (the worker's
  clock when it yielded it; same machine, same clock) and its arrival.
- ``batches(seen, within)``: how many groups the chunks arrived in (gaps over ``within`` s).
- ``plot_arrivals(runs, title)``: sent against received, one marker style per run.
- ``plain_generate_tps(lm, prompt, max_tokens)``: tokens per second of a greedy
  ``model.generate`` in this process, the ceiling a stream is compared with.
"""

from __future__ import annotations

import time
from typing import Any

from lessons.client import FINAL, status_body, stream_outputs


def wait_final(job: Any, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while (status := status_body(job)["status"]) not in FINAL:
        if time.monotonic() > deadline:
            raise TimeoutError(f"job still {status} after {timeout} s")
        time.sleep(0.05)
    return status


def log_lines(logs: dict[str, str], needle: str, job_id: str) -> list[str]:
    return [line.replace(job_id, "<job id>") for text in logs.values() for line in text.splitlines()
            if needle in line]


def arrivals(endpoint: Any, request: dict, fast: bool):
    started = time.time()
    job = endpoint.run(request)
    seen = []
    for chunk in (stream_outputs(job) if fast else job.stream()):
        seen.append((time.time() - started, chunk))
    return started, seen, job


def lags(seen: list, started: float) -> list[float]:
    return [t - (chunk["sent"] - started) for t, chunk in seen]


def batches(seen: list, within: float = 0.05) -> int:
    times = [t for t, _ in seen]
    return 1 + sum(1 for a, b in zip(times, times[1:]) if b - a > within)


def plot_arrivals(runs: dict, title: str) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    for (name, (started, seen, _)), marker in zip(runs.items(), ("o", "s")):
        ax.plot([chunk["sent"] - started for _, chunk in seen], [t for t, _ in seen], marker, ms=4, label=name)
    end = max(t for _, seen, _ in runs.values() for t, _ in seen)
    ax.plot([0, end], [0, end], "k--", lw=0.8, label="received = sent")
    ax.set_xlabel("chunk left the worker (s since the request)")
    ax.set_ylabel("client received it (s)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    plt.show()


def plain_generate_tps(lm: Any, prompt: str, max_tokens: int) -> float:
    import torch

    ids = lm.tokenizer(prompt, return_tensors="pt").to(lm.device)
    started = time.perf_counter()
    with torch.inference_mode():
        out = lm.model.generate(**ids, max_new_tokens=max_tokens, do_sample=False, pad_token_id=lm.pad_token_id)
    return (out.shape[1] - ids["input_ids"].shape[1]) / (time.perf_counter() - started)
