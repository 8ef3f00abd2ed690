"""The lessons: each runs top to bottom with papermill, with its defaults and with a
second parameter set, and each saved copy is clean (run in order, no error, no
machine path, no key). nbval, run by the same ``pytest`` over ``notebooks/``, also
executes each lesson and compares the saved outputs of the cells tagged
``nbval-check-output``.

Each lesson asserts what it teaches, so a lesson that runs to the end has passed.
"""

from __future__ import annotations

import nbformat
import pytest

from lessons.run import clean, execute, lessons, problems

EXPECTED = [
    "01_handler_basics", "02_streaming", "03_progress_updates", "04_async_and_concurrency",
    "05_error_handling", "06_input_validation", "07_cold_start_and_memory", "08_logging",
    "12_testing_and_deployment",
]
# The second parameter set: what a GPU run changes (device, dtype), on this CPU.
SECOND = {"DEVICE": "cpu", "DTYPE": "bfloat16", "COMPILE": True}  # COMPILE: lesson 7 only
LESSONS = lessons()


def test_the_nine_lessons_are_there_in_order():
    assert [p.stem for p in LESSONS] == EXPECTED


@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_saved_lesson_is_clean_and_has_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert problems(nb) == []
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters' for papermill"
    for name in ("MODEL", "DEVICE", "DTYPE"):
        assert f"{name} =" in tagged[0].source
    assert nb.cells[0].cell_type == "markdown", "prose first"
    assert clean(nbformat.read(path, as_version=4)) == nb, "saved without papermill/nbclient metadata"


@pytest.mark.parametrize("parameters", [{}, SECOND], ids=["defaults", "cpu-bfloat16"])
@pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_top_to_bottom_with_papermill(path, parameters, tmp_path, tiny_lm):
    out = execute(path, tmp_path / path.name, parameters)
    nb = nbformat.read(out, as_version=4)
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
