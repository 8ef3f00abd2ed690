"""RunPod Hub files (``.runpod/hub.json``, ``.runpod/tests.json``): checked, and their tests run here.

RunPod's Hub publishes a repository that carries these two files (publishing guide:
https://docs.runpod.io/hub/publishing-guide; the official template,
runpod-workers/worker-template ``.runpod/``). The Hub builds the image and runs every
test of ``tests.json`` against it; a test passes when its job completes within its
``timeout`` (milliseconds).

Contract:
- ``hub_json_problems(data)`` and ``tests_json_problems(data)`` list what departs
  from the documented fields (missing or unknown keys, wrong types or values); an
  empty list means the file has the documented shape.
- ``run_hub_tests(tests, endpoint)`` sends every test's ``input`` to a running
  ``LocalEndpoint`` at once (``/run``), waits for each, and returns one row per
  test: ``name``, ``status``, ``seconds`` (submission to final status, measured),
  ``timeout_s`` and ``passed`` (COMPLETED within the timeout: the Hub's rule).
  On the local endpoint the worker is started and ready before the clock starts;
  the Hub's documentation does not say whether its timeout includes a cold start.
- ``table(rows)`` is the rows as a text table.
"""

from __future__ import annotations

import time
from typing import Any

HUB_KEYS = {"title": str, "description": str, "type": str, "category": str, "config": dict}
HUB_OPTIONAL = {"iconUrl": str}
TYPES = ("serverless",)
CATEGORIES = ("audio", "embedding", "language", "video", "image")
CONFIG_KEYS = {"runsOn": str, "containerDiskInGb": int, "gpuCount": int, "gpuIds": str,
               "allowedCudaVersions": list, "presets": list, "env": list, "cpuFlavor": str}
ENV_INPUT_KEYS = {"name", "type", "description", "default", "options", "advanced"}
INPUT_TYPES = {"string": str, "number": (int, float), "boolean": bool}
TEST_KEYS = {"name": str, "input": dict, "timeout": int}
TESTS_CONFIG_KEYS = {"gpuTypeId": str, "gpuCount": int, "env": list, "allowedCudaVersions": list,
                     "cpuFlavor": str}
FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT")


def _typed(problems: list[str], where: str, data: dict, spec: dict, required: bool) -> None:
    for key, kind in spec.items():
        if key not in data:
            if required:
                problems.append(f"{where}: missing {key!r}")
        elif not isinstance(data[key], kind) or isinstance(data[key], bool) and kind is int:
            problems.append(f"{where}.{key}: must be {getattr(kind, '__name__', kind)}")


def hub_json_problems(data: Any) -> list[str]:
    """What in a hub.json departs from the documented fields; see the module docstring."""
    if not isinstance(data, dict):
        return ["hub.json: must be an object"]
    problems: list[str] = []
    _typed(problems, "hub.json", data, HUB_KEYS, required=True)
    _typed(problems, "hub.json", data, HUB_OPTIONAL, required=False)
    problems += [f"hub.json: unknown key {k!r}" for k in data if k not in HUB_KEYS and k not in HUB_OPTIONAL]
    if data.get("type") not in TYPES:
        problems.append(f"hub.json.type: must be one of {TYPES}")
    if data.get("category") not in CATEGORIES:
        problems.append(f"hub.json.category: must be one of {CATEGORIES}")
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    _typed(problems, "config", config, CONFIG_KEYS, required=False)
    problems += [f"config: unknown key {k!r}" for k in config if k not in CONFIG_KEYS]
    if config.get("runsOn") not in ("GPU", "CPU"):
        problems.append("config.runsOn: must be GPU or CPU")
    for i, env in enumerate(config.get("env") or []):
        inp = env.get("input") if isinstance(env, dict) else None
        if not isinstance(env, dict) or not isinstance(env.get("key"), str) or not isinstance(inp, dict):
            problems.append(f"config.env[{i}]: must be {{key, input}}")
            continue
        problems += [f"config.env[{i}].input: unknown key {k!r}" for k in inp if k not in ENV_INPUT_KEYS]
        kind = INPUT_TYPES.get(inp.get("type"))
        if kind is None or not isinstance(inp.get("name"), str):
            problems.append(f"config.env[{i}].input: needs a name and a type of {sorted(INPUT_TYPES)}")
        elif "default" in inp and (not isinstance(inp["default"], kind)
                                   or inp["type"] == "number" and isinstance(inp["default"], bool)):
            problems.append(f"config.env[{i}].input.default: must be a {inp['type']}")
    for i, preset in enumerate(config.get("presets") or []):
        if not (isinstance(preset, dict) and isinstance(preset.get("name"), str)
                and isinstance(preset.get("defaults"), dict)):
            problems.append(f"config.presets[{i}]: must be {{name, defaults}}")
    return problems


def tests_json_problems(data: Any) -> list[str]:
    """What in a tests.json departs from the documented fields; see the module docstring."""
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list) or not data["tests"]:
        return ["tests.json: must be an object with a non-empty 'tests' list"]
    problems: list[str] = [f"tests.json: unknown key {k!r}" for k in data if k not in ("tests", "config")]
    for i, test in enumerate(data["tests"]):
        if not isinstance(test, dict):
            problems.append(f"tests[{i}]: must be an object")
            continue
        _typed(problems, f"tests[{i}]", test, TEST_KEYS, required=True)
        if isinstance(test.get("timeout"), int) and test["timeout"] <= 0:
            problems.append(f"tests[{i}].timeout: must be a positive number of milliseconds")
    config = data.get("config", {})
    if not isinstance(config, dict):
        return problems + ["tests.json.config: must be an object"]
    _typed(problems, "tests.json.config", config, TESTS_CONFIG_KEYS, required=False)
    problems += [f"tests.json.config: unknown key {k!r}" for k in config if k not in TESTS_CONFIG_KEYS]
    for i, env in enumerate(config.get("env") or []):
        if not (isinstance(env, dict) and isinstance(env.get("key"), str) and isinstance(env.get("value"), str)):
            problems.append(f"tests.json.config.env[{i}]: must be {{key, value}} (text)")
    return problems


def worker_env(tests: dict) -> dict[str, str]:
    """The environment ``tests.json`` gives the worker (``config.env``)."""
    return {e["key"]: e["value"] for e in tests.get("config", {}).get("env", [])}


def run_hub_tests(tests: dict, endpoint) -> list[dict[str, Any]]:
    """Every test of ``tests`` on ``endpoint``, judged by the Hub's rule; see the module docstring."""
    client = endpoint.endpoint()
    started = []
    for test in tests["tests"]:
        started.append((test, client.run({"input": test["input"]}), time.monotonic()))
    rows = []
    for test, job, t0 in started:
        timeout_s = test["timeout"] / 1000
        status = job.status()
        while status not in FINAL and time.monotonic() - t0 < timeout_s:
            time.sleep(0.05)
            status = job.status()
        seconds = time.monotonic() - t0
        rows.append({"name": test["name"], "status": status, "seconds": round(seconds, 2),
                     "timeout_s": timeout_s, "passed": status == "COMPLETED" and seconds <= timeout_s})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The rows as a text table, one line per test."""
    width = max([len("test")] + [len(r["name"]) for r in rows])
    lines = [f"{'test':<{width}}  {'status':<10} {'seconds':>8} {'timeout':>8}  result"]
    for r in rows:
        lines.append(f"{r['name']:<{width}}  {r['status']:<10} {r['seconds']:>8.2f} {r['timeout_s']:>7g}s  "
                     f"{'PASS' if r['passed'] else 'FAIL'}")
    return "\n".join(lines)
