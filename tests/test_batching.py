"""Dynamic batching on the real embedded model: merged when compatible, each job its own.

In-process: ``worker.batching.Batcher`` and ``worker.generation.run_batch`` directly,
and the handler under concurrency. No network.
"""

from __future__ import annotations

import threading
import time

import pytest

from lessons import inprocess
from worker import generation
from worker.batching import Batcher
from worker.schema import parse_request

PROMPTS = ["The Python language", "A list is", "def main():\n", "Exceptions are", "import os", "Classes"]


def req(prompt: str, **kw):
    return parse_request({"prompt": prompt, "max_tokens": 32, "temperature": 0, **kw})


def submit_all(batcher: Batcher, tasks) -> None:
    for t in tasks:
        batcher.submit(t)
    for t in tasks:
        assert t.done.wait(60)


def test_concurrent_greedy_jobs_share_a_batch_and_each_gets_its_own_solo_result(tiny_lm):
    solo = [inprocess.complete(tiny_lm, req(p)) for p in PROMPTS]
    batcher = Batcher(tiny_lm, max_batch=8, wait_s=0.2)
    tasks = [generation.GenerationTask(req(p)) for p in PROMPTS]
    submit_all(batcher, tasks)
    assert max(batcher.stats()["rounds_by_batch_size"]) > 1, batcher.stats()
    for s, t in zip(solo, tasks):
        c = t.result()
        assert c.text == s.text and c.usage == s.usage and c.finish_reason == s.finish_reason
    assert {t.result().batch_size for t in tasks} != {1}


def test_streamed_pieces_of_each_row_join_to_its_own_text(tiny_lm):
    pieces: dict[int, list[str]] = {i: [] for i in range(len(PROMPTS))}
    tasks = [generation.GenerationTask(req(p), on_text=pieces[i].append) for i, p in enumerate(PROMPTS)]
    generation.run_batch(tiny_lm, tasks)
    for i, t in enumerate(tasks):
        assert "".join(pieces[i]) == t.result().text and all(pieces[i])


def test_each_row_keeps_its_own_max_tokens_and_a_short_row_finishes_first(tiny_lm):
    ended: dict[str, float] = {}
    short = generation.GenerationTask(req(PROMPTS[0], max_tokens=3), on_done=lambda: ended.setdefault("short", time.perf_counter()))
    long = generation.GenerationTask(req(PROMPTS[1], max_tokens=200), on_done=lambda: ended.setdefault("long", time.perf_counter()))
    generation.run_batch(tiny_lm, [short, long])
    assert short.result().completion_tokens == 3 and short.result().finish_reason == "length"
    assert long.result().completion_tokens > 3
    assert ended["short"] < ended["long"], "the short job did not wait for the long one"


def test_seeded_sampling_jobs_are_served_alone_and_stay_reproducible(tiny_lm):
    sampled = [parse_request({"prompt": p, "max_tokens": 24, "temperature": 1.0, "seed": 7}) for p in PROMPTS[:3]]
    solo = [inprocess.complete(tiny_lm, r).text for r in sampled]
    batcher = Batcher(tiny_lm, max_batch=8, wait_s=0.2)
    tasks = [generation.GenerationTask(r) for r in sampled]
    submit_all(batcher, tasks)
    assert batcher.stats()["rounds_by_batch_size"] == {1: 3}
    assert [t.result().text for t in tasks] == solo


def test_jobs_with_different_settings_are_not_mixed(tiny_lm):
    batcher = Batcher(tiny_lm, max_batch=8, wait_s=0.2)
    a = [generation.GenerationTask(req(p)) for p in PROMPTS[:2]]
    b = [generation.GenerationTask(req(p, stop=["\n"])) for p in PROMPTS[2:4]]
    submit_all(batcher, [a[0], b[0], a[1], b[1]])
    assert batcher.stats()["rounds_by_batch_size"] == {2: 2}
    for t in b:
        assert "\n" not in t.result().text


def test_batch_size_one_serves_jobs_one_at_a_time(tiny_lm):
    batcher = Batcher(tiny_lm, max_batch=1, wait_s=0.05)
    tasks = [generation.GenerationTask(req(p)) for p in PROMPTS[:3]]
    submit_all(batcher, tasks)
    assert batcher.stats()["rounds_by_batch_size"] == {1: 3}


def test_a_failing_round_fails_its_jobs_and_the_batcher_keeps_serving(tiny_lm, monkeypatch):
    batcher = Batcher(tiny_lm, max_batch=4, wait_s=0.0)
    real = generation.run_batch
    calls = {"n": 0}

    def first_round_fails(lm, tasks):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("device lost")
        real(lm, tasks)

    monkeypatch.setattr(generation, "run_batch", first_round_fails)
    bad = generation.GenerationTask(req(PROMPTS[0]))
    batcher.submit(bad)
    assert bad.done.wait(30)
    with pytest.raises(RuntimeError, match="device lost"):
        bad.result()
    good = generation.GenerationTask(req(PROMPTS[1]))
    batcher.submit(good)
    assert good.done.wait(30) and good.result().text


def test_a_cancelled_row_stops_while_the_rest_of_its_batch_goes_on(tiny_lm):
    counted: list[int] = []
    cancel = threading.Event()

    def on_tokens(n: int) -> None:
        counted.append(n)
        if n == 5:
            cancel.set()

    doomed = generation.GenerationTask(req(PROMPTS[0], max_tokens=200), cancel=cancel, on_tokens=on_tokens)
    other = generation.GenerationTask(req(PROMPTS[1], max_tokens=40))
    generation.run_batch(tiny_lm, [doomed, other])
    with pytest.raises(generation.GenerationCancelled):
        doomed.result()
    assert max(counted) <= 7
    assert other.result().text


def test_the_handler_batches_concurrent_requests(tiny_lm):
    from concurrent.futures import ThreadPoolExecutor

    from lessons.inprocess import handler

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda p: handler({"id": p, "input": {"prompt": p, "max_tokens": 48, "temperature": 0}}),
                                PROMPTS))
    assert all("text" in r for r in results)
    assert max(r["timings"]["batch_size"] for r in results) > 1
