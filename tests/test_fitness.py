"""Fitness checks through the local endpoint: a worker whose checks pass takes jobs (and
ran only this worker's checks: never the SDK's system checks), one whose check fails ends
before its first job and the job fails with the end of its log; the volume a
``LocalEndpoint(volume=...)`` gives its workers."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from demo_models.layouts import hub_cache_layout
from local_endpoint.cli import build_parser, config_from_args
from local_endpoint.config import EndpointConfig
from local_endpoint.worker_env import worker_environment
from worker.logs import split_log
from worker.model_source import VOLUME_HUB

REPO = "demo-org/tiny-model"
FAILING = [sys.executable, str(Path(__file__).parent / "handlers" / "failing_fitness.py")]


def test_a_worker_on_a_volume_loads_its_cached_model_and_passes_its_one_check(
        local_endpoint_factory, tmp_path, settings):
    from worker.model import resolve_source

    hub_cache_layout(Path(resolve_source("tiny", settings.cache_dir)), tmp_path / VOLUME_HUB, REPO)
    ep = local_endpoint_factory(volume=tmp_path, max_workers=1,
                                worker_env={"MODEL_NAME": REPO, "WARMUP": "0"})
    (result,) = ep.endpoint().run_sync({"prompt": "def", "max_tokens": 2}, timeout=120)
    assert result["usage"]["completion_tokens"] >= 1
    log = ep.worker_logs()["worker-1"]
    records, _ = split_log(log)
    (loaded,) = [r for r in records if r.get("message") == "model.loaded"]
    assert loaded["source"] == "volume cache" and loaded["load_s"] > 0
    # One check: ours. The SDK's system checks (one opens TCP to 8.8.8.8:53) would add more.
    assert "Running 1 fitness check(s)" in log and "All fitness checks passed" in log


def test_a_failing_check_ends_the_worker_before_any_job_and_the_job_says_why(local_endpoint_factory):
    ep = local_endpoint_factory(FAILING, max_workers=1, max_start_failures=1,
                                worker_env={"WARMUP": "0"})
    job = ep.endpoint().run({"prompt": "def", "max_tokens": 2})
    assert job.output(timeout=120) is None and job.status() == "FAILED"
    error = job.rp_client.get(f"{ep.endpoint_id}/status/{job.job_id}")["error"]
    assert "Fitness check failed: model_speaks_french" in error
    assert "asked for one token of French" in error
    assert "worker.ready" in ep.worker_logs()["worker-1"], "the model had loaded: the check ended it"


@pytest.mark.parametrize("attempt", [{}, {"RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "false"},
                                     {"RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": ""}])
def test_no_worker_the_endpoint_starts_runs_the_sdks_system_checks(attempt):
    env = worker_environment(parent={"RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "false", "PATH": "/bin"},
                             home="/nowhere", base_url="http://127.0.0.1:1", endpoint_id="e",
                             worker_id="w", worker_key="k", ping_interval_ms=1000, extra=attempt)
    assert env["RUNPOD_SKIP_AUTO_SYSTEM_CHECKS"] == "true"


def test_the_volume_option_reaches_workers_as_their_volume_dir(tmp_path):
    config = config_from_args(build_parser().parse_args(["--volume", str(tmp_path)]))
    assert config.worker_variables["VOLUME_DIR"] == str(tmp_path)
    both = EndpointConfig(volume=tmp_path, worker_env={"VOLUME_DIR": "/elsewhere", "X": "1"})
    assert both.worker_variables == {"VOLUME_DIR": str(tmp_path), "X": "1"}
    assert "VOLUME_DIR" not in EndpointConfig().worker_variables
    with pytest.raises(ValueError, match="volume"):
        EndpointConfig(volume=tmp_path / "missing")


@pytest.mark.parametrize("device, names", [("cpu", ["one_token_generation"]),
                                           ("cuda", ["one_token_generation", "cuda_matmul"])])
def test_the_cuda_check_is_added_only_on_a_cuda_device(device, names):
    from types import SimpleNamespace

    import worker.fitness

    assert [c.__name__ for c in worker.fitness.checks(SimpleNamespace(device=device))] == names


def test_a_model_that_fails_to_load_stops_the_worker_with_its_reason_before_any_check(tmp_path):
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_")}
    env.update(MODEL_NAME=str(tmp_path / "no-such-model"), RUNPOD_SKIP_AUTO_SYSTEM_CHECKS="true",
               RUNPOD_WEBHOOK_GET_JOB="http://127.0.0.1:9/never-reached")
    done = subprocess.run([sys.executable, "-m", "worker"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "no such model folder" in done.stderr
    assert "fitness" not in (done.stdout + done.stderr).lower()
