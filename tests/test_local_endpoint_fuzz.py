"""A fuzzer over every client and worker route: no answer is a 500, every refusal is
JSON with a reason, no job is lost, and the endpoint still serves a normal job after.

Requests are raw bytes (``endpoint_http.raw_request``): the method, the route and its
ids, the query string, the headers (keys in every form, undecodable bytes, odd
content types), and bodies of every kind (JSON of any shape, deep nesting, random
bytes, other encodings, sizes past the limits). A real SDK worker (the echo handler)
serves the jobs meanwhile. ``STRESS_SIZE=full`` (``make test-full``) sends many more.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from endpoint_http import client_routes, raw_request, worker_routes
from stress import report, size

HANDLERS = Path(__file__).parent / "handlers"
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
LIMITS = dict(max_run_bytes=64 * 1024, max_runsync_bytes=128 * 1024,
              max_worker_post_bytes=256 * 1024)
EXAMPLES = size(200, 3000)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=20)
# Ids are percent-encoded: raw control or non-ASCII bytes in the request line are
# not HTTP, and aiohttp's parser refuses them before any route (test below).
ids = st.one_of(st.sampled_from(["KNOWN", "", "..", "%2e%2e", "a" * 300, "%00", "%ff"]),
                st.text(max_size=40).map(lambda t: quote(t, safe="")))
query_values = st.one_of(st.integers(-10**7, 2000).map(str), st.text(max_size=20),
                         st.integers(1, 600).map(lambda n: "9" * n),
                         st.sampled_from(["1e9", "-0", "0x10", "NaN", "", "1000.5"]))
query = st.lists(st.tuples(st.sampled_from(["wait", "batch_size", "job_in_progress", "job_id",
                                            "status", "ttl", "gpu", "isStream"])
                           | st.text(min_size=1, max_size=8),
                           query_values), max_size=4).map(
    lambda pairs: "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs))
header_bytes = st.binary(max_size=40).map(
    lambda b: bytes(c for c in b if c >= 0x20 and c != 0x7f))  # no control bytes


@st.composite
def bodies(draw):
    kind = draw(st.sampled_from(["none", "job", "job", "job", "json", "bytes", "deep", "big",
                                 "utf16", "report", "report"]))
    if kind == "none":
        return b""
    if kind == "job":
        body = {"input": draw(json_values)}
        if draw(st.booleans()):
            body["policy"] = draw(st.dictionaries(
                st.sampled_from(["executionTimeout", "ttl", "lowPriority"]),
                json_values | st.integers(-10**400, 10**400), max_size=3))
        if draw(st.booleans()):
            body["webhook"] = draw(st.text(max_size=30) | st.sampled_from(
                ["http://[::1", "http://127.0.0.1:1/x", "http://127.0.0.1:99999/"]))
        return json.dumps(body).encode()
    if kind == "json":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(min_size=1, max_size=200))
    if kind == "deep":
        depth = draw(st.integers(150, 3000))
        return ('{"input": ' + "[" * depth + "]" * depth + "}").encode()
    if kind == "big":
        n = draw(st.sampled_from([60 * 1024, 130 * 1024, 300 * 1024]))
        return json.dumps({"input": "x" * n}).encode()
    if kind == "utf16":
        return json.dumps({"input": draw(json_values)}).encode("utf-16")
    return json.dumps({"output": draw(json_values), "status": draw(
        st.sampled_from(["IN_PROGRESS", "COMPLETED", "x"]))}).encode()


@st.composite
def fuzzed_requests(draw, endpoint_id: str):
    job_id, worker_id = draw(ids), draw(ids)
    routes = client_routes(endpoint_id, job_id) + worker_routes(endpoint_id, worker_id, job_id)
    method, path = draw(st.sampled_from(routes))
    # Mostly the right key for the route, so that most requests reach the handlers.
    right = "worker" if (method, path) in worker_routes(endpoint_id, worker_id, job_id) \
        else "client-bearer"
    if draw(st.integers(0, 9)) == 0:  # a route that does not exist, or another method
        path = draw(st.sampled_from([f"/v2/{endpoint_id}/{draw(ids)}", f"/v2/{draw(ids)}/run",
                                     "/", "/v2", f"/v2/{endpoint_id}/run/extra"]))
    if draw(st.integers(0, 4)) == 0:
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
                                       "HEAD"]))
    extra = draw(query)
    if extra:
        path += ("&" if "?" in path else "?") + extra
    auth = draw(st.sampled_from([right] * 8 + ["client-bearer", "client-bare", "worker",
                                               "worker-bearer", "wrong", "bytes", "none"]))
    content_type = draw(st.sampled_from([
        "application/json", "application/x-www-form-urlencoded", "text/plain",
        "application/json; charset=utf-16", "multipart/form-data; boundary=x", None]))
    extra_header = draw(header_bytes)
    return dict(method=method, path=path, auth=auth, content_type=content_type,
                extra_header=extra_header, body=draw(bodies()))


@pytest.fixture(scope="module")
def ep(module_local_endpoint_factory):
    return module_local_endpoint_factory(
        [sys.executable, str(HANDLERS / "echo.py")], max_workers=1, min_workers=1,
        take_hold=0.5, stream_hold=0.3, runsync_wait=1, ping_timeout=3,
        max_retries=10, retention=3600, runsync_retention=3600,  # a 404 is then a lost job
        **LIMITS)


def headers_for(ep, request) -> list:
    keys = {"client-bearer": f"Bearer {ep.api_key}", "client-bare": ep.api_key,
            "worker": ep.worker_key, "worker-bearer": f"Bearer {ep.worker_key}",
            "wrong": "Bearer nope", "bytes": b"Bearer \xff\xfe\x80", "none": None}
    headers = []
    if keys[request["auth"]] is not None:
        headers.append(("Authorization", keys[request["auth"]]))
    if request["content_type"]:
        headers.append(("Content-Type", request["content_type"]))
    headers.append(("X-Fuzz", request["extra_header"]))
    return headers


def test_no_fuzzed_request_gets_a_500_and_no_job_is_lost(ep):
    known = ep.endpoint().run({"seed": 1}).job_id
    answers, created, failures = [], set(), []

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=fuzzed_requests(ep.endpoint_id))
    def one(request):
        path = request["path"].replace("KNOWN", known)
        started = time.monotonic()
        answer = raw_request(ep.port, request["method"], path, headers_for(ep, request),
                             request["body"], timeout=30)
        answers.append((time.monotonic() - started, answer.status))
        problem = None
        if answer.status >= 500 or answer.status == 0:
            problem = "a 5xx (or no answer)"
        elif answer.status >= 400 and request["method"] != "HEAD":
            try:
                reason = answer.json()["error"]
                assert isinstance(reason, str) and reason
            except (ValueError, KeyError, TypeError, AssertionError):
                problem = "a refusal without a JSON reason"
        if problem:
            failures.append((problem, request["method"], path[:120], answer.status,
                             answer.body[:200]))
        assert problem is None, failures[-1]
        if answer.status == 200 and answer.body[:1] == b"{":
            body = answer.json()
            if isinstance(body, dict) and "id" in body and "status" in body \
                    and "/run" in path.split("?")[0]:
                created.add(body["id"])

    one()
    # Every job the fuzzer made ends (jobs a made-up worker took and never finished
    # go back to the queue after the ping timeout), and a normal job still works.
    client = ep.endpoint()
    deadline = time.monotonic() + 120
    pending = set(created) | {known}
    while pending and time.monotonic() < deadline:
        for job_id in list(pending):
            answer = raw_request(ep.port, "GET", f"/v2/{ep.endpoint_id}/status/{job_id}",
                                 [("Authorization", f"Bearer {ep.api_key}")])
            assert answer.status == 200, (job_id, answer.status, answer.body)
            if answer.json()["status"] in FINAL:
                pending.discard(job_id)
        time.sleep(0.2)
    assert not pending, f"{len(pending)} fuzzed jobs never ended"
    assert client.run_sync({"after": "fuzzing"}, timeout=60) == {"after": "fuzzing"}
    latencies = [t for t, _ in answers]
    report("fuzz", {"requests": len(answers), "jobs": len(created), "lost": len(pending),
                    "5xx": sum(1 for _, s in answers if s >= 500),
                    "statuses": {str(s): sum(1 for _, x in answers if x == s)
                                 for s in sorted({s for _, s in answers})},
                    "slowest_s": round(max(latencies), 2)})


@pytest.mark.parametrize("request_line", [
    b"GET /v2/local/status/\x7f HTTP/1.1", b"GET /v2/local/status/\xc2\x80 HTTP/1.1",
    b"G\x00T /v2/local/health HTTP/1.1", b"GET /v2/local/health HTTP/9.9",
    b"GET  HTTP/1.1", b"\xff\xfe"])
def test_a_request_line_that_is_not_http_is_a_400_never_a_500(ep, request_line):
    # Refused by aiohttp's HTTP parser before any route runs: a 400 in its own words.
    method, _, rest = request_line.partition(b" ")
    target, _, _ = rest.rpartition(b" ")
    answer = raw_request(ep.port, method, target or b"/", [])
    assert 400 <= answer.status < 500 or answer.status == 0, answer
