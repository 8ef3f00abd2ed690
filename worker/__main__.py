"""Entry point: ``python -m worker [SDK flags]`` starts the worker; the only place that does.

Contract:
- Reads ``worker.config.Settings`` from the environment, sets up structured logs and
  loads the model before taking any job (a worker that cannot load its model exits
  with status 1 and says why, instead of failing every job).
- The SDK's log level defaults to INFO (``RUNPOD_LOG_LEVEL``; the SDK's own default,
  DEBUG, prints every job's input and output).
- The SDK's import runs in a thread while the model loads, off the cold start's
  critical path. It imports ``runpod.serverless``, not just ``runpod``: on runpod
  1.12.0 ``import runpod`` already imports all of it, about 1.75 s, 1.15 s of it a CPU
  probe (``cpuinfo.get_cpu_info()`` in serverless/utils/rp_debugger.py) that mostly
  waits on a child process; on 2.0 ``import runpod`` is lazy (runpod/__init__.py,
  ``_LAZY_ATTRS``, about 60 ms) and the serverless modules, about 0.25 s more, would
  otherwise load at ``runpod.serverless.start``, after the model.
- On the platform (``RUNPOD_WEBHOOK_GET_JOB`` set), with ``--rp_serve_api`` or with
  ``RUNPOD_REALTIME_PORT``: calls ``runpod.serverless.start`` with the async-generator
  handler, ``return_aggregate_stream=True`` and a ``concurrency_modifier``
  (``MAX_CONCURRENCY``): ``worker.sdk.start_config``, after registering the fitness
  checks of ``worker.fitness`` on the loaded model (the SDK runs them before its first
  job-take; a failing one ends the worker). The SDK's own flags (``--rp_serve_api``, ``--rp_api_port``,
  ``--rp_log_level``, ...) pass through to it untouched.
- Local test mode (``--test_input JSON``, or ``./test_input.json`` when no platform
  URL is set): the SDK's own local mode prints a generator object instead of running
  it, so this runs the job through the SDK's own ``run_job_generator`` (what the
  production loop uses), prints each chunk as it arrives, then the job's final
  ``output`` as the platform would return it, and exits 0 (COMPLETED) or 1 (FAILED).
- ``-h`` / ``--help`` prints the modes and the settings (``worker.config.settings_table``,
  generated from their declaration) and exits 0, loading nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import importlib
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from worker.config import Settings, use_settings
from worker.logs import configure_logging, log_event
from worker.sdk import start_config


STARTED = time.perf_counter()  # as near to process start as this module gets


def _import_sdk_in_background() -> threading.Thread:
    # runpod.serverless, not runpod: 2.0's top-level import is lazy (runpod/__init__.py,
    # _LAZY_ATTRS) and loads the job runner only on first use; on 1.12.0 both are the same.
    # On 2.0 this import also runs the platform's fitness checks when RUNPOD_ENDPOINT_ID
    # and RUNPOD_WEBHOOK_GET_JOB are set (runpod/_startup.py, _health/__init__.py): in this
    # thread, beside the model load, as in any worker that imports runpod first.
    thread = threading.Thread(target=importlib.import_module, args=("runpod.serverless",), name="import-runpod",
                              daemon=True)
    thread.start()
    return thread


def _peek_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--test_input", default=None)
    parser.add_argument("--rp_serve_api", action="store_true")
    known, _ = parser.parse_known_args(argv)
    return known


def _local_job(test_input: str | None) -> dict[str, Any] | None:
    """The local test job; raises ValueError (a JSONDecodeError) when it is not JSON."""
    if test_input is not None:
        return json.loads(test_input)
    path = Path("test_input.json")
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return None


async def _run_local(job: dict[str, Any]) -> int:
    from worker.handler import async_handler
    from worker.sdk import run_job_generator

    started = time.perf_counter()
    output: list[Any] = []
    async for part in run_job_generator()(async_handler, job):
        item = part.get("output")
        error = part.get("error") or (item.get("error") if isinstance(item, dict) else None)
        if error:
            print(f"FAILED after {time.perf_counter() - started:.3f} s", flush=True)
            print("error: " + str(error), flush=True)
            return 1
        output.append(item)
        print(f"chunk {len(output)} (+{time.perf_counter() - started:.3f} s): "
              + json.dumps(item, ensure_ascii=False), flush=True)
    print(f"COMPLETED in {time.perf_counter() - started:.3f} s", flush=True)
    print("output: " + json.dumps(output, ensure_ascii=False), flush=True)
    return 0


def usage() -> str:
    """What ``--help`` prints: the ways to start the worker, then its settings."""
    from worker.config import settings_table

    table = settings_table().replace("`", "")  # generated from the declaration in worker.config
    return "\n".join([
        "usage: python -m worker [--test_input JSON] [the runpod SDK's flags]",
        "",
        "Starts the RunPod serverless worker: loads the model once, then takes jobs.",
        "  on RunPod (RUNPOD_WEBHOOK_GET_JOB set)   takes jobs from the endpoint's queue",
        "  --test_input JSON (or ./test_input.json) runs that one job, prints each chunk and the output",
        "  --rp_serve_api [--rp_api_port N]        the SDK's own local test server",
        "Other SDK flags (--rp_log_level, ...) pass through to runpod.serverless.start.",
        "",
        "Settings, from environment variables:",
        table,
    ])


def main(argv: list[str] | None = None) -> int:
    faulthandler.enable()  # a crash in native code still leaves a Python traceback in the logs
    argv = sys.argv[1:] if argv is None else argv
    if "-h" in argv or "--help" in argv:
        print(usage())
        return 0
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"worker: bad setting: {exc}", file=sys.stderr)
        return 2
    use_settings(settings)
    configure_logging(settings)
    # The SDK logs at DEBUG unless told otherwise, and at DEBUG it prints every job's
    # input and output (prompts, generated text) to stdout, unredacted. Read once, at
    # its import: set before the import starts.
    os.environ.setdefault("RUNPOD_LOG_LEVEL", "INFO")
    args = _peek_args(argv)
    on_platform = bool(os.environ.get("RUNPOD_WEBHOOK_GET_JOB")) or int(os.environ.get("RUNPOD_REALTIME_PORT", "0") or 0)
    local_job = None
    if args.test_input is not None or not (on_platform or args.rp_serve_api):
        try:
            local_job = _local_job(args.test_input)
        except ValueError as exc:
            print(f"worker: the test job is not valid JSON: {exc}", file=sys.stderr)
            return 2
        if local_job is None:
            print("worker: no job to run: pass --test_input '{\"input\": {...}}' or write ./test_input.json "
                  "(or start it under a platform that sets RUNPOD_WEBHOOK_GET_JOB)", file=sys.stderr)
            return 1
        if not isinstance(local_job, dict) or local_job.get("input") is None:
            print("worker: the test job must be a JSON object with an 'input' key, "
                  "e.g. '{\"input\": {\"prompt\": \"Hello\"}}'", file=sys.stderr)
            return 1
        local_job.setdefault("id", "local_test")

    sdk_import = _import_sdk_in_background()
    from worker.errors import ModelLoadError
    from worker.model import get_model

    try:
        lm = get_model(settings, freeze=False)
    except ModelLoadError as exc:
        log_event("worker.failed", level=40, reason=str(exc))
        print(f"worker: cannot start: {exc}", file=sys.stderr)
        return 1
    sdk_import.join()
    from worker.memory import freeze_long_lived

    freeze_long_lived()  # the SDK and the model live as long as the process
    log_event("worker.ready", model=lm.name, device=lm.device, dtype=lm.dtype,
              max_concurrency=settings.max_concurrency, batch_size=settings.batch_size,
              startup_s=round(time.perf_counter() - STARTED, 3))
    if local_job is not None:
        return asyncio.run(_run_local(local_job))

    import runpod

    sys.argv = [sys.argv[0], *argv]  # the SDK parses its own flags from sys.argv
    from worker.fitness import register
    from worker.handler import async_handler

    # After the model loaded: the checks test the model this worker serves. The SDK
    # runs them in start(), before its first job-take; a failing one ends the process.
    register(lm)
    runpod.serverless.start(start_config(settings, async_handler))
    return 0


if __name__ == "__main__":
    sys.exit(main())
