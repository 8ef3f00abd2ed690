"""The size knob of the fuzzer, fault and load tests, and the figures they report.

Contract:
- ``STRESS_SIZE`` (environment) is ``small`` (the default, what ``make test`` runs:
  bounded, a few seconds each) or ``full`` (``make test-full``: thousands of jobs,
  tens of clients). ``size(small, full)`` picks the value for the current one; the
  tests are the same code at both sizes.
- ``report(name, figures)`` prints one line of figures (shown with ``pytest -s``)
  and appends it as JSON to ``$STRESS_REPORT`` when that is set.
- ``percentile(values, p)`` and ``rss_mb(pid)`` are the measurements they use.
"""

from __future__ import annotations

import json
import os

import psutil

SIZE = os.environ.get("STRESS_SIZE", "small")
if SIZE not in ("small", "full"):
    raise ValueError(f"STRESS_SIZE must be 'small' or 'full', not {SIZE!r}")


def size(small, full):
    return full if SIZE == "full" else small


def percentile(values, p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def report(name: str, figures: dict) -> None:
    line = {"test": name, "size": SIZE, **figures}
    print(f"\n[stress] {json.dumps(line)}")
    path = os.environ.get("STRESS_REPORT")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(line) + "\n")
