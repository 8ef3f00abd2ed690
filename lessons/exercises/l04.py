"""Checkers of lesson 4's exercises: an async handler that keeps the loop free, and the
concurrency a worker runs and holds (``lessons.exercises``)."""

from __future__ import annotations

import asyncio
import inspect
from concurrent.futures import ThreadPoolExecutor

from lessons.exercises import exercise

KEYS = ["a", "b", "c", "d", "e"]


@exercise("04.free_the_loop")
def free_the_loop(handler) -> None:
    assert inspect.iscoroutinefunction(handler), "the handler must be an `async def` function"
    from lessons.l04_concurrency import run_beside_ticker

    job = {"id": "exercise", "input": {"keys": KEYS}}
    with ThreadPoolExecutor(1) as pool:   # its own event loop, also when a notebook's loop is running
        stall = pool.submit(asyncio.run, run_beside_ticker(handler, job)).result()
    assert stall.result == [k.upper() for k in KEYS], f"expected the looked-up keys in order, got {stall.result!r}"
    assert stall.longest_gap < 0.1, (
        f"the event loop was stuck for {stall.longest_gap * 1000:.0f} ms: call slow_lookup in a thread "
        "(asyncio.to_thread), not directly")
    assert stall.seconds < 0.6, (
        f"{len(KEYS)} lookups of 0.2 s took {stall.seconds:.2f} s: start them together (asyncio.gather) "
        "instead of awaiting one after another")


@exercise("04.choose_concurrency")
def choose_concurrency(choose) -> None:
    for burst, service_limit in [(10, 4), (3, 8), (16, 16), (40, 2)]:
        answer = choose(burst, service_limit)
        assert isinstance(answer, tuple) and len(answer) == 2, f"return (run, hold), got {answer!r}"
        run, hold = answer
        assert run == min(service_limit, burst) or run == service_limit, (
            f"burst={burst}, service_limit={service_limit}: run {run} jobs at once? The service allows "
            f"{service_limit}; more fail, fewer leave it idle")
        assert hold > 2 * burst, (
            f"burst={burst}: hold={hold} is not above twice the burst; the SDK counts a just-taken job twice "
            "and sleeps a second when the count reaches the hold (section 5)")
        assert hold <= 4 * burst + 8, (
            f"burst={burst}: hold={hold} is far above what one burst needs; held jobs cannot go to an idle "
            "worker (section 7)")
