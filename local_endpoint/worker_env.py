"""The environment a worker process starts with.

Contract: ``worker_environment(...)`` returns a new dict and changes nothing.

- The parent's environment is copied, minus every ``RUNPOD_*`` variable except the
  log-level ones: a developer's ``RUNPOD_API_KEY``, or a stray ``RUNPOD_REALTIME_PORT``
  (which would switch the SDK into its FastAPI mode), never reaches a worker.
- ``HOME`` is a private, empty folder. The SDK reads ``~/.runpod/config.toml`` in
  preference to ``RUNPOD_AI_API_KEY`` (runpod/http_client.py, get_auth_header), so
  with the real ``HOME`` a developer's real key would be sent to this server.
- ``XDG_CACHE_HOME`` is kept, or set to the parent's own ``~/.cache``, and ``HF_HOME``
  is kept, so models cached by the developer are still found under the new ``HOME``.
- The folder holding this package is put first on ``PYTHONPATH`` so that the default
  command, ``python -m worker``, finds the project's worker from any directory.
- The SDK logs at DEBUG unless told otherwise (a line per poll and per ping): unless
  ``RUNPOD_LOG_LEVEL`` or ``RUNPOD_DEBUG_LEVEL`` is set, workers log at INFO, so
  their logs stay readable.
- ``extra`` (the endpoint's ``worker_env``) is applied next; ``HOME`` and the
  variables that wire the worker to this endpoint are applied last and cannot be
  overridden. The SDK
  reads them when ``runpod`` is imported, which is why they are set at spawn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

# RUNPOD_* variables a developer may set on purpose and that are safe to pass on.
PASSED_RUNPOD_VARIABLES = frozenset({"RUNPOD_LOG_LEVEL", "RUNPOD_DEBUG_LEVEL"})

PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)


def webhook_templates(base_url: str, endpoint_id: str) -> dict[str, str]:
    """The URL templates the SDK worker fills in ($ID, $RUNPOD_POD_ID).

    The job-take template already has a query string: the SDK appends
    ``&job_in_progress=...`` to it (and derives job-stop from it), and appends
    ``&isStream=...`` to the result and stream templates.
    """
    root = f"{base_url}/v2/{endpoint_id}"
    query = "?gpu=local"
    return {
        "RUNPOD_WEBHOOK_GET_JOB": f"{root}/job-take/$ID{query}",
        "RUNPOD_WEBHOOK_POST_OUTPUT": f"{root}/job-done/$RUNPOD_POD_ID/$ID{query}",
        "RUNPOD_WEBHOOK_POST_STREAM": f"{root}/job-stream/$RUNPOD_POD_ID/$ID{query}",
        "RUNPOD_WEBHOOK_PING": f"{root}/ping/$RUNPOD_POD_ID{query}",
    }


def worker_environment(
    *,
    parent: Mapping[str, str],
    home: str,
    base_url: str,
    endpoint_id: str,
    worker_id: str,
    worker_key: str,
    ping_interval_ms: int,
    extra: Mapping[str, str] = {},
) -> dict[str, str]:
    env = {k: v for k, v in parent.items()
           if not k.startswith("RUNPOD_") or k in PASSED_RUNPOD_VARIABLES}

    parent_home = parent.get("HOME") or os.path.expanduser("~")
    env["XDG_CACHE_HOME"] = parent.get("XDG_CACHE_HOME") or os.path.join(parent_home, ".cache")

    python_path = [PACKAGE_PARENT] + [p for p in parent.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(python_path))
    env["PYTHONUNBUFFERED"] = "1"  # logs reach the log file as they are written
    if "RUNPOD_LOG_LEVEL" not in env and "RUNPOD_DEBUG_LEVEL" not in env:
        env["RUNPOD_LOG_LEVEL"] = "INFO"

    env.update(extra)

    env["HOME"] = home
    env.update(webhook_templates(base_url, endpoint_id))
    env.update({
        "RUNPOD_POD_ID": worker_id,
        "RUNPOD_AI_API_KEY": worker_key,
        "RUNPOD_PING_INTERVAL": str(ping_interval_ms),
        # Offline and without a GPU, the SDK's start-up checks would kill the worker
        # (one opens TCP to 8.8.8.8:53). Both lines honour these two ("true"):
        # 1.12.0 serverless/modules/rp_fitness.py and rp_gpu_fitness.py; 2.0
        # _health/fitness.py and _health/gpu.py. 2.0 also runs its built-in checks at
        # `import runpod` (runpod/_startup.py) when RUNPOD_ENDPOINT_ID and
        # RUNPOD_WEBHOOK_GET_JOB are both set; no endpoint ID is set here, and with
        # these two the checks register nothing anyway. RUNPOD_SKIP_FITNESS_CHECKS (2.0
        # only) is not set: it would also skip a handler's own register_fitness_check
        # functions, which both lines run, as the platform does, before the first job.
        "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true",
        "RUNPOD_SKIP_GPU_CHECK": "true",
    })
    for name in ("RUNPOD_API_KEY", "RUNPOD_REALTIME_PORT", "RUNPOD_ENDPOINT_BASE_URL"):
        env.pop(name, None)  # also when `extra` tried to set them
    return env
