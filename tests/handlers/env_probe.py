"""Environment probe (sync): what a worker process can see of its environment.

Returns the worker's ``HOME``, ``XDG_CACHE_HOME`` and ``HF_HOME``, whether
``RUNPOD_API_KEY`` reached it, whether ``~/.runpod/config.toml`` exists for it, and
whether the key the SDK would send is the worker key (``RUNPOD_AI_API_KEY``). It
never returns a key itself.

Importing this file starts nothing; ``python tests/handlers/env_probe.py`` starts a worker.
"""

import os

import runpod
from runpod.http_client import get_auth_header


def handler(job):
    return {
        "home": os.environ.get("HOME"),
        "xdg_cache_home": os.environ.get("XDG_CACHE_HOME"),
        "hf_home": os.environ.get("HF_HOME"),
        "has_runpod_api_key": "RUNPOD_API_KEY" in os.environ,
        "config_toml_exists": os.path.exists(os.path.expanduser("~/.runpod/config.toml")),
        "sends_worker_key": get_auth_header()["Authorization"] == os.environ.get("RUNPOD_AI_API_KEY"),
    }


if __name__ == "__main__":
    runpod.serverless.start({"handler": handler})
