"""The lessons keep the rules of notebooks/CONVENTIONS.md and run from the repository root.

Each lesson executes ONCE with its defaults (papermill, the kernel started in the
repository root: ``lessons.setup.start_lesson`` moves it into ``notebooks/``); that one
run, shared by the tests below through a session fixture, must finish without an error,
come out clean enough to save, show "not attempted yet" under each shipped exercise,
and reproduce the saved outputs of the cells tagged ``nbval-check-output``
(``lessons.run.checked_output_differences``: what nbval compared when it executed each
lesson a second time). The rules themselves (sizes, exercises, topics...) are
``lessons.rules``, proven on small notebooks in tests/test_lesson_rules.py.

Only the lessons in which the dtype changes what runs are executed a second time, with
``DEVICE=cpu, DTYPE=bfloat16`` (and lesson 7's ``COMPILE=True``): the parameters a GPU
run changes.

Each lesson asserts what it teaches, so a lesson that runs to the end has passed.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from lessons.rules import order_problems, rule_problems
from lessons.run import ROOT, checked_output_differences, clean, execute, lessons, problems

LESSONS = lessons()
IDS = [p.stem for p in LESSONS]
# The second parameter set: what a GPU run changes (device, dtype), on this CPU.
SECOND = {"DEVICE": "cpu", "DTYPE": "bfloat16"}
# Lessons where the dtype changes what runs, and why; the others only pass DTYPE on to
# workers whose work the lesson does not look at.
DTYPE_MATTERS = {
    "01": "loads the model in the kernel and prints its dtype",
    "04": "batches generation: padding and batched matmuls in bfloat16",
    "05": "sizes an out-of-memory allocation from the model's weights",
    "07": "weights in MiB per dtype, and COMPILE=True compiles the model",
}
EXTRA = {"07": {"COMPILE": True}}
SECOND_RUN = [p for p in LESSONS if p.stem[:2] in DTYPE_MATTERS]


@pytest.fixture(scope="session")
def executed(tmp_path_factory, tiny_lm):
    """``executed(path)``: the lesson run once with its defaults from the repository root
    (cached for the session); a failed run fails every test that asks for it."""
    runs: dict[Path, object] = {}

    def run(path: Path):
        if path not in runs:
            out = tmp_path_factory.mktemp("executed") / path.name
            try:
                execute(path, out, {}, cwd=ROOT)
                runs[path] = nbformat.read(out, as_version=4)
            except Exception as exc:  # papermill's error names the cell; keep it for every test
                runs[path] = exc
        if isinstance(runs[path], Exception):
            pytest.fail(f"{path.name} did not run from the repository root: {runs[path]}".splitlines()[0])
        return runs[path]

    return run


def test_the_lessons_are_there_in_numeric_order():
    assert order_problems(IDS) == []


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_lesson_keeps_the_rules(path):
    assert rule_problems(nbformat.read(path, as_version=4), path.stem) == []


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_saved_lesson_is_clean(path):
    nb = nbformat.read(path, as_version=4)
    assert problems(nb) == []
    assert clean(nbformat.read(path, as_version=4)) == nb, "saved without papermill/nbclient metadata"


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_lesson_runs_from_the_root_and_comes_out_clean(path, executed):
    assert problems(clean(executed(path))) == []


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_checked_outputs_match_the_saved_lesson(path, executed):
    assert checked_output_differences(nbformat.read(path, as_version=4), executed(path)) == []


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_shipped_exercises_say_not_attempted(path, executed):
    cells = [c for c in executed(path).cells if "exercise" in c.metadata.get("tags", [])]
    quiet = [i for i, c in enumerate(cells)
             if "not attempted yet" not in "".join(o.get("text", "") for o in c.get("outputs", []))]
    assert cells and not quiet, f"exercise cells {quiet} do not print 'not attempted yet' as shipped"


@pytest.mark.parametrize("path", SECOND_RUN, ids=[p.stem for p in SECOND_RUN])
def test_lesson_runs_with_cpu_bfloat16(path, tmp_path, tiny_lm):
    parameters = {**SECOND, **EXTRA.get(path.stem[:2], {})}
    nb = nbformat.read(execute(path, tmp_path / path.name, parameters, cwd=ROOT), as_version=4)
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
