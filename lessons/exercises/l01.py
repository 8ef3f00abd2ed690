"""Lesson 1's exercises: a word-count handler, and a worker file fixed with the ``__main__`` guard.

- ``01.word_count``: ``handler(job)`` returns ``{"words": n}`` for ``{"text": ...}`` and a
  dict with an ``error`` message (no exception) when ``text`` is missing.
- ``01.guarded_worker``: the text of a worker file; importing it must start nothing and
  ``python worker.py`` must still run the SDK's local test on ``test_input.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from lessons.exercises import exercise, run_learner_code as _call



@exercise("01.word_count")
def word_count(handler) -> None:
    cases = {"one two three": 3, "": 0, "  spaced   out  ": 2}
    for text, words in cases.items():
        got = _call(handler, {"id": "check", "input": {"text": text}})
        assert isinstance(got, dict), f"return a dict, not {type(got).__name__}"
        assert "output" not in got, ("don't wrap the result in {'output': ...}: the SDK already puts "
                                     "whatever the handler returns under output")
        assert got == {"words": words}, f"for text {text!r} the output should be {{'words': {words}}}, got {got}"
    try:
        got = handler({"id": "check", "input": {}})
    except NotImplementedError:
        raise
    except Exception as exc:
        raise AssertionError(f"without 'text' the handler raised {type(exc).__name__}: return "
                             f"{{'error': '...'}} instead, so the job fails with a reason") from None
    assert isinstance(got, dict) and isinstance(got.get("error"), str) and got["error"], \
        f"without 'text' return {{'error': '<a message>'}}, got {got}"


def _python(args: list[str], cwd: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true"}
    env.pop("RUNPOD_WEBHOOK_GET_JOB", None)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@exercise("01.guarded_worker")
def guarded_worker(text) -> None:
    assert isinstance(text, str), "FIXED should be the corrected file's text, a string"
    assert "runpod.serverless.start" in text, "the worker must still call runpod.serverless.start"
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "worker.py").write_text(text)
        Path(folder, "test_input.json").write_text(json.dumps({"input": {"x": 1}}))
        imported = _python(["-c", "import worker; print('IMPORTED', worker.handler({'id': 't', 'input': {'x': 1}}))"],
                           folder)
        assert "IMPORTED" in imported.stdout, (
            "importing the file started a worker (it ran the test job and exited): put the start "
            "call under `if __name__ == \"__main__\":`\n" + (imported.stdout + imported.stderr)[-600:])
        assert "Starting Serverless Worker" not in imported.stdout, "importing the file still started a worker"
        run = _python(["worker.py"], folder)
        assert run.returncode == 0 and "Local testing complete" in run.stdout, (
            "`python worker.py` should run the SDK's local test on test_input.json and exit 0; it printed:\n"
            + (run.stdout + run.stderr)[-600:])
