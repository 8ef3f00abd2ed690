"""The curl forms of RunPod's documentation, run with the real ``curl`` against
``python -m local_endpoint``; each answer's documented fields are checked by name.

The forms and fields are those of docs.runpod.io/serverless/endpoints/operation-reference:
``curl --request POST --url .../runsync -H "accept: application/json"
-H "authorization: $RUNPOD_API_KEY" -H "content-type: application/json" -d '{...}'``
(the key with no ``Bearer``; both SDKs send ``Bearer <key>``, and so does the
example of docs.runpod.io/sdks/python/endpoints), and ``/cancel``, ``/retry`` and
``/purge-queue`` posted with no body at all.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from endpoint_http import CliEndpoint

FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
STATUS_FIELDS = {"delayTime", "executionTime", "id", "output", "status"}


@pytest.fixture(scope="module")
def ep():
    if shutil.which("curl") is None:
        pytest.fail("curl is not installed (make test installs it on Debian: "
                    "apt-get install -y curl)", pytrace=False)
    endpoint = CliEndpoint("conformance.py", api_key="curl-key")
    yield endpoint
    endpoint.close()


def curl(ep, method: str, path: str, body: dict | None = None, *,
         key_form: str = "authorization: {key}") -> tuple[int, dict]:
    """One documented curl call; the HTTP status and the JSON answer."""
    args = ["curl", "--silent", "--show-error", "--max-time", "120",
            "--write-out", "\n%{http_code}", "--request", method,
            "--url", f"{ep.url}/{ep.endpoint_id}/{path}",
            "-H", "accept: application/json", "-H", key_form.format(key=ep.api_key)]
    if body is not None:
        args += ["-H", "content-type: application/json", "-d", json.dumps(body)]
    run = subprocess.run(args, capture_output=True, text=True, timeout=150)
    assert run.returncode == 0, run.stderr
    text, _, code = run.stdout.rpartition("\n")
    return int(code), json.loads(text)


def until_final(ep, job_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        code, body = curl(ep, "GET", f"status/{job_id}")
        assert code == 200, body
        if body["status"] in FINAL or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def until_status(ep, job_id: str, wanted: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        code, body = curl(ep, "GET", f"status/{job_id}")
        if body.get("status") == wanted or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


@pytest.mark.parametrize("key_form", ["authorization: {key}", "Authorization: Bearer {key}"],
                         ids=["documented-bare-key", "bearer"])
def test_runsync_answers_the_documented_fields(ep, key_form):
    code, body = curl(ep, "POST", "runsync", {"input": {"prompt": "Hello, world!"}},
                      key_form=key_form)
    assert code == 200, body
    assert STATUS_FIELDS <= set(body)
    assert body["status"] == "COMPLETED" and body["output"] == [{"prompt": "Hello, world!"}]
    assert isinstance(body["delayTime"], int) and isinstance(body["executionTime"], int)


def test_runsync_with_the_documented_wait_parameter(ep):
    code, body = curl(ep, "POST", "runsync?wait=120000", {"input": {"n": 1}})
    assert code == 200 and body["status"] == "COMPLETED", body


def test_run_then_status_answer_the_documented_fields(ep):
    code, body = curl(ep, "POST", "run", {"input": {"n": 2}})
    assert code == 200
    assert set(body) >= {"id", "status"} and body["status"] == "IN_QUEUE"
    final = until_final(ep, body["id"])
    assert STATUS_FIELDS <= set(final)
    assert final["id"] == body["id"] and final["status"] == "COMPLETED"
    assert final["output"] == [{"n": 2}]


def test_stream_answers_status_and_stream_of_outputs(ep):
    _, job = curl(ep, "POST", "run", {"input": {"chunks": ["x", "y"], "delay": 0.2}})
    outputs, status = [], None
    deadline = time.monotonic() + 30
    while status not in FINAL and time.monotonic() < deadline:
        code, body = curl(ep, "GET", f"stream/{job['id']}")
        assert code == 200 and {"status", "stream"} <= set(body), body
        outputs += [item["output"] for item in body["stream"]]
        status = body["status"]
    assert status == "COMPLETED" and outputs == ["x", "y"]


def test_cancel_and_purge_queue_with_no_body_as_documented(ep):
    _, slow = curl(ep, "POST", "run", {"input": {"seconds": 60}})
    assert until_status(ep, slow["id"], "IN_PROGRESS")["status"] == "IN_PROGRESS"
    queued = [curl(ep, "POST", "run", {"input": {"n": n}})[1]["id"] for n in range(3)]
    code, purged = curl(ep, "POST", "purge-queue")
    assert code == 200 and purged == {"removed": 3, "status": "completed"}
    assert all(curl(ep, "GET", f"status/{i}")[1]["status"] == "CANCELLED" for i in queued)
    code, cancelled = curl(ep, "POST", f"cancel/{slow['id']}")
    assert code == 200 and {"id", "status"} <= set(cancelled)
    assert cancelled["id"] == slow["id"] and cancelled["status"] == "CANCELLED"


def test_retry_requeues_a_failed_job_under_the_same_id(ep, tmp_path):
    _, job = curl(ep, "POST", "run", {"input": {"fail_once": str(tmp_path / "once")}})
    assert until_final(ep, job["id"])["status"] == "FAILED"
    code, body = curl(ep, "POST", f"retry/{job['id']}")
    assert code == 200 and body == {"id": job["id"], "status": "IN_QUEUE"}
    final = until_final(ep, job["id"])
    assert final["status"] == "COMPLETED" and final["id"] == job["id"]


def test_health_answers_the_documented_job_and_worker_counts(ep):
    code, body = curl(ep, "GET", "health")
    assert code == 200
    assert set(body["jobs"]) >= {"completed", "failed", "inProgress", "inQueue", "retried"}
    assert set(body["workers"]) >= {"idle", "running"}
    assert all(isinstance(v, int) for v in [*body["jobs"].values(), *body["workers"].values()])


def test_a_wrong_key_and_an_unknown_job_are_json_errors(ep):
    code, body = curl(ep, "GET", "health", key_form="authorization: not-the-key")
    assert code == 401 and "error" in body
    code, body = curl(ep, "GET", "status/no-such-job")
    assert code == 404 and "error" in body
