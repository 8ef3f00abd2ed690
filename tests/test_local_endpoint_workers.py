"""Worker processes under the local endpoint: cold start, scale to zero, concurrency,
faults (a killed worker, a worker command that cannot start), execution timeouts,
cancel of a running job, and what a worker can see of the developer's environment.

Every worker is the unmodified SDK worker running a file of tests/handlers/; every
client is the unmodified SDK client. Each fixture checks at teardown that no worker
process (heartbeat included) is left.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from local_endpoint.processes import live_group_members


HANDLERS = Path(__file__).parent / "handlers"


def handler(name: str) -> list[str]:
    return [sys.executable, str(HANDLERS / name)]


def wait_until(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.1)


def status_body(ep, job):
    return job.rp_client.get(f"{ep.endpoint_id}/status/{job.job_id}")


def job_times(ep, job_id):
    return next(j for j in ep.timeline()["jobs"] if j["id"] == job_id)


def test_a_job_cold_starts_a_worker_from_zero_and_the_idle_worker_stops(local_endpoint_factory):
    ep = local_endpoint_factory(handler("echo.py"), min_workers=0, max_workers=2,
                                idle_timeout=1.0)
    assert ep.workers() == [] and ep.health()["workers"] == {"idle": 0, "running": 0,
                                                             "initializing": 0, "ready": 0,
                                                             "throttled": 0}
    assert ep.endpoint().run_sync({"n": 1}, timeout=60) == {"n": 1}

    [worker] = ep.workers()
    [job] = ep.timeline()["jobs"]
    # Measured order of a cold start: request, spawn, first job-take, job taken.
    assert job["created"] <= worker["spawned_at"] < worker["ready_at"] <= job["taken"]
    # The SDK's heartbeat is a second process in the worker's group.
    assert len(live_group_members(worker["pid"])) >= 2

    ep.wait_for(lambda h: sum(h["workers"].values()) == 0, timeout=30)
    [stopped] = wait_until(lambda: [w for w in ep.workers() if w["state"] == "exited"], 10,
                           "worker reaped")
    assert "idle" in stopped["exit_reason"] and not live_group_members(worker["pid"])


def test_an_async_handler_runs_jobs_at_once_under_its_concurrency_modifier(
        local_endpoint_factory):
    ep = local_endpoint_factory(handler("overlap.py"), max_workers=1)

    async def scenario():
        async with aiohttp.ClientSession() as session:
            endpoint = ep.asyncio_endpoint(session)
            jobs = await asyncio.gather(*(endpoint.run({"seconds": 1.0}) for _ in range(4)))
            return await asyncio.gather(*(job.output(timeout=60) for job in jobs))

    outputs = asyncio.run(scenario())
    assert len({o["pid"] for o in outputs}) == 1 and len(ep.workers()) == 1
    # By the handler's own clock: every job started before any of them finished.
    assert max(o["started"] for o in outputs) < min(o["finished"] for o in outputs)

    pid = outputs[0]["pid"]
    ep.close()
    assert live_group_members(pid) == [] and ep.leftover_processes() == []


def test_a_worker_killed_mid_job_loses_the_job_to_a_new_worker(local_endpoint_factory):
    ep = local_endpoint_factory(handler("slow.py"), max_workers=2, idle_timeout=30)
    endpoint = ep.endpoint()
    job = endpoint.run({"seconds": 2})
    worker_id = wait_until(lambda: status_body(ep, job).get("workerId"), 60, "job taken")
    victim = next(w for w in ep.workers() if w["id"] == worker_id)
    wait_until(lambda: f"job {job.job_id} started" in ep.worker_logs()[worker_id], 30,
               "handler started")

    # The main process only, as the out-of-memory killer would: its heartbeat
    # process is orphaned and must be cleaned up by the endpoint.
    os.kill(victim["pid"], signal.SIGKILL)

    output = job.output(timeout=60)
    assert output["slept"] == 2 and output["pid"] != victim["pid"]
    assert endpoint.health()["jobs"]["retried"] == 1
    attempts = job_times(ep, job.job_id)["attempts"]
    assert [a["worker"] for a in attempts][0] == worker_id and len(attempts) == 2
    assert "killed by SIGKILL" in attempts[0]["outcome"]
    assert attempts[1]["outcome"] == "COMPLETED"
    wait_until(lambda: not live_group_members(victim["pid"]), 10, "orphaned heartbeat gone")


def test_a_frozen_worker_is_found_by_its_missed_pings_and_its_job_moves_on(
        local_endpoint_factory):
    ep = local_endpoint_factory(handler("slow.py"), max_workers=2, idle_timeout=30,
                                ping_timeout=2.0)
    job = ep.endpoint().run({"seconds": 1})
    worker_id = wait_until(lambda: status_body(ep, job).get("workerId"), 60, "job taken")
    frozen = next(w for w in ep.workers() if w["id"] == worker_id)
    # SIGSTOP: no exit to notice, and its open long-polls stay open; only the
    # pings (from the heartbeat process, frozen too) stop.
    os.killpg(frozen["pid"], signal.SIGSTOP)
    frozen_at = time.time()

    output = job.output(timeout=60)
    assert output["pid"] != frozen["pid"]
    attempts = job_times(ep, job.job_id)["attempts"]
    assert "went silent" in attempts[0]["outcome"] and attempts[1]["outcome"] == "COMPLETED"
    # Found by its pings (ping_timeout 2 s), not when a held job-take ran out (20 s).
    assert attempts[0]["ended"] - frozen_at < 10
    [gone] = [w for w in ep.workers() if w["id"] == worker_id]
    assert gone["state"] in ("stopping", "exited") and "went silent" in gone["exit_reason"]


@pytest.fixture(scope="module")
def slow(module_local_endpoint_factory):
    ep = module_local_endpoint_factory(handler("slow.py"), min_workers=1, max_workers=1,
                                       min_execution_timeout=1)  # a 1 s executionTimeout below
    ep.wait_for(lambda h: h["workers"]["idle"] == 1, timeout=60)
    return ep


def test_an_execution_timeout_ends_the_job_and_stops_the_handler(slow):
    job = slow.endpoint().run({"input": {"seconds": 30}, "policy": {"executionTimeout": 1000}})
    job.output(timeout=30)
    assert job.status() == "TIMED_OUT"
    body = status_body(slow, job)
    assert "1000 ms" in body["error"] and 1000 <= body["executionTime"] < 10000
    wait_until(lambda: f"job {job.job_id} stopped" in slow.worker_logs()["worker-1"], 15,
               "the stop reached the handler")
    slow.wait_for(lambda h: h["workers"]["idle"] == 1, timeout=15)


def test_cancelling_a_running_job_stops_its_handler(slow):
    job = slow.endpoint().run({"seconds": 30})
    wait_until(lambda: f"job {job.job_id} started" in slow.worker_logs()["worker-1"], 30,
               "handler started")
    assert job.cancel()["status"] == "CANCELLED"
    wait_until(lambda: f"job {job.job_id} stopped" in slow.worker_logs()["worker-1"], 15,
               "the stop reached the handler")
    assert status_body(slow, job)["status"] == "CANCELLED"
    slow.wait_for(lambda h: h["workers"]["idle"] == 1 and h["jobs"]["inProgress"] == 0,
                  timeout=15)


def test_a_worker_command_that_cannot_start_fails_the_queued_job_with_its_log(
        local_endpoint_factory):
    ep = local_endpoint_factory(
        # (The log quotes the command: the message is built so only running it prints it.)
        [sys.executable, "-c", "import sys; print('no model ' + 'here'); sys.exit(3)"],
        max_workers=1, max_start_failures=2)
    job = ep.endpoint().run({"n": 1})
    assert job.output(timeout=30) is None and job.status() == "FAILED"
    error = status_body(ep, job)["error"]
    assert "exited with code 3" in error and "no model here" in error
    assert len(ep.workers()) == 2


def test_workers_never_see_the_developers_home_or_keys(local_endpoint_factory, tmp_path,
                                                        monkeypatch):
    home = tmp_path / "developer"
    (home / ".runpod").mkdir(parents=True)
    (home / ".runpod" / "config.toml").write_text('[default]\napi_key = "developer-key"\n')
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("RUNPOD_API_KEY", "developer-key")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))

    ep = local_endpoint_factory(handler("env_probe.py"), max_workers=1)
    seen = ep.endpoint().run_sync({}, timeout=60)  # completes: the worker key was accepted
    assert seen["sends_worker_key"] is True
    assert seen["config_toml_exists"] is False and seen["has_runpod_api_key"] is False
    assert not seen["home"].startswith(str(home))
    assert seen["xdg_cache_home"] == str(home / ".cache")  # models are still found
    assert seen["hf_home"] == str(tmp_path / "hf")


def test_a_worker_that_ignores_sigterm_is_killed_after_the_grace_period(
        local_endpoint_factory):
    stubborn = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "print('sigterm ' + 'ignored', flush=True); time.sleep(60)")
    ep = local_endpoint_factory([sys.executable, "-c", stubborn], min_workers=1, stop_grace=0.5)
    [worker] = wait_until(ep.workers, 10, "worker spawned")
    # (The log's first line quotes the command: look for what only running it prints.)
    wait_until(lambda: "sigterm ignored" in ep.worker_logs()[worker["id"]], 10,
               "SIGTERM ignored")
    started = time.monotonic()
    ep.close()
    assert time.monotonic() - started < 10
    assert live_group_members(worker["pid"]) == []
    [stopped] = ep.workers()  # the reports outlive the endpoint
    assert stopped["returncode"] == -signal.SIGKILL


UNSENDABLE_RESULT = """
import runpod
def handler(job):
    if job["input"].get("bad"):
        return {"x": {1, 2}}  # a set: the SDK's json.dumps fails and it drops the result
    return {"ok": True}
runpod.serverless.start({"handler": handler})
"""


def test_a_job_whose_result_never_arrives_fails_once_pings_stop_listing_it(
        local_endpoint_factory, tmp_path):
    script = tmp_path / "unsendable.py"
    script.write_text(UNSENDABLE_RESULT)
    ep = local_endpoint_factory([sys.executable, str(script)], max_workers=1,
                                execution_timeout=0, idle_timeout=1.0)
    endpoint = ep.endpoint()
    job = endpoint.run({"bad": True})
    wait_until(lambda: job.status() == "FAILED", timeout=60, what="the lost job failed")
    body = status_body(ep, job)
    assert "its result never arrived" in body["error"]
    # The worker is free again: the next job runs, then the endpoint scales to zero.
    assert endpoint.run_sync({"bad": False}, timeout=60) == {"ok": True}
    wait_until(lambda: ep.workers() == [] or all(w["state"] == "exited" for w in ep.workers()),
               timeout=60, what="scale to zero")


ENDPOINT_HOST = """
import json, sys, time
from local_endpoint import LocalEndpoint
ep = LocalEndpoint([sys.executable, sys.argv[1]], min_workers=1).start()
ep.wait_for(lambda h: h["workers"]["idle"] == 1, timeout=60)
print(json.dumps([w["pid"] for w in ep.workers()]), flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_workers_die_with_an_endpoint_that_is_killed_uncleanly(tmp_path):
    import json
    import subprocess
    host = tmp_path / "host.py"
    host.write_text(ENDPOINT_HOST)
    process = subprocess.Popen([sys.executable, str(host), str(HANDLERS / "echo.py")],
                               stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    [pid] = json.loads(process.stdout.readline())
    try:
        process.kill()
        process.wait(timeout=10)
        # The worker's main process dies with the endpoint (its heartbeat process,
        # forked by the SDK, does not inherit the death signal: it sleeps between pings).
        wait_until(lambda: pid not in live_group_members(pid), timeout=20,
                   what="the worker process ended")
    finally:
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.kill()


SYNC_SLEEPER = """
import time, runpod
def handler(job):
    print(f"sleeper: job {job['id']} started", flush=True)
    time.sleep(job["input"]["seconds"])  # sync: cancelling its task cannot stop it
    return {"slept": job["input"]["seconds"]}
runpod.serverless.start({"handler": handler})
"""


def test_a_sync_handler_that_ignores_a_cancel_is_replaced_and_the_queue_moves_on(
        local_endpoint_factory, tmp_path):
    script = tmp_path / "sleeper.py"
    script.write_text(SYNC_SLEEPER)
    ep = local_endpoint_factory([sys.executable, str(script)], max_workers=1,
                                stop_grace=1.0, idle_timeout=30)
    endpoint = ep.endpoint()
    stuck = endpoint.run({"seconds": 300})
    wait_until(lambda: f"job {stuck.job_id} started" in ep.worker_logs().get("worker-1", ""),
               60, "handler started")
    assert stuck.cancel()["status"] == "CANCELLED"
    assert endpoint.run_sync({"seconds": 0}, timeout=90) == {"slept": 0}
    # The replacement can finish the job before worker-1's stop grace ends (on runpod
    # 2.0 it starts in well under a second: a lazy `import runpod`, no 0.1 s poll).
    reason = wait_until(lambda: {w["id"]: w for w in ep.workers()}["worker-1"]["exit_reason"], 30,
                        "worker-1 gone")
    assert "cannot be interrupted" in reason


FITNESS_PROBE = """
import asyncio
import runpod.serverless.modules.rp_fitness as fitness  # 2.0: an alias of runpod._health.fitness
asyncio.run(fitness.run_fitness_checks())  # what the SDK's run_worker does before its first job-take
print("registered", len(fitness._fitness_checks))
"""


def test_the_sdks_built_in_fitness_checks_stay_off_in_a_workers_environment(tmp_path):
    # Both SDK lines register GPU and system checks (one opens TCP to 8.8.8.8) unless
    # told not to; 2.0 also runs them at import when RUNPOD_ENDPOINT_ID is set, as the
    # platform sets it. A worker of this endpoint must register none on either line.
    from local_endpoint.worker_env import worker_environment

    env = worker_environment(parent=dict(os.environ), home=str(tmp_path), base_url="http://127.0.0.1:9",
                             endpoint_id="ep", worker_id="worker-1", worker_key="wk", ping_interval_ms=1000,
                             extra={"RUNPOD_ENDPOINT_ID": "ep"})
    import subprocess

    done = subprocess.run([sys.executable, "-c", FITNESS_PROBE], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "registered 0"
