"""Hostile or broken input: each case is a 4xx with a JSON reason, never a 500.

Each test names one input that once made the local endpoint answer 500 (or misbehave)
and checks the answer a client gets now. Requests are sent as raw bytes
(``endpoint_http.raw_request``) where no HTTP library would send them.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path

import pytest

from endpoint_http import FakeReceiver, client_routes, raw_request, worker_routes
from local_endpoint.guards import MAX_JSON_DEPTH

HANDLERS = Path(__file__).parent / "handlers"
NO_WORKERS = dict(max_workers=0, take_hold=0.5, stream_hold=0.5, ping_timeout=1.5)


@pytest.fixture
def ep(local_endpoint_factory):
    return local_endpoint_factory(**NO_WORKERS)


def client_headers(ep, content_type="application/json"):
    return [("Authorization", f"Bearer {ep.api_key}"), ("Content-Type", content_type)]


def worker_headers(ep):
    return [("Authorization", ep.worker_key),
            ("Content-Type", "application/x-www-form-urlencoded")]


def assert_json_refusal(answer, status=400):
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers["content-type"].startswith("application/json")
    assert isinstance(answer.json()["error"], str) and answer.json()["error"]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# ------------------------------------------------------------ headers
@pytest.mark.parametrize("side", ["client", "worker"])
def test_an_authorization_header_that_is_not_utf8_is_a_400_on_every_route(ep, side):
    routes = (client_routes(ep.endpoint_id, "job-1") if side == "client"
              else worker_routes(ep.endpoint_id, "w-1", "job-1"))
    for value in (b"Bearer \xff\xfe", b"\xc3\x28", b"Bearer " + ep.api_key.encode() + b"\x80"):
        for method, path in routes:
            answer = raw_request(ep.port, method, path, [("Authorization", value)], body=b"{}")
            assert_json_refusal(answer)
            assert "UTF-8" in answer.json()["error"]


# --------------------------------------------------------------- bodies
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 900, 5000, 100_000])
def test_json_nested_too_deep_is_a_400_on_run_runsync_and_the_worker_posts(ep, depth):
    body = ('{"input": ' + nested(depth - 1) + "}").encode()
    for path in ("run", "runsync"):
        answer = raw_request(ep.port, "POST", f"/v2/{ep.endpoint_id}/{path}",
                             client_headers(ep), body)
        assert_json_refusal(answer)
        assert "nested too deeply" in answer.json()["error"]
    for method, path in worker_routes(ep.endpoint_id, "w-1", "job-1"):
        if method == "POST":
            answer = raw_request(ep.port, method, path, worker_headers(ep),
                                 ('{"output": ' + nested(depth - 1) + "}").encode())
            assert_json_refusal(answer)
            assert "nested too deeply" in answer.json()["error"]


def test_json_as_deep_as_allowed_goes_through_the_job_take_and_the_status_body(ep):
    from test_local_endpoint_protocol import FakeWorker

    deepest = nested(MAX_JSON_DEPTH - 1)  # {"input": ...} is one level more
    answer = raw_request(ep.port, "POST", f"/v2/{ep.endpoint_id}/run", client_headers(ep),
                         ('{"input": ' + deepest + "}").encode())
    assert answer.status == 200, answer.body[:200]
    job_id = answer.json()["id"]
    worker = FakeWorker(ep)
    taken = worker.take()
    assert taken["id"] == job_id and json.dumps(taken["input"]) == json.dumps(json.loads(deepest))
    assert worker.done(job_id, {"output": json.loads(deepest)})["accepted"] is True
    status = raw_request(ep.port, "GET", f"/v2/{ep.endpoint_id}/status/{job_id}",
                         client_headers(ep))
    assert status.status == 200 and status.json()["status"] == "COMPLETED"


@pytest.mark.parametrize("body", [b"\xff\xfe{", b'{"input": "\xff"}', b"", b"null", b"[]",
                                  b'{"input": 1' + b" " * 10, b"\x00" * 64])
def test_bodies_that_are_not_a_json_object_are_a_400(ep, body):
    for path in ("run", "runsync"):
        answer = raw_request(ep.port, "POST", f"/v2/{ep.endpoint_id}/{path}",
                             client_headers(ep), body)
        assert_json_refusal(answer)


@pytest.mark.parametrize("timeout", ["9" * 400, "1e400", "-1", "0", '"5000"', "true", "1.5e3",
                                     str(2 ** 64)])
def test_an_execution_timeout_that_is_no_sane_number_of_milliseconds_is_a_400(ep, timeout):
    body = ('{"input": 1, "policy": {"executionTimeout": ' + timeout + "}}").encode()
    answer = raw_request(ep.port, "POST", f"/v2/{ep.endpoint_id}/run", client_headers(ep), body)
    assert_json_refusal(answer)
    assert "executionTimeout" in answer.json()["error"]


@pytest.mark.parametrize("wait", ["9" * 400, "9" * 5000, "-" + "9" * 400, "1e9", "abc", ""])
def test_a_runsync_wait_of_any_text_is_never_a_500(ep, wait):
    answer = raw_request(ep.port, "POST", f"/v2/{ep.endpoint_id}/runsync?wait={wait}",
                         client_headers(ep), b'{"input": 1}')
    assert answer.status < 500, answer.body[:200]
    assert answer.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("url", ["http://[::1", "http://[::1/hook", "http://127.0.0.1:99999/",
                                 "http://127.0.0.1:abc/", "http://127.0.0.1:-1/",
                                 "http://[::1]:65536/", "http://[not-an-ip]/", 12345,
                                 ["http://127.0.0.1/"], "http://127.0.0.1\x00/",
                                 "http:///no-host", ""])
def test_a_webhook_that_is_not_a_valid_loopback_url_is_a_400(ep, url):
    body = json.dumps({"input": 1, "webhook": url}).encode()
    answer = raw_request(ep.port, "POST", f"/v2/{ep.endpoint_id}/run", client_headers(ep), body)
    assert_json_refusal(answer)
    assert "webhook" in answer.json()["error"]


# -------------------------------------------------------------- webhooks
@pytest.mark.parametrize("code", [302, 307, 308])
def test_a_webhook_receiver_that_redirects_never_makes_the_endpoint_post_elsewhere(
        local_endpoint_factory, code):
    from test_local_endpoint_protocol import FakeWorker

    ep = local_endpoint_factory(**NO_WORKERS, webhook_attempts=2, webhook_retry_interval=0.2)
    target = FakeReceiver()  # on loopback here; the redirect could name any address
    redirecting = FakeReceiver(code, {"Location": target.url})
    try:
        job = ep.endpoint().run({"input": {"n": 1}, "webhook": redirecting.url})
        worker = FakeWorker(ep)
        worker.take()
        worker.done(job.job_id, {"output": "secret"})
        deadline = time.monotonic() + 30
        while len(redirecting.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        # Both attempts reached the URL the client gave, and a redirect is a failed
        # attempt (retried), never a reason to post the result somewhere else.
        assert len(redirecting.received) == 2
        assert json.loads(redirecting.received[0])["output"] == "secret"
        time.sleep(0.5)
        assert target.received == []
    finally:
        redirecting.close()
        target.close()


# --------------------------------------------------------------- workers
def test_requests_with_made_up_worker_ids_never_delay_the_next_job(local_endpoint_factory):
    # ping_timeout is long: a phantom counted as a free worker would hold the job
    # that long, while a real worker's cold start takes a few seconds.
    ep = local_endpoint_factory([sys.executable, str(HANDLERS / "echo.py")], max_workers=1,
                                ping_timeout=60, take_hold=5)
    headers = worker_headers(ep)
    for n in range(5):
        for method, path in worker_routes(ep.endpoint_id, f"phantom-{n}", "no-such-job"):
            if "job-take" not in path and "job-stop" not in path:
                raw_request(ep.port, method, path, headers, b"{}" if method == "POST" else b"")
    # One worker started by hand that takes, then crashes mid-poll (hangs up).
    take = worker_routes(ep.endpoint_id, "crashed-by-hand", "x")[0][1]
    with socket.create_connection(("127.0.0.1", ep.port)) as sock:
        sock.sendall(f"GET {take} HTTP/1.1\r\nHost: x\r\nAuthorization: {ep.worker_key}\r\n\r\n"
                     .encode())
        time.sleep(0.3)
    assert ep.health()["workers"]["initializing"] == 0  # no phantom is a starting worker
    started = time.monotonic()
    job = ep.endpoint().run({"n": 1})
    assert job.output(timeout=50) == {"n": 1}
    waited = time.monotonic() - started
    [record] = [j for j in ep.timeline()["jobs"] if j["id"] == job.job_id]
    assert record["attempts"][0]["worker"].startswith("worker-"), record
    assert waited < ep.config.ping_timeout, f"the job waited {waited:.1f} s"


def test_an_external_worker_is_free_capacity_only_while_it_asks_for_work():
    from local_endpoint.scaling import EXTERNAL_TAKE_GAP_S, plan_scaling
    from local_endpoint.workers import Worker

    def plan(*workers, now=100.0):
        return plan_scaling(queued=1, workers=list(workers), min_workers=0, max_workers=1,
                            idle_timeout=5.0, now=now, spawn_allowed=True).spawn

    by_hand = Worker(id="by-hand", spawned_at=0.0, ready_at=1.0)
    assert plan(by_hand) == 1  # ready once, asking for nothing now: maybe gone
    by_hand.open_takes = 1
    assert plan(by_hand) == 0  # waiting in a job-take: it gets the job
    by_hand.open_takes, by_hand.take_ended_at = 0, 100.0 - EXTERNAL_TAKE_GAP_S / 2
    assert plan(by_hand) == 0  # between two polls
    by_hand.take_ended_at = None  # it hung up
    assert plan(by_hand) == 1
    never_took = Worker(id="never-took", spawned_at=0.0)
    assert plan(never_took) == 1  # not a starting worker, and not one of max_workers
