"""Routes and behaviour that clients other than the Python SDK use (issue 11): the JS
SDK's status-sync, /retry, the wait rules, JSON 404/405, the key alone, /health's
worker fields, policy.ttl and executionTimeout's minimum, webhook bodies and retries.

The worker side is played by hand (``FakeWorker``); no worker process is started.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from local_endpoint.config import EndpointConfig
from test_local_endpoint_protocol import NO_WORKERS, FakeWorker

WAIT_INVALID = {"error": "wait is invalid; must be between 1000 and 300000"}


@pytest.fixture
def ep(local_endpoint_factory):
    return local_endpoint_factory(**NO_WORKERS)


def call(ep, method: str, route: str, *, headers=None, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {ep.api_key}"} if headers is None else headers
    return requests.request(method, f"{ep.url}/{ep.endpoint_id}/{route}", headers=headers,
                            timeout=30, **kwargs)


def failed_job(ep) -> str:
    job_id = call(ep, "POST", "run", json={"input": {"n": 1}}).json()["id"]
    worker = FakeWorker(ep)
    assert worker.take()["id"] == job_id
    worker.done(job_id, {"error": "handler raised", "output": "partial"})
    return job_id


# ------------------------------------------------------------------ status-sync
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_status_sync_holds_until_the_job_ends(ep, method):
    job_id = call(ep, "POST", "run", json={"input": {"n": 1}}).json()["id"]
    worker = FakeWorker(ep)
    worker.take()
    finish = threading.Timer(0.5, worker.done, args=(job_id, {"output": "done"}))
    finish.start()
    started = time.monotonic()
    body = call(ep, method, f"status-sync/{job_id}?wait=20000").json()
    held = time.monotonic() - started
    finish.join()
    assert body["status"] == "COMPLETED" and body["output"] == "done"
    assert 0.4 <= held < 10  # answered when the result came, not at the end of the wait


def test_status_sync_answers_the_current_status_when_the_wait_is_over(ep):
    job_id = call(ep, "POST", "run", json={"input": {"n": 1}}).json()["id"]
    started = time.monotonic()
    body = call(ep, "GET", f"status-sync/{job_id}?wait=1000").json()
    assert body == {"id": job_id, "status": "IN_QUEUE"}
    assert time.monotonic() - started >= 0.9


def test_status_sync_of_an_unknown_job_is_a_404_and_a_bad_wait_a_400(ep):
    response = call(ep, "GET", "status-sync/no-such-job?wait=1000")
    assert response.status_code == 404 and "does not exist" in response.json()["error"]
    job_id = call(ep, "POST", "run", json={"input": {"n": 1}}).json()["id"]
    response = call(ep, "GET", f"status-sync/{job_id}?wait=999")
    assert response.status_code == 400 and response.json() == WAIT_INVALID


# ------------------------------------------------------------------------ retry
def test_retry_puts_a_failed_job_back_in_the_queue_under_its_id(ep):
    job_id = failed_job(ep)
    response = call(ep, "POST", f"retry/{job_id}")
    assert response.status_code == 200
    assert response.json() == {"id": job_id, "status": "IN_QUEUE"}
    status = call(ep, "GET", f"status/{job_id}").json()
    assert status["status"] == "IN_QUEUE" and "output" not in status and "error" not in status
    worker = FakeWorker(ep, "second")
    assert worker.take()["id"] == job_id
    worker.done(job_id, {"output": "second try"})
    status = call(ep, "GET", f"status/{job_id}").json()
    assert status["status"] == "COMPLETED" and status["output"] == "second try"
    assert ep.health()["jobs"]["retried"] == 1


def test_retry_puts_a_timed_out_job_back_in_the_queue(ep):
    job_id = call(ep, "POST", "run",
                  json={"input": {}, "policy": {"executionTimeout": 200}}).json()["id"]
    worker = FakeWorker(ep)
    worker.take()
    assert worker.stop_signals() == [job_id]
    assert call(ep, "GET", f"status/{job_id}").json()["status"] == "TIMED_OUT"
    assert call(ep, "POST", f"retry/{job_id}").json() == {"id": job_id, "status": "IN_QUEUE"}


def test_retry_of_a_job_that_did_not_fail_is_a_400_and_of_an_unknown_one_a_404(ep):
    job_id = call(ep, "POST", "run", json={"input": {"n": 1}}).json()["id"]
    response = call(ep, "POST", f"retry/{job_id}")
    assert response.status_code == 400 and "IN_QUEUE" in response.json()["error"]
    assert call(ep, "GET", f"status/{job_id}").json()["status"] == "IN_QUEUE"
    assert call(ep, "POST", "retry/no-such-job").status_code == 404


# ------------------------------------------------------------------- wait rules
@pytest.mark.parametrize("wait", ["0", "29", "999", "300001", "abc", "1.5e3", "-1000", ""])
def test_runsync_refuses_a_wait_outside_1000_to_300000_ms(ep, wait):
    response = call(ep, "POST", f"runsync?wait={wait}", json={"input": {"n": 1}})
    assert response.status_code == 400 and response.json() == WAIT_INVALID
    assert ep.health()["jobs"]["inQueue"] == 0  # refused before a job was made


def test_runsync_holds_for_the_wait_it_is_given(ep):
    started = time.monotonic()
    body = call(ep, "POST", "runsync?wait=1000", json={"input": {"n": 1}}).json()
    assert body["status"] == "IN_QUEUE" and time.monotonic() - started >= 0.9


def test_runsync_waits_90_s_by_default_as_documented():
    assert EndpointConfig().runsync_wait == 90


# ---------------------------------------------------------------- error shapes
def test_unknown_routes_and_wrong_methods_answer_json(ep):
    for route in ("no-such-route", "status"):
        response = call(ep, "GET", route)
        assert response.status_code == 404
        assert "no route" in response.json()["error"]
    response = requests.get(f"{ep.base_url}/elsewhere", timeout=5)
    assert response.status_code == 404 and "/v2/" in response.json()["error"]

    response = call(ep, "GET", "run")
    assert response.status_code == 405 and "POST" in response.json()["error"]
    assert "POST" in response.headers["Allow"]
    assert call(ep, "DELETE", "health").json()["error"].startswith("DELETE is not allowed")


# ---------------------------------------------------------------------- health
def test_health_reports_ready_and_throttled_workers(ep):
    assert ep.health()["workers"] == {"idle": 0, "initializing": 0, "ready": 0,
                                      "running": 0, "throttled": 0}
    worker = FakeWorker(ep)
    job_id = call(ep, "POST", "run", json={"input": {"n": 1}}).json()["id"]
    worker.take()
    workers = call(ep, "GET", "health").json()["workers"]
    assert workers == {"idle": 0, "initializing": 0, "ready": 1, "running": 1, "throttled": 0}
    worker.done(job_id, {"output": 1})
    assert ep.health()["workers"]["ready"] == 1 and ep.health()["workers"]["idle"] == 1


def test_a_cancelled_queued_job_has_an_execution_time_of_zero(ep):
    job = ep.endpoint().run({"n": 1})
    body = job.cancel()
    assert body["status"] == "CANCELLED" and body["executionTime"] == 0
    assert "delayTime" in body


# ------------------------------------------------------------------------- ttl
def test_a_job_past_its_ttl_is_deleted_then_404(local_endpoint_factory):
    ep = local_endpoint_factory(**NO_WORKERS, min_ttl=0.1)
    policy = {"ttl": 1500}
    done = call(ep, "POST", "run", json={"input": 1, "policy": policy}).json()["id"]
    running = call(ep, "POST", "run", json={"input": 2, "policy": policy}).json()["id"]
    queued = call(ep, "POST", "run", json={"input": 3, "policy": policy}).json()["id"]
    kept = call(ep, "POST", "run", json={"input": 4}).json()["id"]
    worker = FakeWorker(ep)
    assert [j["id"] for j in worker.take_batch(2)] == [done, running]
    worker.done(done, {"output": "finished in time"})
    assert call(ep, "GET", f"status/{done}").json()["status"] == "COMPLETED"
    stopped, deadline = [], time.monotonic() + 10
    while not stopped and time.monotonic() < deadline:
        stopped = worker.stop_signals()
    assert stopped == [running]  # deleted while it ran: its worker is told to stop it
    for job_id in (done, running, queued):
        assert call(ep, "GET", f"status/{job_id}").status_code == 404, job_id
    assert call(ep, "GET", f"status/{kept}").json()["status"] == "IN_QUEUE"
    assert worker.done(running, {"output": "late"})["accepted"] is False
    assert [j["id"] for j in worker.take_batch(5)] == [kept]


def test_a_ttl_below_the_documented_minimum_of_10_s_is_refused(ep):
    assert EndpointConfig().min_ttl == 10
    response = call(ep, "POST", "run", json={"input": 1, "policy": {"ttl": 9_999}})
    assert response.status_code == 400 and "policy.ttl" in response.json()["error"]
    assert call(ep, "POST", "run", json={"input": 1, "policy": {"ttl": 10_000}}).status_code == 200


# ----------------------------------------------------------- executionTimeout
def test_an_execution_timeout_below_the_platform_minimum_is_refused(local_endpoint_factory):
    ep = local_endpoint_factory(max_workers=0)  # min_execution_timeout: the default
    assert EndpointConfig().min_execution_timeout == 5
    for too_short in (1, 4_999):
        response = call(ep, "POST", "run",
                        json={"input": 1, "policy": {"executionTimeout": too_short}})
        assert response.status_code == 400
        assert "policy.executionTimeout" in response.json()["error"]
        assert "5000" in response.json()["error"]
    for bad in (0, -5, "5000", 5000.5, True, 10 ** 300):
        response = call(ep, "POST", "run", json={"input": 1, "policy": {"executionTimeout": bad}})
        assert response.status_code == 400, bad
    assert call(ep, "POST", "run",
                json={"input": 1, "policy": {"executionTimeout": 5_000}}).status_code == 200


# --------------------------------------------------------------------- webhooks
class FlakyReceiver:
    """A loopback webhook receiver that answers 500 to the first ``failures`` posts."""

    def __init__(self, failures: int) -> None:
        self.received: list[tuple[float, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.received.append((time.monotonic(), body))
                self.send_response(500 if len(receiver.received) <= failures else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_webhooks_carry_input_and_webhook_and_are_retried_twice_an_interval_apart(
        local_endpoint_factory):
    assert (EndpointConfig().webhook_attempts, EndpointConfig().webhook_retry_interval) == (3, 10)
    ep = local_endpoint_factory(**NO_WORKERS, webhook_retry_interval=0.4)
    receiver = FlakyReceiver(failures=5)  # never accepted: all three tries are made
    try:
        job_id = call(ep, "POST", "run",
                      json={"input": {"prompt": "hi"}, "webhook": receiver.url}).json()["id"]
        worker = FakeWorker(ep)
        worker.take()
        worker.done(job_id, {"output": {"answer": 42}})
        deadline = time.monotonic() + 10
        while len(receiver.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.6)  # no fourth try
    finally:
        receiver.close()
    times = [at for at, _ in receiver.received]
    bodies = [body for _, body in receiver.received]
    assert len(bodies) == 3
    assert all(later - earlier >= 0.35 for earlier, later in zip(times, times[1:]))
    body = bodies[0]
    assert body["id"] == job_id and body["status"] == "COMPLETED"
    assert body["output"] == {"answer": 42} and "executionTime" in body
    assert body["input"] == {"prompt": "hi"} and body["webhook"] == receiver.url


def test_a_webhook_accepted_on_a_retry_is_not_sent_again(local_endpoint_factory):
    ep = local_endpoint_factory(**NO_WORKERS, webhook_retry_interval=0.2)
    receiver = FlakyReceiver(failures=1)
    try:
        job_id = call(ep, "POST", "run", json={"input": 1, "webhook": receiver.url}).json()["id"]
        worker = FakeWorker(ep)
        worker.take()
        worker.done(job_id, {"output": 1})
        deadline = time.monotonic() + 10
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        receiver.close()
    assert len(receiver.received) == 2
