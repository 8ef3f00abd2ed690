"""Lesson 3's harness: running the race, posting as a worker, a progress bar, a plot.

Contract:
- ``wait_final(job, every)``: poll ``/status`` until the job is final; the final body.
- ``try_lines(lines, names)``: evaluate each line with ``names``; per line
  ``"returns <type>"`` or ``"raises <Error>: <message>"``, and the values returned.
- ``late_progress(timeline, job_ids)``: the progress reports the local endpoint refused
  because their job was already final, as ``(time, job id)``.
- ``run_race(ep, n, rounds)``: up to ``rounds`` times, ``n`` jobs of the "stages"
  example at once, until a progress update reaches the endpoint after its job's result;
  returns ``(rounds run, final bodies of the last round, late updates of that round)``.
- ``post_progress_as_worker(ep, worker_id, job_id, value)``: one progress POST to the
  endpoint's worker route, exactly as the SDK's progress thread sends it; the answer.
- ``watch(job, every)``: follow a job of this project's worker on a tqdm bar; returns
  ``([(seconds, percent, message)], final body, seconds taken)``.
- ``plot_progress(trace, elapsed, title)``: the progress the client saw, against time.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import requests

from local_endpoint.worker_env import webhook_templates
from lessons.client import FINAL, status_body


def wait_final(job: Any, every: float = 0.05, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while (body := status_body(job))["status"] not in FINAL:
        if time.monotonic() > deadline:
            raise TimeoutError(f"job still {body['status']} after {timeout} s")
        time.sleep(every)
    return body


def try_lines(lines: list[str], names: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    outcomes, values = {}, {}
    for line in lines:
        try:
            values[line] = eval(line, {}, dict(names))
            outcomes[line] = f"returns {type(values[line]).__name__}"
        except Exception as exc:
            outcomes[line] = f"raises {type(exc).__name__}: {exc}"
    return outcomes, values


def late_progress(timeline: dict, job_ids: set[str]) -> list[tuple[float, str]]:
    return [(i["at"], i["job"]) for i in timeline["ignored"] if i["what"] == "progress" and i["job"] in job_ids]


def run_race(ep: Any, n: int, rounds: int) -> tuple[int, list[dict], list[tuple[float, str]]]:
    for round_ in range(1, rounds + 1):
        jobs = [ep.endpoint().run({"example": "stages", "delay": 0.02}) for _ in range(n)]
        bodies = [wait_final(job) for job in jobs]
        time.sleep(0.5)  # time for an update that is going to be late to arrive
        late = late_progress(ep.timeline(), {body["id"] for body in bodies})
        if late:
            break
    return round_, bodies, late


def post_progress_as_worker(ep: Any, worker_id: str, job_id: str, value: Any) -> dict:
    url = webhook_templates(ep.base_url, ep.endpoint_id)["RUNPOD_WEBHOOK_POST_OUTPUT"]
    url = url.replace("$RUNPOD_POD_ID", worker_id).replace("$ID", job_id) + "&isStream=false"
    reply = requests.post(url, data=json.dumps({"status": "IN_PROGRESS", "output": value}), timeout=10,
                          headers={"Authorization": ep.worker_key,  # the worker's key: never printed
                                   "Content-Type": "application/x-www-form-urlencoded"})  # the SDK's header
    reply.raise_for_status()
    return reply.json()


def watch(job: Any, every: float = 0.05) -> tuple[list[tuple[float, float, str]], dict, float]:
    from tqdm import tqdm  # the plain text bar: the same in JupyterLab, papermill and a saved notebook

    trace, started = [], time.perf_counter()
    with tqdm(total=100, file=sys.stdout, bar_format="{percentage:3.0f}% |{bar:40}| {desc}") as bar:
        while True:
            body = status_body(job)
            value = body.get("output")
            if body["status"] == "IN_PROGRESS" and isinstance(value, dict) and "percent" in value:
                if not trace or value["percent"] != trace[-1][1]:
                    trace.append((time.perf_counter() - started, value["percent"], value["message"]))
                    bar.n = value["percent"]
                    bar.set_description_str(value["message"])  # redraws the bar
            elif body["status"] in FINAL:
                bar.n = 100 if body["status"] == "COMPLETED" else bar.n
                bar.set_description_str(body["status"])
                return trace, body, time.perf_counter() - started
            time.sleep(every)


def plot_progress(trace: list, elapsed: float, title: str) -> None:
    import matplotlib.pyplot as plt

    times = [t for t, _, _ in trace] + [elapsed]
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.step(times, [p for _, p, _ in trace] + [100], where="post", label="progress seen by the client")
    ax.axvline(elapsed, color="tab:green", linestyle="--", label="COMPLETED seen")
    ax.set_xlabel("seconds since the request")
    ax.set_ylabel("progress (%)")
    ax.set_ylim(-5, 105)
    ax.set_title(title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    plt.show()
