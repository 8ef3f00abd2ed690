"""Workers killed (SIGKILL) and frozen (SIGSTOP) mid-job: no job is lost, none ends twice.

Real SDK workers run ``tests/handlers/slow.py``; while a batch of jobs runs, a chaos
thread picks a worker that is running a job and either SIGKILLs its main process
(the SDK's heartbeat process, forked apart, lives on until the endpoint kills the
group) or SIGSTOPs its whole process group (a frozen machine: no more pings). The
endpoint must requeue each such job and finish it elsewhere. Each job's webhook is
the outside witness: it must arrive exactly once per job. ``STRESS_SIZE=full`` runs
many more jobs and faults.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from endpoint_http import FakeReceiver
from stress import percentile, report, rss_mb, size

HANDLERS = Path(__file__).parent / "handlers"
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
JOBS = size(24, 1000)
FAULTS = size(4, 80)  # half kills, half freezes
JOB_SECONDS = size(0.4, 0.2)


def worker_rss(ep) -> float:
    total = 0.0
    for w in ep.workers():
        if w["pid"] and w["state"] not in ("exited", "stopping"):
            try:
                total += rss_mb(w["pid"])
            except Exception:  # it exited meanwhile
                pass
    return round(total, 1)


def test_killed_and_frozen_workers_lose_no_job_and_finish_none_twice(local_endpoint_factory):
    ep = local_endpoint_factory([sys.executable, str(HANDLERS / "slow.py")], max_workers=3,
                                ping_timeout=3, stop_grace=1, max_retries=50,
                                webhook_attempts=1, take_hold=2)
    hooks = FakeReceiver()
    endpoint_rss_before = rss_mb(os.getpid())
    client = ep.endpoint()
    faults: Counter = Counter()
    done = threading.Event()

    def chaos():
        rng = random.Random(11)
        while not done.is_set() and sum(faults.values()) < FAULTS:
            time.sleep(rng.uniform(0.5, 1.5))
            busy = [w for w in ep.workers() if w["state"] == "running" and w["pid"]]
            if not busy:
                continue
            victim = rng.choice(busy)
            try:
                if faults["kill"] <= faults["freeze"]:
                    os.kill(victim["pid"], signal.SIGKILL)
                    faults["kill"] += 1
                else:
                    os.killpg(victim["pid"], signal.SIGSTOP)
                    faults["freeze"] += 1
            except ProcessLookupError:
                pass

    try:
        jobs = [client.run({"input": {"seconds": JOB_SECONDS, "n": n}, "webhook": hooks.url})
                for n in range(JOBS)]
        worker_rss_during = 0.0
        thread = threading.Thread(target=chaos, daemon=True)
        thread.start()
        deadline = time.monotonic() + size(120, 1500)
        statuses = {}
        while time.monotonic() < deadline:
            statuses = {job.job_id: job.status() for job in jobs}
            worker_rss_during = max(worker_rss_during, worker_rss(ep))
            if all(s in FINAL for s in statuses.values()):
                break
            time.sleep(0.5)
        done.set()
        thread.join()
        time.sleep(0.5)  # the last webhooks land
        outputs = {job.job_id: job.output(timeout=5) for job in jobs
                   if statuses.get(job.job_id) == "COMPLETED"}
    finally:
        done.set()
        hooks.close()

    delivered = Counter(json.loads(body)["id"] for body in hooks.received)
    timeline = {j["id"]: j for j in ep.timeline()["jobs"]}
    latencies = [timeline[j.job_id]["finished"] - timeline[j.job_id]["created"] for j in jobs
                 if timeline[j.job_id]["finished"] is not None]
    lost = [i for i, s in statuses.items() if s != "COMPLETED"]
    twice = [i for i, n in delivered.items() if n > 1]
    retried = sum(timeline[j.job_id]["retries"] for j in jobs)
    report("faults", {
        "jobs": JOBS, "kills": faults["kill"], "freezes": faults["freeze"], "retried": retried,
        "lost": len(lost), "completed_twice": len(twice),
        "latency_p50_s": round(percentile(latencies, 50), 2),
        "latency_p99_s": round(percentile(latencies, 99), 2),
        "endpoint_rss_mb_before": round(endpoint_rss_before, 1),
        "endpoint_rss_mb_after": round(rss_mb(os.getpid()), 1),
        "workers_rss_mb_peak": worker_rss_during})
    assert faults["kill"] >= 1 and faults["freeze"] >= 1, "the chaos never found a busy worker"
    assert not lost, {i: statuses[i] for i in lost[:5]}
    assert not twice, twice[:5]
    assert set(delivered) == {job.job_id for job in jobs}  # every job's webhook, once
    assert all(out["slept"] == JOB_SECONDS for out in outputs.values())
    assert retried >= 1  # the faults hit jobs mid-run, and those were run again
