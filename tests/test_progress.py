"""Progress updates: in order, ending at 100, and never after the job's result.

The production path for real: a worker process runs one job through the SDK's own
``handle_job`` (what the SDK's job loop calls), posting to a recording HTTP server in
this test process. Also the reporter's rules on their own: ordered, flush closes a job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest
from aiohttp import web

from worker.progress import ProgressReporter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RUN_ONE_JOB = """
import asyncio, json, sys
from runpod.http_client import AsyncClientSession
from runpod.serverless.modules.rp_job import handle_job
from worker.sdk import start_config
from worker.config import Settings, use_settings
from worker.handler import async_handler

settings = Settings.from_env()
use_settings(settings)
job = json.loads(sys.argv[1])

async def main():
    async with AsyncClientSession() as session:
        await handle_job(session, start_config(settings, async_handler), job)

asyncio.run(main())
"""


class Recorder:
    """An HTTP server that records each POST body (JSON text sent as a form)."""

    def __init__(self) -> None:
        self.posts: list[dict] = []
        self.url = ""
        self._ready = threading.Event()

    def __enter__(self):
        import asyncio

        async def record(request: web.Request) -> web.Response:
            body = json.loads(await request.text())
            self.posts.append({"path": request.path, "query": parse_qs(urlparse(str(request.url)).query),
                               "body": body, "t": time.perf_counter()})
            return web.json_response({})

        def serve() -> None:
            self.loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_post("/{tail:.*}", record)
            self.runner = web.AppRunner(app)
            self.loop.run_until_complete(self.runner.setup())
            site = web.TCPSite(self.runner, "127.0.0.1", 0)
            self.loop.run_until_complete(site.start())
            port = site._server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            self._ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_progress_is_ordered_ends_at_100_and_precedes_the_result(tiny_lm):
    with Recorder() as rec:
        env = dict(os.environ, RUNPOD_WEBHOOK_POST_OUTPUT=rec.url + "/done/$RUNPOD_POD_ID/$ID?gpu=none",
                   RUNPOD_WEBHOOK_GET_JOB=rec.url + "/take/$ID?gpu=none", RUNPOD_POD_ID="w1",
                   RUNPOD_LOG_LEVEL="ERROR", LOG_LEVEL="ERROR")
        job = {"id": "job-p1", "input": {"prompt": "The Python language", "max_tokens": 64, "temperature": 0}}
        subprocess.run([sys.executable, "-c", RUN_ONE_JOB, json.dumps(job)], cwd=ROOT, env=env, timeout=120,
                       check=True)
    bodies = [p["body"] for p in rec.posts]
    assert all(p["path"] == "/done/w1/job-p1" for p in rec.posts)
    progress = [b["output"] for b in bodies if b.get("status") == "IN_PROGRESS"]
    finals = [i for i, b in enumerate(bodies) if b.get("status") != "IN_PROGRESS"]
    assert finals == [len(bodies) - 1], "exactly one result, and it is the last post"
    percents = [p["percent"] for p in progress]
    assert percents[0] == 0 and percents[-1] == 100
    assert percents == sorted(percents) and len(set(percents)) == len(percents), percents
    assert len(percents) >= 3, "a 64-token job reports progress while it generates"
    assert "text" in bodies[-1]["output"][0], "the result is the aggregated stream: a list"


def test_updates_after_flush_are_dropped_and_subscribers_see_accepted_ones():
    reporter = ProgressReporter(post=False)
    seen: list = []
    reporter.subscribe(lambda job_id, value: seen.append((job_id, value["percent"])))
    job = {"id": "j1"}
    assert reporter.update(job, 10, "a") and reporter.update(job, 20, "b")
    reporter.flush("j1")
    assert reporter.update(job, 30, "late") is False
    assert seen == [("j1", 10.0), ("j1", 20.0)]


def test_reporter_posts_in_call_order_even_when_each_post_is_slow():
    # Post through the same delivery path with a slow recorder: order must hold.
    reporter = ProgressReporter(post=True)
    sent: list = []

    async def slow_post(job, value):
        import asyncio

        await asyncio.sleep(0.02 if value["percent"] % 20 == 0 else 0.0)
        sent.append(value["percent"])

    reporter._post_update = slow_post  # only the HTTP call is replaced; the ordering is real
    job = {"id": "ord"}
    for p in range(0, 101, 10):
        reporter.update(job, p)
    reporter.flush("ord")
    assert sent == list(range(0, 101, 10))
