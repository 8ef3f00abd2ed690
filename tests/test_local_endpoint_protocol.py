"""The local endpoint's wire protocol, with the SDK client on one side and the worker
side played by hand (``FakeWorker``), so that races the real SDK worker only produces
by chance (late progress, a result after a cancel, a silent worker) happen every time.

No worker process is started here (``max_workers=0``).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
import runpod

from local_endpoint.config import MIB
from local_endpoint.worker_env import webhook_templates


NO_WORKERS = dict(max_workers=0, take_hold=0.5, stream_hold=0.5, ping_timeout=1.5,
                  min_execution_timeout=0.1)  # one test times a job out after 300 ms


class FakeWorker:
    """Makes the requests the SDK worker makes (rp_job.py, rp_http.py, rp_ping.py)."""

    def __init__(self, ep, worker_id: str = "fake-1", key: str | None = None) -> None:
        urls = webhook_templates(ep.base_url, ep.endpoint_id)
        self.take_url = urls["RUNPOD_WEBHOOK_GET_JOB"].replace("$ID", worker_id)
        self.done_url = urls["RUNPOD_WEBHOOK_POST_OUTPUT"].replace("$RUNPOD_POD_ID", worker_id)
        self.stream_url = urls["RUNPOD_WEBHOOK_POST_STREAM"].replace("$RUNPOD_POD_ID", worker_id)
        self.ping_url = urls["RUNPOD_WEBHOOK_PING"].replace("$RUNPOD_POD_ID", worker_id)
        self.session = requests.Session()
        self.session.headers["Authorization"] = ep.worker_key if key is None else key

    def take(self, in_progress: int = 0):
        response = self.session.get(f"{self.take_url}&job_in_progress={in_progress}", timeout=30)
        return None if response.status_code == 204 else response.json()

    def take_batch(self, size: int):
        url = self.take_url.replace("/job-take/", "/job-take-batch/")
        response = self.session.get(f"{url}&batch_size={size}&job_in_progress=1", timeout=30)
        return [] if response.status_code == 204 else response.json()

    def stop_signals(self):
        response = self.session.get(self.take_url.replace("/job-take/", "/job-stop/"), timeout=30)
        return [] if response.status_code == 204 else response.json()["jobsToStop"]

    def _post(self, template: str, job_id: str, body: dict) -> dict:
        # As rp_http._transmit does: JSON text under a form-urlencoded header.
        response = self.session.post(
            template.replace("$ID", job_id) + "&isStream=false",
            data=json.dumps(body),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def done(self, job_id: str, body: dict) -> dict:
        return self._post(self.done_url, job_id, body)

    def progress(self, job_id: str, value) -> dict:
        return self._post(self.done_url, job_id, {"status": "IN_PROGRESS", "output": value})

    def chunk(self, job_id: str, value) -> dict:
        return self._post(self.stream_url, job_id, {"output": value})

    def ping(self, *job_ids: str) -> None:
        params = {"runpod_version": "1.12.0"}
        if job_ids:  # the SDK leaves job_id out when it runs nothing
            params["job_id"] = ",".join(job_ids)
        self.session.get(self.ping_url, params=params, timeout=30).raise_for_status()


@pytest.fixture
def ep(local_endpoint_factory):
    return local_endpoint_factory(**NO_WORKERS)


def test_progress_arriving_after_the_result_is_ignored(ep):
    job = ep.endpoint().run({"n": 1})
    worker = FakeWorker(ep)
    taken = worker.take()
    assert taken == {"id": job.job_id, "input": {"n": 1}}
    assert worker.done(job.job_id, {"output": "done"}) == {"accepted": True}
    late = worker.progress(job.job_id, 50)
    assert late["accepted"] is False and "final" in late["reason"]
    assert job.status() == "COMPLETED" and job.output() == "done"
    (ignored,) = [i for i in ep.timeline()["ignored"] if i["job"] == job.job_id]
    assert ignored["what"] == "progress" and "final" in ignored["reason"]


def test_progress_is_the_output_while_the_job_runs(ep):
    endpoint = ep.endpoint()
    job = endpoint.run({"n": 1})
    worker = FakeWorker(ep)
    worker.take()
    worker.progress(job.job_id, {"percent": 30})
    assert job.status() == "IN_PROGRESS"
    assert job.output() == {"percent": 30}
    worker.done(job.job_id, {"output": "finished"})
    assert job.output() == "finished"


def test_a_cancelled_running_job_is_stopped_on_its_worker_and_its_result_ignored(ep):
    job = ep.endpoint().run({"n": 1})
    worker = FakeWorker(ep)
    worker.take()
    assert job.cancel()["status"] == "CANCELLED"
    assert worker.stop_signals() == [job.job_id]
    assert worker.done(job.job_id, {"output": "too late"})["accepted"] is False
    assert job.status() == "CANCELLED" and job.output() is None


def test_a_cancelled_queued_job_is_never_handed_to_a_worker(ep):
    job = ep.endpoint().run({"n": 1})
    job.cancel()
    assert FakeWorker(ep).take() is None
    assert job.status() == "CANCELLED"


def test_a_result_from_a_worker_that_does_not_hold_the_job_is_ignored(ep):
    job = ep.endpoint().run({"n": 1})
    FakeWorker(ep, "fake-1").take()
    assert FakeWorker(ep, "fake-2").done(job.job_id, {"output": "x"})["accepted"] is False
    assert job.status() == "IN_PROGRESS"


def test_a_silent_worker_loses_its_job_to_another_and_the_retry_is_counted(ep):
    endpoint = ep.endpoint()
    job = endpoint.run({"n": 1})
    FakeWorker(ep, "silent").take()  # then never pings or calls again
    second = FakeWorker(ep, "second")
    deadline = time.monotonic() + 15
    taken = None
    while taken is None and time.monotonic() < deadline:
        taken = second.take()
    assert taken is not None and taken["id"] == job.job_id
    second.done(job.job_id, {"output": "ok"})
    assert job.output() == "ok"
    assert endpoint.health()["jobs"]["retried"] == 1
    assert FakeWorker(ep, "silent").done(job.job_id, {"output": "late"})["accepted"] is False


def test_an_execution_timeout_ends_the_job_and_stops_it_on_its_worker(ep):
    job = ep.endpoint().run({"input": {"n": 1}, "policy": {"executionTimeout": 300}})
    worker = FakeWorker(ep)
    worker.take()
    assert worker.stop_signals() == [job.job_id]  # held until the timeout fires
    assert job.status() == "TIMED_OUT"
    assert "300 ms" in job.rp_client.get(f"{ep.endpoint_id}/status/{job.job_id}")["error"]


def test_stream_chunks_are_drained_once_and_the_poll_is_held_when_there_is_nothing(ep):
    job = ep.endpoint().run({"n": 1})
    worker = FakeWorker(ep)
    worker.take()
    worker.chunk(job.job_id, "a")
    worker.chunk(job.job_id, "b")
    get = lambda: job.rp_client.get(f"{ep.endpoint_id}/stream/{job.job_id}")
    assert get()["stream"] == [{"output": "a"}, {"output": "b"}]
    started = time.monotonic()
    assert get() == {"id": job.job_id, "status": "IN_PROGRESS", "stream": []}
    assert time.monotonic() - started >= 0.4  # held for stream_hold (0.5 s)
    worker.chunk(job.job_id, "c")
    worker.done(job.job_id, {"output": ["a", "b", "c"]})
    assert get()["stream"] == [{"output": "c"}]
    assert get() == {"id": job.job_id, "status": "COMPLETED", "stream": []}


def test_a_held_job_take_returns_the_job_that_arrives_meanwhile(ep):
    worker = FakeWorker(ep)
    result = {}
    thread = threading.Thread(target=lambda: result.update(job=worker.take()))
    thread.start()
    time.sleep(0.2)  # the take is now held by the server
    job = ep.endpoint().run({"n": 2})
    thread.join(5)
    assert result["job"] == {"id": job.job_id, "input": {"n": 2}}


def test_batch_take_hands_out_several_jobs_oldest_first(ep):
    endpoint = ep.endpoint()
    ids = [endpoint.run({"n": i}).job_id for i in range(3)]
    jobs = FakeWorker(ep).take_batch(2)
    assert [j["id"] for j in jobs] == ids[:2]
    assert endpoint.health()["jobs"]["inQueue"] == 1


def test_health_and_purge_queue_through_the_sdk(ep):
    endpoint = ep.endpoint()
    for i in range(3):
        endpoint.run({"n": i})
    assert endpoint.health()["jobs"] == {"completed": 0, "failed": 0, "inProgress": 0,
                                         "inQueue": 3, "retried": 0}
    assert endpoint.purge_queue() == {"removed": 3, "status": "completed"}
    assert endpoint.health()["jobs"]["inQueue"] == 0


def test_bad_keys_are_rejected_on_client_and_worker_routes(ep):
    with pytest.raises(RuntimeError, match="401"):
        ep.endpoint(api_key="wrong").run({"n": 1})
    health = f"{ep.url}/{ep.endpoint_id}/health"
    for headers in ({}, {"Authorization": f"Bearer {ep.worker_key}"},
                    {"Authorization": ep.worker_key}):
        assert requests.get(health, headers=headers, timeout=5).status_code == 401
    # Reversed (issue 11): the key alone, as RunPod's curl examples send it, is accepted.
    for headers in ({"Authorization": f"Bearer {ep.api_key}"},
                    {"Authorization": ep.api_key}):
        assert requests.get(health, headers=headers, timeout=5).status_code == 200

    for key in ("", "wrong", ep.api_key, f"Bearer {ep.api_key}"):
        response = FakeWorker(ep, key=key).session.get(FakeWorker(ep).ping_url, timeout=5)
        assert response.status_code == 401, key
    assert FakeWorker(ep).session.get(FakeWorker(ep).ping_url, timeout=5).status_code == 200


def test_oversize_payloads_are_refused_with_413_and_the_limit(ep):
    endpoint = ep.endpoint()
    with pytest.raises(requests.HTTPError) as refused:
        endpoint.run({"blob": "x" * (10 * MIB)})
    assert refused.value.response.status_code == 413
    assert "/run accepts at most 10 MB" in refused.value.response.json()["error"]
    with pytest.raises(requests.HTTPError) as refused:
        endpoint.run_sync({"blob": "x" * (20 * MIB)})
    assert refused.value.response.status_code == 413
    assert "/runsync accepts at most 20 MB" in refused.value.response.json()["error"]

    # Just under the limits: accepted.
    assert endpoint.run({"blob": "x" * (10 * MIB - 100)}).status() == "IN_QUEUE"
    response = requests.post(f"{ep.url}/{ep.endpoint_id}/runsync?wait=1000",
                             json={"input": {"blob": "x" * (15 * MIB)}},
                             headers={"Authorization": f"Bearer {ep.api_key}"}, timeout=30)
    assert response.status_code == 200 and response.json()["status"] == "IN_QUEUE"
    # Reversed (issue 11): wait=0 is outside RunPod's 1000-300000 ms and refused.
    response = requests.post(f"{ep.url}/{ep.endpoint_id}/runsync?wait=0",
                             json={"input": {"n": 1}},
                             headers={"Authorization": f"Bearer {ep.api_key}"}, timeout=30)
    assert response.status_code == 400
    assert response.json() == {"error": "wait is invalid; must be between 1000 and 300000"}


def test_an_unknown_request_id_is_a_404(ep):
    job = ep.endpoint().run({"n": 1})
    job.job_id = "no-such-id"
    with pytest.raises(requests.HTTPError) as missing:
        job.status()
    assert missing.value.response.status_code == 404


def test_a_webhook_off_this_machine_is_refused(ep):
    with pytest.raises(requests.HTTPError) as refused:
        ep.endpoint().run({"input": {"n": 1}, "webhook": "http://example.com/hook"})
    assert refused.value.response.status_code == 400
    assert "loopback" in refused.value.response.json()["error"]


@pytest.fixture
def webhook_receiver():
    received = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def test_the_webhook_receives_the_final_status(ep, webhook_receiver):
    url, received = webhook_receiver
    job = ep.endpoint().run({"input": {"n": 1}, "webhook": url})
    worker = FakeWorker(ep)
    worker.take()
    worker.done(job.job_id, {"output": {"answer": 42}})
    deadline = time.monotonic() + 5
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(received) == 1
    assert received[0]["id"] == job.job_id and received[0]["status"] == "COMPLETED"
    assert received[0]["output"] == {"answer": 42} and "executionTime" in received[0]


def test_results_are_gone_after_the_retention_time(local_endpoint_factory):
    ep = local_endpoint_factory(**NO_WORKERS, retention=0.3)
    job = ep.endpoint().run({"n": 1})
    worker = FakeWorker(ep)
    worker.take()
    worker.done(job.job_id, {"output": 1})
    status = job.rp_client.get(f"{ep.endpoint_id}/status/{job.job_id}")
    assert status["status"] == "COMPLETED"
    time.sleep(0.8)
    with pytest.raises(requests.HTTPError) as gone:
        job.rp_client.get(f"{ep.endpoint_id}/status/{job.job_id}")
    assert gone.value.response.status_code == 404
    [kept] = ep.timeline()["jobs"]  # the measured times outlive the result
    assert kept["id"] == job.job_id and kept["finished"] >= kept["taken"] >= kept["created"]


def test_asyncio_endpoint_health_purge_and_cancel(ep):
    import asyncio

    import aiohttp

    async def scenario():
        async with aiohttp.ClientSession() as session:
            endpoint = ep.asyncio_endpoint(session)
            first = await endpoint.run({"n": 1})
            second = await endpoint.run({"n": 2})
            assert await first.status() == "IN_QUEUE"
            assert (await first.cancel())["status"] == "CANCELLED"
            assert await first.status() == "CANCELLED"
            assert (await endpoint.health())["jobs"]["inQueue"] == 1
            assert await endpoint.purge_queue() == {"removed": 1, "status": "completed"}
            return await second.status()

    assert asyncio.run(scenario()) == "CANCELLED"


def test_a_job_missing_from_two_pings_long_after_its_take_fails_and_frees_the_worker(ep):
    worker = FakeWorker(ep)
    job = ep.endpoint().run({"n": 1})
    assert worker.take()["id"] == job.job_id
    worker.ping()  # just taken: a ping may have read the job list before the take
    worker.ping()
    assert job.status() == "IN_PROGRESS"
    for _ in range(5):  # more than 2 ping intervals (1 s) since the take
        time.sleep(0.5)
        worker.ping(job.job_id)  # listed: still running
    worker.ping()
    assert job.status() == "IN_PROGRESS"  # one miss is not enough
    worker.ping()
    assert job.status() == "FAILED"
    body = job.rp_client.get(f"{ep.endpoint_id}/status/{job.job_id}")
    assert "its result never arrived" in body["error"]
    assert ep.health()["workers"]["running"] == 0


def test_an_unknown_worker_that_never_takes_a_job_is_dropped_after_the_ping_timeout(ep):
    FakeWorker(ep, "ghost").ping()
    assert ep.health()["workers"]["initializing"] == 1
    ep.wait_for(lambda h: h["workers"]["initializing"] == 0, timeout=20)
