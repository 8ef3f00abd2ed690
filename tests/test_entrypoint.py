"""``python -m worker``: the local test mode prints every chunk; the SDK config is right.

Subprocesses run the real entry point on the embedded model, as a user would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker(*args: str, cwd: str = ROOT, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_WEBHOOK")}
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "worker", *args], cwd=cwd, env=full_env, capture_output=True,
                          text=True, timeout=180)


def chunks(stdout: str) -> list[dict]:
    return [json.loads(line.split(": ", 1)[1]) for line in stdout.splitlines() if line.startswith("chunk ")]


def final_output(stdout: str):
    (line,) = [line for line in stdout.splitlines() if line.startswith("output: ")]
    return json.loads(line[len("output: "):])


def test_test_input_streaming_prints_each_chunk_and_the_final_output(tiny_lm):
    job = {"input": {"prompt": "The Python language", "max_tokens": 24, "temperature": 0, "stream": True}}
    done = worker("--test_input", json.dumps(job))
    assert done.returncode == 0, done.stderr
    printed = chunks(done.stdout)
    assert len(printed) >= 3 and printed[-1]["finished"] is True
    assert "generator object" not in done.stdout
    assert final_output(done.stdout) == printed, "the output is the aggregated stream"


def test_test_input_plain_prints_the_result(tiny_lm):
    job = {"input": {"prompt": "The Python language", "max_tokens": 8, "temperature": 0}}
    done = worker("--test_input", json.dumps(job))
    assert done.returncode == 0, done.stderr
    (result,) = final_output(done.stdout)
    assert result["text"] and result["usage"]["completion_tokens"] <= 8


def test_test_input_with_bad_input_fails_with_exit_1_and_a_structured_error(tiny_lm):
    done = worker("--test_input", json.dumps({"input": {"prompt": "x", "max_tokens": 0}}))
    assert done.returncode == 1
    line = next(line for line in done.stdout.splitlines() if line.startswith("error: "))
    err = json.loads(line[len("error: "):])
    assert err["status"] == "VALIDATION_ERROR" and err["retry"] is False


def test_test_input_json_file_is_used_when_no_flag_is_given(tiny_lm, tmp_path):
    (tmp_path / "test_input.json").write_text(json.dumps({"input": {"prompt": "Hi", "max_tokens": 4}}))
    env = {"PYTHONPATH": ROOT}
    done = worker(cwd=str(tmp_path), **env)
    assert done.returncode == 0, done.stderr
    assert final_output(done.stdout)[0]["text"] is not None


def test_no_job_and_no_platform_exits_with_a_reason(tmp_path):
    done = worker(cwd=str(tmp_path), PYTHONPATH=ROOT)
    assert done.returncode == 1 and "test_input" in done.stderr


def test_a_model_that_cannot_load_stops_the_worker_at_start_with_the_reason(tmp_path):
    done = worker("--test_input", json.dumps({"input": {"prompt": "x"}}), MODEL_NAME="no-such-org/no-such-model",
                  HF_HUB_OFFLINE="1")
    assert done.returncode == 1 and "no-such-org/no-such-model" in done.stderr


def test_help_lists_the_modes_and_every_setting_and_loads_nothing():
    done = worker("--help", MODEL_NAME="no-such-org/no-such-model")   # would fail if it tried to load
    assert done.returncode == 0 and done.stderr == ""
    assert "--test_input" in done.stdout and "--rp_serve_api" in done.stdout
    from worker.config import Settings
    for variable in ("MODEL_NAME", "DEVICE", "DTYPE", "MAX_CONCURRENCY", "BATCH_SIZE", "JOB_TIMEOUT_S", "LOG_FORMAT"):
        assert f"| {variable} " in done.stdout
    assert len([line for line in done.stdout.splitlines() if line.startswith("| ")]) == len(Settings.model_fields) + 1


def test_a_bad_setting_stops_the_worker_before_anything_loads():
    done = worker("--test_input", "{}", DEVICE="tpu")
    assert done.returncode == 2 and "DEVICE" in done.stderr


def test_start_config_registers_an_async_generator_with_aggregation_and_concurrency():
    import inspect

    from worker.sdk import start_config
    from worker.config import Settings
    from worker.handler import async_handler

    config = start_config(Settings(max_concurrency=6), async_handler)
    assert inspect.isasyncgenfunction(config["handler"]), "the SDK streams only generator handlers"
    assert config["return_aggregate_stream"] is True
    assert config["concurrency_modifier"](1) == 6 and config["refresh_worker"] is False


def test_limit_concurrency_caps_jobs_running_at_once():
    import asyncio

    from lessons.concurrency import limit_concurrency

    running = {"now": 0, "max": 0}

    async def slow(job):
        running["now"] += 1
        running["max"] = max(running["max"], running["now"])
        await asyncio.sleep(0.01)
        running["now"] -= 1
        return job["id"]

    async def streams(job):
        yield await slow(job)

    async def main():
        limited, limited_gen = limit_concurrency(slow, 3), limit_concurrency(streams, 2)
        assert sorted(await asyncio.gather(*(limited({"id": i}) for i in range(10)))) == list(range(10))
        first = running["max"]
        running["max"] = 0

        async def drain(i):
            return [x async for x in limited_gen({"id": i})]

        await asyncio.gather(*(drain(i) for i in range(10)))
        return first, running["max"]

    assert asyncio.run(main()) == (3, 2)


def test_test_input_that_is_not_json_gets_a_one_line_reason_not_a_traceback():
    done = worker("--test_input", "not json")
    assert done.returncode == 2 and "not valid JSON" in done.stderr and "Traceback" not in done.stderr


def test_a_missing_model_folder_is_named_as_a_folder_not_as_a_hub_id(tmp_path):
    missing = str(tmp_path / "no-such-folder")
    done = worker("--test_input", json.dumps({"input": {"prompt": "x"}}), MODEL_NAME=missing, HF_HUB_OFFLINE="1")
    assert done.returncode == 1 and "no such model folder" in done.stderr and "Repo id" not in done.stderr


@pytest.mark.parametrize("short_name, command", [("tiny", "python -m demo_models.tiny"),
                                                 ("smollm2", "python -m demo_models.smollm2")])
def test_a_short_model_name_whose_folder_is_not_built_names_the_command_that_builds_it(tmp_path, short_name,
                                                                                       command):
    done = worker("--test_input", json.dumps({"input": {"prompt": "x"}}), MODEL_NAME=short_name,
                  WORKER_CACHE_DIR=str(tmp_path), HF_HUB_OFFLINE="1")
    assert done.returncode == 1 and command in done.stderr and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == [], "the worker built nothing"


def test_the_folder_names_the_worker_loads_are_the_ones_demo_models_builds():
    from demo_models.smollm2 import SMOLLM2_DIRNAME
    from demo_models.tiny import TINY_MODEL_DIRNAME
    from worker.model import SHORT_NAMES

    assert SHORT_NAMES["tiny"][0] == TINY_MODEL_DIRNAME == "tiny-llama-pydoc-v1"
    assert SHORT_NAMES["smollm2"][0] == SMOLLM2_DIRNAME == "smollm2-135m-instruct-v1"


def test_the_background_sdk_import_loads_the_job_runner_on_either_sdk_line():
    # On runpod 2.0 `import runpod` alone is lazy: the job runner would then load at
    # runpod.serverless.start, after the model, on the cold start's critical path.
    code = ("import sys; from worker.__main__ import _import_sdk_in_background; "
            "_import_sdk_in_background().join(); "
            "print(all(m in sys.modules for m in ('runpod.serverless.modules.rp_scale', "
            "'runpod.serverless.modules.rp_job', 'runpod.serverless.modules.rp_http')))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNPOD_")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
