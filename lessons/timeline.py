"""The local endpoint's timeline (``LocalEndpoint.timeline()``) drawn as bars against time.

Contract: ``plot_timeline(ax, workers=..., jobs=...)`` draws one row per worker (red
from spawned to ready: its cold start; green from ready until it exited, or until the
last job ended if it had not) and then one row per job (orange from created to taken:
its time in the queue, the ``delayTime``; blue from taken to finished: the
``executionTime``; a black tick where it arrived). Times are seconds since ``t0``, by
default the first job's arrival. It draws on the axes it is given and returns them;
it starts, reads and measures nothing itself. The lessons on the request lifecycle,
concurrency and cold start share it so that one bar means the same thing in each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Row = dict[str, Any]

COLOURS = {"cold start": "tab:red", "ready": "tab:green", "queued (delayTime)": "tab:orange",
           "running (executionTime)": "tab:blue"}


def plot_timeline(ax, *, workers: Sequence[Row] = (), jobs: Sequence[Row] = (),
                  worker_labels: Sequence[str] | None = None, job_labels: Sequence[str] | None = None,
                  t0: float | None = None, legend: bool = True, fontsize: int = 8):
    """Draw ``workers`` then ``jobs`` (timeline rows) on ``ax``, top to bottom."""
    if t0 is None:
        t0 = min(j["created"] for j in jobs) if jobs else min(w["spawned"] for w in workers)
    last_end = max((j["finished"] for j in jobs if j.get("finished")), default=None)
    labelled: set[str] = set()

    def bar(y: int, start: float | None, end: float | None, what: str, **style) -> None:
        if start is None or end is None:
            return   # a worker that never got ready, a job never taken: nothing to draw
        label = None if what in labelled else what
        labelled.add(what)
        ax.broken_barh([(start - t0, end - start)], (y - 0.3, 0.6), color=COLOURS[what], label=label, **style)

    names = []
    for i, w in enumerate(workers):
        y = len(names)
        names.append(worker_labels[i] if worker_labels else w["id"])
        bar(y, w["spawned"], w.get("ready"), "cold start")
        bar(y, w.get("ready"), w.get("exited") or last_end, "ready", alpha=0.4)
    for i, j in enumerate(jobs):
        y = len(names)
        names.append(job_labels[i] if job_labels else f"job {i + 1}")
        bar(y, j["created"], j.get("taken"), "queued (delayTime)")
        bar(y, j.get("taken"), j.get("finished"), "running (executionTime)")
        ax.plot([j["created"] - t0], [y], "k|", markersize=10)
    ax.set_yticks(range(len(names)), names, fontsize=fontsize)
    ax.set_ylim(len(names) - 0.5, -0.5)   # the first row on top
    if legend:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))   # beside the bars, never over them
    return ax
