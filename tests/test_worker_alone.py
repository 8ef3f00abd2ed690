"""``worker/`` copied alone into an empty folder is a complete worker.

What a user does: copy the folder, install ``worker/requirements.txt`` into a fresh
virtualenv and run ``python -m worker``. Nothing else of this repository (``lessons``,
``demo_models``, ``local_endpoint``, the project's ``pyproject.toml``) is there. The
model is a folder given as ``MODEL_NAME`` (the tiny model, built by ``make model``).

The install is the slow part: about 1.3 GB unpacked, measured 160 s on a busy 2-core
machine even with pip's cache and ``--no-compile`` (which skips byte-compiling torch's
thousands of files). So the virtualenv is kept between runs under the user's cache
folder, keyed by the hash of ``worker/requirements.txt``, the torch pin and the Python
version: any change to the requirements makes a fresh one, built in a temporary
folder and renamed into place (``WORKER_ALONE_FRESH=1`` forces one). It holds nothing
but those requirements (the first test checks it), and the worker is copied afresh
every run. The install's time is printed (``-s`` shows it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from worker.config import default_cache_dir
from worker.model import BUILD_INFO, SHORT_NAMES

ROOT = Path(__file__).resolve().parent.parent
TORCH_PIN = "torch==2.13.0"  # the CPU wheel on these machines, as in the Makefile


def requirements_venv(requirements: Path) -> Path:
    """A virtualenv holding ``requirements`` and the torch pin only, reused while they stay the same."""
    key = hashlib.sha256(f"{requirements.read_text()}\n{TORCH_PIN}\n{sys.version}".encode()).hexdigest()[:16]
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "runpod-worker-alone-venvs"
    venv = root / key
    if (venv / "installed").is_file() and not os.environ.get("WORKER_ALONE_FRESH"):
        return venv
    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{key}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp)], check=True, timeout=120)
    # pip runs from outside (--python): none is copied into the venv, one install less
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PIP_NO_CACHE_DIR")}
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(tmp / "bin" / "python"), "install",
                           "--quiet", "--no-compile", TORCH_PIN, "-r", str(requirements)],
                          env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    (tmp / "installed").write_text(requirements.read_text())
    shutil.rmtree(venv, ignore_errors=True)
    try:
        os.rename(tmp, venv)  # python -m finds its venv relative to bin/python: a renamed venv works
    except OSError:  # another run put one there first
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nfresh virtualenv with worker/requirements.txt: {time.perf_counter() - started:.1f} s")
    return venv


@pytest.fixture(scope="module")
def alone(tmp_path_factory) -> dict:
    """``worker/`` copied into an empty folder, and a virtualenv with its requirements only."""
    folder = default_cache_dir() / SHORT_NAMES["tiny"][0]
    if not (folder / BUILD_INFO).is_file():
        pytest.fail(f"the tiny model is not built at {folder}: run `make model` (python -m demo_models.tiny)")
    base = tmp_path_factory.mktemp("alone")
    app = base / "app"
    shutil.copytree(ROOT / "worker", app / "worker", ignore=shutil.ignore_patterns("__pycache__"))
    venv = requirements_venv(app / "worker" / "requirements.txt")
    run_env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(base), "HF_HUB_OFFLINE": "1",
               "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TOKENIZERS_PARALLELISM": "false",
               "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true", "MODEL_NAME": str(folder), "LOG_FORMAT": "text"}
    return {"app": app, "python": str(venv / "bin" / "python"), "env": run_env}


def run(alone: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([alone["python"], *args], cwd=alone["app"], env=alone["env"], capture_output=True,
                          text=True, timeout=300)


PLAIN = {"input": {"prompt": "The Python language", "max_tokens": 8, "temperature": 0}}
STREAM = {"input": {"prompt": "The Python language", "max_tokens": 24, "temperature": 0, "stream": True}}


@pytest.fixture(scope="module")
def jobs(alone) -> dict[str, tuple[int, str, str]]:
    """The plain and the streaming job, each run by ``python -m worker --test_input``, side by side."""
    started = {name: subprocess.Popen([alone["python"], "-m", "worker", "--test_input", json.dumps(job)],
                                      cwd=alone["app"], env=alone["env"], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
               for name, job in (("plain", PLAIN), ("stream", STREAM))}
    out = {}
    for name, process in started.items():
        stdout, stderr = process.communicate(timeout=600)
        out[name] = (process.returncode, stdout, stderr)
    return out


def test_the_virtualenv_holds_the_copied_worker_and_nothing_else_of_the_project(alone):
    probe = ("import importlib.util, worker, sys; print(worker.__file__); "
             "print([m for m in ('lessons', 'demo_models', 'local_endpoint') if importlib.util.find_spec(m)])")
    done = run(alone, "-c", probe)
    assert done.returncode == 0, done.stderr
    where, others = done.stdout.splitlines()
    assert where == str(alone["app"] / "worker" / "__init__.py") and others == "[]"


def test_the_copied_worker_runs_a_plain_job_on_a_model_folder(jobs):
    code, stdout, stderr = jobs["plain"]
    assert code == 0, stderr[-3000:]
    (line,) = [line for line in stdout.splitlines() if line.startswith("output: ")]
    (result,) = json.loads(line[len("output: "):])
    assert result["text"] and result["usage"]["completion_tokens"] > 0 and "COMPLETED" in stdout


def test_the_copied_worker_streams_a_job_chunk_by_chunk(jobs):
    code, stdout, stderr = jobs["stream"]
    assert code == 0, stderr[-3000:]
    chunks = [json.loads(line.split(": ", 1)[1]) for line in stdout.splitlines() if line.startswith("chunk ")]
    assert len(chunks) >= 2 and chunks[-1]["finished"] is True
    assert all(c["finished"] is False for c in chunks[:-1])
