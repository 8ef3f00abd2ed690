"""Importing the worker starts nothing: no model, no SDK, no thread, no process.

Each check runs in a fresh interpreter, so that nothing imported by other tests counts.
"""

from __future__ import annotations

import subprocess
import sys

MODULES = ["worker", "worker.config", "worker.schema", "worker.errors", "worker.logs", "worker.memory",
           "worker.progress", "worker.model", "worker.generation", "worker.batching", "worker.sdk", "worker.handler", "worker.__main__",
           "demo_models", "demo_models.tiny", "demo_models.smollm2", "demo_models.cache", "demo_models.prefetch",
           "lessons.client", "lessons.inprocess", "lessons.concurrency"]

PROBE = """
import importlib, os, sys, threading
import psutil
exec(sys.argv[1])
for name in sys.argv[2:]:
    importlib.import_module(name)
print("threads", threading.active_count())
print("children", len(psutil.Process().children(recursive=True)))
print("runpod", "runpod" in sys.modules)
print("torch", "torch" in sys.modules)
"""


def probe(*modules: str, before: str = "") -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", PROBE, before, *modules], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def test_importing_every_worker_module_starts_nothing_and_loads_neither_sdk_nor_torch():
    facts = probe(*MODULES)
    assert facts == {"threads": "1", "children": "0", "runpod": "False", "torch": "False"}


def test_the_probe_notices_a_started_thread_or_an_imported_sdk():
    facts = probe("worker.config", before="import threading; "
                  "threading.Thread(target=threading.Event().wait, daemon=True).start(); import torch")
    assert facts["threads"] == "2" and facts["torch"] == "True"
