"""bench/results.json, as committed: every benchmark reports what issue 5 asks for.

This checks the file's shape and that each target is computed from the figures next
to it; it times nothing (speed is checked by the benchmarks themselves: ``make bench``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = json.loads((ROOT / "bench" / "results.json").read_text())
BENCHMARKS = ["per_job_overhead", "streaming", "cold_start", "concurrency", "openai_streaming"]


def test_every_benchmark_is_there():
    assert set(BENCHMARKS) <= set(RESULTS)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_each_benchmark_has_contenders_medians_p95s_ratios_machine_targets_and_a_plot(name):
    result = RESULTS[name]
    contenders = result["contenders"]
    assert len(contenders) >= 3
    assert set(result["median"]) >= set(contenders) and set(result["p95"]) >= set(contenders)
    for c in contenders:
        assert result["p95"][c] >= result["median"][c]
    assert result["ratios"]
    assert {"cpu", "cores", "runpod", "torch"} <= set(result["machine"])
    assert result["machine"]["runpod"] == "1.12.0"
    assert (ROOT / result["plot"]).exists()
    for target in result["targets"].values():
        assert {"value", "limit", "higher_is_better", "met"} <= set(target)
        expected = target["value"] >= target["limit"] if target["higher_is_better"] else target["value"] <= target["limit"]
        assert target["met"] == expected


def test_targets_are_derived_from_the_reported_medians():
    per_job = RESULTS["per_job_overhead"]
    ours = per_job["median"]["SDK worker, our config"]
    assert per_job["targets"]["sequential_per_job_ms"]["value"] == pytest.approx(ours, rel=1e-3)
    stock = per_job["median"]["SDK worker, stock config"]
    assert per_job["targets"]["sequential_speedup_vs_stock"]["value"] == pytest.approx(stock / ours, rel=1e-2)
    s = RESULTS["streaming"]
    paired = sorted(s["end_to_end_over_plain_per_repetition"])
    median = (paired[len(paired) // 2] + paired[(len(paired) - 1) // 2]) / 2
    assert s["targets"]["end_to_end_fraction_of_plain_generate"]["value"] == pytest.approx(median, rel=1e-3)
    c = RESULTS["cold_start"]
    ratio = c["median"]["this worker (python -m worker)"] / c["median"]["floor: bare import + from_pretrained"]
    assert c["targets"]["cold_start_over_floor"]["value"] == pytest.approx(ratio, rel=1e-2)
    o = RESULTS["openai_streaming"]
    paired = sorted(o["openai_over_plain_per_repetition"])
    median = (paired[len(paired) // 2] + paired[(len(paired) - 1) // 2]) / 2
    assert o["targets"]["openai_stream_fraction_of_plain_generate"]["value"] == pytest.approx(median, rel=1e-3)
    b = RESULTS["concurrency"]["batching_tokens_per_s"]["median"]
    speedup = b["batched (BATCH_SIZE=8)"] / b["one by one (BATCH_SIZE=1)"]
    assert RESULTS["concurrency"]["targets"]["batching_speedup_at_8"]["value"] == pytest.approx(speedup, rel=1e-2)


def test_the_runpod_2_targets_are_derived_from_the_same_runs_figures():
    # "runpod 2.0.0rc2" contenders are measured in the same runs as 1.12.0's (issue 12)
    per_job = RESULTS["per_job_overhead"]
    ratio = per_job["median"]["runpod 2.0.0rc2, our config"] / per_job["median"]["loopback floor (no SDK)"]
    assert per_job["targets"]["runpod2_sequential_over_floor"]["value"] == pytest.approx(ratio, rel=1e-2)
    assert per_job["targets"]["runpod2_sequential_over_floor"]["limit"] == 2
    c = RESULTS["cold_start"]
    ratio = c["median"]["this worker, runpod 2.0.0rc2"] / c["median"]["floor: bare import + from_pretrained"]
    assert c["targets"]["runpod2_cold_start_over_floor"]["value"] == pytest.approx(ratio, rel=1e-2)
    assert c["targets"]["runpod2_cold_start_over_floor"]["limit"] == 1.2
    s = RESULTS["streaming"]
    paired = sorted(s["runpod2_end_to_end_over_plain_per_repetition"])
    median = (paired[len(paired) // 2] + paired[(len(paired) - 1) // 2]) / 2
    assert s["targets"]["runpod2_end_to_end_fraction_of_plain_generate"]["value"] == pytest.approx(median, rel=1e-3)
    assert set(s["gap_ms"]) == {"runpod 1.12.0", "runpod 2.0.0rc2"}
    assert "runpod 2.0.0rc2 ours: 64 jobs at concurrency 8" in RESULTS["concurrency"]["median"]
    for name in ("per_job_overhead", "streaming", "cold_start", "concurrency"):   # the ones with 2.0 contenders
        assert RESULTS[name]["machine"]["runpod_second_line"] == "2.0.0rc2"


def test_the_readme_table_is_the_one_made_from_results_json():
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from report import readme_section, report

    assert readme_section((ROOT / "README.md").read_text()) == report(RESULTS), \
        "README's results table is stale: run `python bench/report.py --write`"


def test_saving_a_benchmarks_results_remakes_the_readme_table(tmp_path, monkeypatch):
    # make bench rewrites results.json; the README's table must follow, or the test
    # above fails after every benchmark run.
    import copy
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    import common
    from report import readme_section, report

    results, readme = tmp_path / "results.json", tmp_path / "README.md"
    results.write_text(json.dumps(RESULTS))
    readme.write_text((ROOT / "README.md").read_text())
    monkeypatch.setattr(common, "RESULTS", results)
    monkeypatch.setattr(common, "README", readme)
    streaming = copy.deepcopy(RESULTS["streaming"])
    first = streaming["contenders"][0]
    streaming["median"][first] = streaming["median"][first] * 2 + 1  # a new measurement
    common.save("streaming", streaming)
    saved = json.loads(results.read_text())
    assert saved["streaming"]["median"][first] == streaming["median"][first]
    assert readme_section(readme.read_text()) == report(saved)
    assert readme_section(readme.read_text()) != report(RESULTS)
