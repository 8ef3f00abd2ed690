"""RunPod's published JavaScript SDK (npm ``runpod-sdk`` 1.1.2, pinned with its lock
file in tests/js/) against ``python -m local_endpoint``, as a JavaScript user runs it.

``tests/js/conformance.mjs`` calls every method of the SDK's ``Endpoint`` (run,
runSync, status, statusSync, stream, cancel, purgeQueue, health) and prints what each
returned or threw; the tests here check that report. The SDK has no retry method:
the job it saw fail is retried here with ``POST /retry/{id}``, as RunPod's operation
reference documents (docs.runpod.io/serverless/endpoints/operation-reference).
``make test`` installs the package first (``npm ci`` in tests/js); nothing is
downloaded while the tests run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from endpoint_http import CliEndpoint, raw_request

JS = Path(__file__).parent / "js"
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}


def sdk_installed() -> None:
    if shutil.which("node") is None:
        pytest.fail("node is not installed: the JavaScript SDK tests need node and npm",
                    pytrace=False)
    if not (JS / "node_modules" / "runpod-sdk" / "package.json").exists():
        pytest.fail("the JavaScript SDK is not installed: run `make test` (or "
                    "`npm ci --prefix tests/js`) first", pytrace=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    sdk_installed()
    marker = tmp_path_factory.mktemp("js") / "failed-once"
    endpoint = CliEndpoint("conformance.py", api_key="js-sdk-key")
    try:
        run = subprocess.run(["node", "conformance.mjs", endpoint.url, endpoint.api_key,
                              endpoint.endpoint_id, str(marker)],
                             cwd=JS, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        steps = json.loads(run.stdout.strip().splitlines()[-1])
        steps["_endpoint"] = endpoint
        yield steps
    finally:
        endpoint.close()


def value(report, step):
    entry = report[step]
    assert "value" in entry, f"{step}: the SDK threw {entry}"
    return entry["value"]


def test_the_installed_sdk_is_the_pinned_one():
    sdk_installed()
    lock = json.loads((JS / "package-lock.json").read_text())
    installed = json.loads((JS / "node_modules" / "runpod-sdk" / "package.json").read_text())
    assert json.loads((JS / "package.json").read_text())["dependencies"]["runpod-sdk"] == "1.1.2"
    assert lock["packages"]["node_modules/runpod-sdk"]["version"] == installed["version"] == "1.1.2"


def test_health_has_every_field_of_the_sdks_types(report):
    # src/index.ts types: jobs{completed, failed, inProgress, inQueue, retried},
    # workers{idle, initializing, ready, running, throttled}.
    health = value(report, "health")
    assert set(health["jobs"]) >= {"completed", "failed", "inProgress", "inQueue", "retried"}
    assert set(health["workers"]) >= {"idle", "initializing", "ready", "running", "throttled"}
    assert health["workers"]["idle"] == 1
    at_end = value(report, "healthAtEnd")["jobs"]
    assert at_end["completed"] >= 4 and at_end["failed"] >= 2


def test_run_sync_returns_the_output_and_the_flags_the_sdk_adds(report):
    result = value(report, "runSync")
    assert result["status"] == "COMPLETED" and result["output"] == [{"n": 1}]
    assert result["started"] is True and result["completed"] is True and result["succeeded"] is True


def test_run_sync_on_a_job_that_outlasts_its_wait_polls_status_sync_to_the_end(report):
    result = value(report, "runSyncOutlastingItsWait")
    assert result["status"] == "COMPLETED", result
    assert result["output"] == [{"n": 2, "seconds": 4}]
    # It ran longer than the 3000 ms runsync waited: status-sync brought the result.
    assert result["executionTime"] > 3000


def test_run_sync_on_a_failing_job_reports_the_failure(report):
    result = value(report, "runSyncFailed")
    assert result["status"] == "FAILED" and result["succeeded"] is False
    assert "no good" in json.dumps(result["error"])


def test_run_then_stream_yields_each_chunk_once_in_order(report):
    assert value(report, "runToStream")["status"] == "IN_QUEUE"
    assert [item["output"] for item in value(report, "stream")] == ["a", "b", "c"]
    status = value(report, "statusAfterStream")
    assert status["status"] == "COMPLETED" and status["output"] == ["a", "b", "c"]
    assert {"id", "delayTime", "executionTime"} <= set(status)


def test_status_sync_waits_for_the_end(report):
    result = value(report, "statusSync")
    assert result["status"] == "COMPLETED" and result["output"] == [{"n": 3, "seconds": 1}]


def test_purge_queue_removes_the_queued_jobs_and_cancel_stops_the_running_one(report):
    assert value(report, "statusInProgress")["status"] == "IN_PROGRESS"
    assert [s["status"] for s in value(report, "queuedBeforePurge")] == ["IN_QUEUE"] * 2
    assert value(report, "purgeQueue") == {"removed": 2, "status": "completed"}
    assert [s["status"] for s in value(report, "purgedStatus")] == ["CANCELLED"] * 2
    cancelled = value(report, "cancel")
    # The SDK types cancel's answer as {id, status, delayTime, executionTime}.
    assert cancelled["status"] == "CANCELLED"
    assert {"id", "status", "delayTime", "executionTime"} <= set(cancelled)
    assert value(report, "statusAfterCancel")["status"] == "CANCELLED"


def test_a_failed_job_the_sdk_saw_is_retried_under_the_same_id(report):
    failed = value(report, "failedBeforeRetry")
    assert failed["status"] == "FAILED"
    endpoint: CliEndpoint = report["_endpoint"]
    headers = [("Authorization", f"Bearer {endpoint.api_key}"), ("Content-Type", "application/json")]
    answer = raw_request(endpoint.port, "POST",
                         f"/v2/{endpoint.endpoint_id}/retry/{failed['id']}", headers, b"{}")
    assert answer.status == 200, answer.body
    assert answer.json() == {"id": failed["id"], "status": "IN_QUEUE"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = raw_request(endpoint.port, "GET",
                             f"/v2/{endpoint.endpoint_id}/status/{failed['id']}", headers).json()
        if status["status"] in FINAL:
            break
        time.sleep(0.1)
    assert status["status"] == "COMPLETED", status


def test_an_unknown_job_is_a_404_the_sdk_throws_on(report):
    entry = report["statusUnknown"]
    assert entry.get("status") == 404, entry
    assert "error" in entry["body"]
