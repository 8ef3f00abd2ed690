"""When to start and stop workers: a pure function of the queue and the workers.

Contract: ``plan_scaling(...)`` reads, changes nothing, and returns how many workers
to start and which idle ones to stop. The rule, close to the platform's
request-count scaler but not its exact algorithm:

- Live workers are those initializing, idle or running (stopping ones are leaving).
- A worker is free if it is initializing (it will take a job once ready) or idle.
  Each queued job beyond the free workers starts one more worker, up to
  ``max_workers``; there are always at least ``min_workers``.
- With nothing queued, a spawned worker idle for ``idle_timeout`` seconds stops,
  longest-idle first, down to ``min_workers`` (scale to zero when that is 0).
  External workers (started by hand) are never stopped.
- Worker concurrency is not counted: a worker that could take more jobs at once
  still makes queued jobs start new workers, as on the platform.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .workers import IDLE, INITIALIZING, RUNNING, Worker

LIVE_STATES = (INITIALIZING, IDLE, RUNNING)


@dataclass(frozen=True)
class ScalePlan:
    spawn: int
    stop: tuple[str, ...]


def plan_scaling(
    *,
    queued: int,
    workers: Sequence[Worker],
    min_workers: int,
    max_workers: int,
    idle_timeout: float,
    now: float,
    spawn_allowed: bool = True,
) -> ScalePlan:
    live = [w for w in workers if w.state in LIVE_STATES]
    free = sum(1 for w in live if w.state in (INITIALIZING, IDLE))

    spawn = min(queued - free, max_workers - len(live))
    spawn = max(spawn, min_workers - len(live), 0)
    if not spawn_allowed:
        spawn = 0

    stop: list[str] = []
    if queued == 0:
        idle = sorted(
            (w for w in live
             if w.state == IDLE and not w.external and w.idle_since is not None
             and now - w.idle_since >= idle_timeout),
            key=lambda w: w.idle_since,
        )
        stop = [w.id for w in idle[:max(0, len(live) - min_workers)]]
    return ScalePlan(spawn=spawn, stop=tuple(stop))
