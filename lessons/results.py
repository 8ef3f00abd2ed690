"""The benchmarks' figures (``bench/results.json``) as the lessons show them.

Contract: ``benchmark(name)`` is one benchmark's object from ``bench/results.json``
(written by ``make bench``); ``measured_on(bench)`` is the one line that says what
machine and software the figures came from and when. Reading them computes nothing:
every figure was measured by the benchmark scripts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results.json"


def benchmark(name: str) -> dict[str, Any]:
    """One benchmark's results, as ``make bench`` last wrote them."""
    return json.loads(RESULTS.read_text())[name]


def measured_on(bench: dict[str, Any]) -> str:
    """Where and when these figures were measured, in one line."""
    m = bench["machine"]
    parts = [f"measured on: {m['cpu']}, {m['cores']} cores, GPU: {m['gpu'] or 'none'}",
             f"runpod {m['runpod']}, torch {m['torch']}, transformers {m['transformers']}"]
    if "model" in bench:
        parts.append(f"model {bench['model']}" + (f", {bench['max_tokens']} new tokens" if "max_tokens" in bench else ""))
    parts.append(f"at {bench['measured_at']}")
    return "; ".join(parts)
