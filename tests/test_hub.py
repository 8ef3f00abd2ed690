"""The RunPod Hub files of this worker and ``make hub-test``.

``.runpod/hub.json`` and ``.runpod/tests.json`` are checked against the fields the Hub
documents (``local_endpoint.hub``) and against the worker itself (every variable is a
worker setting with its real default; every test input is a valid request);
``scripts/hub_test.py`` (``make hub-test``) runs the tests on the local endpoint.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from local_endpoint import hub
from local_endpoint.hub import hub_json_problems, run_hub_tests, table
from worker.config import Settings, env_name
from worker.schema import parse_request

ROOT = Path(__file__).resolve().parent.parent
HUB = json.loads((ROOT / ".runpod" / "hub.json").read_text())
TESTS = json.loads((ROOT / ".runpod" / "tests.json").read_text())


def test_both_files_have_the_documented_fields():
    assert hub_json_problems(HUB) == []
    assert hub.tests_json_problems(TESTS) == []


@pytest.mark.parametrize("change, problem", [
    (lambda h: h.pop("title"), "missing 'title'"),
    (lambda h: h.update(type="pod"), "hub.json.type"),
    (lambda h: h.update(category="llm"), "hub.json.category"),
    (lambda h: h["config"].update(runsOn="TPU"), "config.runsOn"),
    (lambda h: h["config"].update(gpuCount="1"), "config.gpuCount"),
    (lambda h: h["config"]["env"][0]["input"].update(type="text"), "config.env[0].input"),
    (lambda h: h["config"]["env"][2]["input"].update(default="32"), "default: must be a number"),
    (lambda h: h.update(extra=1), "unknown key 'extra'"),
])
def test_a_departure_from_the_documented_hub_json_is_named(change, problem):
    broken = copy.deepcopy(HUB)
    change(broken)
    assert any(problem in p for p in hub_json_problems(broken)), hub_json_problems(broken)


@pytest.mark.parametrize("change, problem", [
    (lambda t: t.update(tests=[]), "non-empty 'tests'"),
    (lambda t: t["tests"][0].pop("timeout"), "missing 'timeout'"),
    (lambda t: t["tests"][0].update(timeout=0), "milliseconds"),
    (lambda t: t["config"].update(env=[{"key": "MODEL_NAME", "value": 1}]), "config.env[0]"),
])
def test_a_departure_from_the_documented_tests_json_is_named(change, problem):
    broken = copy.deepcopy(TESTS)
    change(broken)
    assert any(problem in p for p in hub.tests_json_problems(broken)), hub.tests_json_problems(broken)


def test_every_hub_variable_is_a_worker_setting_with_its_real_default():
    fields = {env_name(name): field for name, field in Settings.model_fields.items()}
    for env in HUB["config"]["env"]:
        assert env["key"] in fields, f"{env['key']} is not a worker setting"
        if "default" in env["input"]:
            assert env["input"]["default"] == fields[env["key"]].default, env["key"]
    for preset in HUB["config"]["presets"]:
        assert set(preset["defaults"]) <= set(fields)


def test_every_hub_test_input_is_a_valid_request_of_this_worker():
    for test in TESTS["tests"]:
        parse_request(test["input"], Settings())


class _Job:
    def __init__(self, statuses):
        self.statuses = list(statuses)

    def status(self):
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]


class _Endpoint:
    def __init__(self, jobs):
        self.jobs = iter(jobs)

    def endpoint(self):
        return self

    def run(self, request):
        return next(self.jobs)


def test_the_hub_rule_passes_only_a_job_completed_within_its_timeout():
    tests = {"tests": [{"name": "ok", "input": {}, "timeout": 5000},
                       {"name": "failed", "input": {}, "timeout": 5000},
                       {"name": "slow", "input": {}, "timeout": 200}]}
    rows = run_hub_tests(tests, _Endpoint([_Job(["IN_PROGRESS", "COMPLETED"]), _Job(["FAILED"]),
                                           _Job(["IN_PROGRESS"])]))
    assert [(r["name"], r["status"], r["passed"]) for r in rows] == [
        ("ok", "COMPLETED", True), ("failed", "FAILED", False), ("slow", "IN_PROGRESS", False)]
    assert rows[2]["seconds"] >= 0.2
    assert [line.split()[-1] for line in table(rows).splitlines()[1:]] == ["PASS", "FAIL", "FAIL"]


def test_make_hub_test_runs_every_test_on_the_local_endpoint_and_passes(tiny_lm):
    env = {**os.environ, "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true"}
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "hub_test.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASS") == len(TESTS["tests"])
    assert f"{len(TESTS['tests'])} of {len(TESTS['tests'])} tests passed" in done.stdout
