"""Load: many clients at once lose no job, and the endpoint's memory is bounded by
retention, not by the number of jobs it has served.

The endpoint runs in its own process (``tests/serve_endpoint.py``) so that its memory
is measured apart from the clients'. Client threads send jobs in rounds, half through
``/runsync`` and half through ``/run`` then ``/status`` polls; every job carries a
payload that comes back as its output. After each round the retention time passes:
the jobs are forgotten (a status is then 404) and the endpoint's RSS must level off.
``STRESS_SIZE=full`` (``make test-full``) sends thousands of jobs from tens of clients.
"""

from __future__ import annotations

import threading
import time

import requests

from endpoint_http import CliEndpoint
from stress import percentile, report, rss_mb, size

FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
CLIENTS = size(8, 32)
ROUNDS = 3
JOBS_PER_ROUND = size(100, 2000)
PAYLOAD = size(4_000, 10_000)  # characters per job, sent and returned
RETENTION = 1.0
WORKERS = size(2, 3)


def run_round(ep: CliEndpoint, first: int, latencies: list, failures: list, ids: list) -> None:
    base = f"{ep.url}/{ep.endpoint_id}"
    numbers = iter(range(first, first + JOBS_PER_ROUND))
    lock = threading.Lock()

    def client(index: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {ep.api_key}"
        while True:
            with lock:
                n = next(numbers, None)
            if n is None:
                return
            job_input = {"n": n, "pad": "x" * PAYLOAD}
            started = time.monotonic()
            try:
                if n % 2:
                    body = session.post(f"{base}/runsync", json={"input": job_input},
                                        timeout=120).json()
                else:
                    body = session.post(f"{base}/run", json={"input": job_input}, timeout=30).json()
                while body.get("status") not in FINAL:
                    time.sleep(0.05)
                    body = session.get(f"{base}/status/{body['id']}", timeout=30).json()
            except (requests.RequestException, ValueError, KeyError) as problem:
                failures.append((n, repr(problem)))
                continue
            latency = time.monotonic() - started
            with lock:
                latencies.append(latency)
                ids.append(body["id"])
                if body.get("status") != "COMPLETED" or body.get("output") != job_input:
                    failures.append((n, body.get("status"), str(body.get("error"))[:200]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_many_clients_lose_no_job_and_memory_is_bounded_by_retention():
    ep = CliEndpoint("echo_many.py", api_key="load-key", endpoint_id="load", idle_workers=WORKERS,
                     settings=dict(min_workers=WORKERS, max_workers=WORKERS,
                                   retention=RETENTION, runsync_retention=RETENTION,
                                   take_hold=5.0))
    try:
        endpoint_pid = ep.process.pid
        rss = [rss_mb(endpoint_pid)]
        latencies: list = []
        failures: list = []
        ids: list = []
        started = time.monotonic()
        for round_ in range(ROUNDS):
            run_round(ep, round_ * JOBS_PER_ROUND, latencies, failures, ids)
            time.sleep(RETENTION + 0.6)  # the round's results pass their retention
            rss.append(rss_mb(endpoint_pid))
        elapsed = time.monotonic() - started
        gone = requests.get(f"{ep.url}/{ep.endpoint_id}/status/{ids[0]}",
                            headers={"Authorization": f"Bearer {ep.api_key}"}, timeout=10)
        health = ep.health()
    finally:
        ep.close()

    jobs = ROUNDS * JOBS_PER_ROUND
    duplicated = len(ids) - len(set(ids))
    # What keeping every job's input and output would take, in MB.
    unbounded_mb = jobs * 2 * PAYLOAD / 2**20
    report("load", {
        "jobs": jobs, "clients": CLIENTS, "workers": WORKERS, "lost": len(failures),
        "duplicated": duplicated, "jobs_per_s": round(jobs / elapsed, 1),
        "latency_p50_ms": round(percentile(latencies, 50) * 1000),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000),
        "endpoint_rss_mb_start_and_after_each_round": [round(r, 1) for r in rss],
        "payloads_if_all_kept_mb": round(unbounded_mb, 1)})
    assert not failures, failures[:5]
    assert len(ids) == jobs and duplicated == 0
    assert health["jobs"]["completed"] == jobs
    assert gone.status_code == 404  # the first job is forgotten after its retention
    # After the first round the memory levels off: later rounds add far less than
    # keeping their jobs would (a floor for allocator noise at the small size).
    later_growth = rss[-1] - rss[1]
    assert later_growth < max(25.0, unbounded_mb * (ROUNDS - 1) / ROUNDS / 4), rss
