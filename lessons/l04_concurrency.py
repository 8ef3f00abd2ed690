"""Lesson 4's measuring harness: a slow local HTTP service, an event-loop stall meter,
bursts of jobs through a ``LocalEndpoint``, and the figures read from their timelines.

Contract:
- ``slow_server(delay)``: an async context manager serving ``/item/<n>`` on 127.0.0.1
  after ``delay`` seconds each (a remote service, without a network); yields its base URL.
- ``run_beside_ticker(handler, job)``: awaits ``handler(job)`` while a task that sleeps
  5 ms at a time records how late it wakes; returns ``Stall(seconds, result, longest_gap)``.
  A long gap means something held the event loop.
- ``burst(ep, inputs)``: queues every input as a job at once (8 client threads), waits
  until the endpoint is empty, and returns the endpoint's timeline record of each job
  (``created``, ``taken``, ``finished``, ``attempts``; ``time.time()`` seconds).
- ``wall(records)``, ``queued(records)``, ``served_by(records)``: seconds from the first
  arrival to the last end; each job's seconds in the queue; jobs per worker id.
- ``plot_bursts(named_records, title)``: one timeline per burst (``lessons.timeline``).
Nothing here starts a worker by itself; the lesson opens every endpoint with ``with``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple


@contextlib.asynccontextmanager
async def slow_server(delay: float):
    from aiohttp import web

    async def item(request):
        await asyncio.sleep(delay)
        return web.Response(text=f"item {request.match_info['n']}")

    app = web.Application()
    app.router.add_get("/item/{n}", item)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class Stall(NamedTuple):
    seconds: float
    result: Any
    longest_gap: float


async def run_beside_ticker(handler, job) -> Stall:
    gaps, done = [], asyncio.Event()

    async def ticker():
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    result = await handler(job)
    seconds = time.perf_counter() - started
    done.set()
    await tick
    return Stall(seconds, result, max(gaps))


def burst(ep, inputs: list[dict], timeout: float = 120) -> list[dict]:
    client = ep.endpoint()
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda job_input: client.run(job_input).job_id, inputs))
    ep.wait_for(lambda h: h["jobs"]["inQueue"] == 0 and h["jobs"]["inProgress"] == 0, timeout=timeout)
    records = {job["id"]: job for job in ep.timeline()["jobs"]}
    failed = [records[i]["status"] for i in ids if records[i]["status"] != "COMPLETED"]
    assert not failed, f"jobs did not complete: {failed}"
    return [records[i] for i in ids]


def wall(records: list[dict]) -> float:
    return max(r["finished"] for r in records) - min(r["created"] for r in records)


def queued(records: list[dict]) -> list[float]:
    return [r["taken"] - r["created"] for r in records]


def served_by(records: list[dict]) -> dict[str, int]:
    return dict(sorted(Counter(r["attempts"][-1]["worker"] for r in records).items()))


def plot_bursts(named_records: dict[str, list[dict]], title: str):
    import matplotlib.pyplot as plt

    from lessons.timeline import plot_timeline

    fig, axes = plt.subplots(len(named_records), 1, figsize=(7, 1.2 + 1.1 * len(named_records)), sharex=True)
    for ax, (name, records) in zip(axes, named_records.items()):
        records = sorted(records, key=lambda r: r["finished"])
        plot_timeline(ax, jobs=records, job_labels=[f"job {i + 1}" for i in range(len(records))],
                      t0=min(r["created"] for r in records), legend=ax is axes[0], fontsize=7)
        ax.set_title(name, fontsize=8)
    axes[-1].set_xlabel("seconds since the burst's first job arrived")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    plt.show()


def make_generate(settings, tokens: int):
    """A blocking model call, ``generate(prompt) -> text`` (greedy, ``tokens`` new tokens),
    on the model loaded in this process; the first calls pay one-off costs, so it warms up."""
    from lessons.inprocess import complete
    from worker.model import get_model
    from worker.schema import parse_request

    lm = get_model(settings)

    def generate(prompt: str) -> str:
        request = parse_request({"prompt": prompt, "max_tokens": tokens, "temperature": 0}, settings)
        return complete(lm, request).text

    for prompt in ("warm", "up", "the", "model"):
        generate(prompt)
    return generate


def serve_together(settings, prompts: list[str], tokens: int, max_batch: int) -> dict:
    """Submit every prompt at once to a batcher of ``max_batch``: the worker's tokens/s, each
    request's own tokens/s (median), and how many ``generate`` calls ran by batch size."""
    import statistics

    from worker.batching import Batcher
    from worker.generation import GenerationTask
    from worker.model import get_model
    from worker.schema import parse_request

    batcher = Batcher(get_model(settings), max_batch=max_batch, wait_s=settings.batch_wait_ms / 1000)
    tasks = [GenerationTask(parse_request({"prompt": p, "max_tokens": tokens, "temperature": 0}, settings))
             for p in prompts]
    started = time.perf_counter()
    for task in tasks:
        batcher.submit(task)
    results = [task.result() for task in tasks]
    seconds = time.perf_counter() - started
    batcher.close()
    return {"worker_tps": sum(r.completion_tokens for r in results) / seconds,
            "request_tps": statistics.median(r.completion_tokens / r.seconds for r in results),
            "calls": batcher.stats()["rounds_by_batch_size"]}
