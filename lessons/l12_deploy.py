"""Lesson 12's harness: pytest in a subprocess, the SDK's own test server, the Dockerfile read back.

Contract:
- ``run_pytest(folder, env, *files)``: pytest in a fresh process on ``files`` of ``folder``
  (only the plugins the folder asks for); returns ``(passed, test_lines, summary)`` with
  the folder's path and timings taken out, and prints pytest's output when it failed.
- ``free_port()``: a TCP port free on 127.0.0.1 now.
- ``serving(command, env, cwd, port)``: starts ``command`` (a server on 127.0.0.1:``port``),
  waits until its ``/openapi.json`` answers (the model loads first), yields its base URL
  and stops its process group on leaving; raises with the server's output if it exits.
- ``dockerfile_steps(text)``: the instructions of a Dockerfile as ``[(OP, args), ...]``,
  continuation lines joined and comments left out; ``find(steps, op, pattern)`` the index
  of the first instruction ``op`` whose arguments match the regular expression
  ``pattern``, so that a lesson reads the Dockerfile by what it says, not by line number.
- ``check_settings()``: sets each field of ``worker.config.Settings`` through its
  environment variable (``Settings.from_env``), asserts that the value arrived, and
  returns how many settings there are.
- ``make_dry_run(argv, root, marker)``: the line of ``make -n ...`` (or, without make,
  the Makefile's ``gpu-demo`` recipe expanded by hand) that contains ``marker``, with
  the interpreter shown as ``python``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator


def run_pytest(folder: str | Path, env: dict[str, str], *files: str) -> tuple[bool, list[str], str]:
    """pytest in a subprocess; see the module docstring."""
    done = subprocess.run([sys.executable, "-m", "pytest", "-v", "--no-header", "--color=no", "-p", "no:cacheprovider",
                           *files], cwd=folder, env={**env, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
                          capture_output=True, text=True, timeout=600)
    out = done.stdout.replace(str(folder), "<tmp>")
    tests = [re.sub(r"\s+\[\s*\d+%\]$", "", line) for line in out.splitlines()
             if re.search(r" (PASSED|FAILED|ERROR)", line) and "::" in line and not line.startswith(("FAILED", "ERROR"))]
    summary = re.sub(r"=+", "", out.strip().splitlines()[-1]).strip()
    if done.returncode != 0:
        print(out[-4000:])
    return done.returncode == 0, tests, re.sub(r" in [\d.]+s.*", "", summary)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serving(command: list[str], env: dict[str, str], cwd: str | Path, port: int,
            timeout: float = 300) -> Iterator[str]:
    """Run a local server until the block ends; see the module docstring."""
    url = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile("w+")   # a file, not a pipe: a chatty server never blocks on it
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/openapi.json", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{command[:4]} did not answer within {timeout} s") from None
                time.sleep(0.2)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def dockerfile_steps(text: str) -> list[tuple[str, str]]:
    """A Dockerfile's instructions; see the module docstring."""
    joined = re.sub(r"\\\n", " ", text)
    steps = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            op, _, args = line.strip().partition(" ")
            steps.append((op.upper(), " ".join(args.split())))
    return steps


def find(steps: list[tuple[str, str]], op: str, pattern: str = "") -> int:
    """Index of the first ``op`` instruction whose arguments match ``pattern``."""
    for i, (o, args) in enumerate(steps):
        if o == op and re.search(pattern, args):
            return i
    raise AssertionError(f"the Dockerfile has no {op} matching {pattern!r}")


def check_settings() -> int:
    """Set each worker setting through its variable; see the module docstring."""
    from pathlib import PurePosixPath

    import worker.config as config

    defaults = config.Settings()
    for name, field in config.Settings.model_fields.items():
        default = getattr(defaults, name)
        choices = getattr(field.annotation, "__args__", ())
        if isinstance(default, bool):
            other = "0" if default else "1"
        elif isinstance(default, int):
            other = str(default + 1)
        elif choices:
            other = next(c for c in choices if c != default)
        elif isinstance(default, str):
            other = "smollm2" if default != "smollm2" else "tiny"
        else:   # the cache folder
            other = str(PurePosixPath("/runpod-volume/models"))
        changed = getattr(config.Settings.from_env({config.env_name(name): other}), name)
        expected = (other == "1") if isinstance(default, bool) else other
        assert str(changed) == str(expected) and changed != default, f"{config.env_name(name)} does not set {name}"
    return len(config.Settings.model_fields)


def make_dry_run(argv: list[str], root: str | Path, marker: str) -> str:
    """The command ``make -n`` prints for ``argv``; see the module docstring."""
    import shutil

    if shutil.which("make"):
        out = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=60).stdout
    else:   # no make here: expand the gpu-demo recipe from the Makefile by hand
        recipe = (Path(root) / "Makefile").read_text().split("\ngpu-demo:", 1)[1].splitlines()[1].strip()
        values = {"PY": "python", "OUT": "gpu-out", "DTYPE": "auto"}
        values.update(a.split("=", 1) for a in argv if "=" in a)
        out = re.sub(r"\$\((\w+)\)", lambda m: values[m[1]], recipe)
    (line,) = [line for line in out.splitlines() if marker in line]
    return "python " + line.split(None, 1)[1]
