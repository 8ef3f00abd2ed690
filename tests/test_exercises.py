"""Every exercise's checker: its notebook's starter is "not attempted", each wrong answer
fails with a message, its solution passes (``lessons.exercises``)."""

from __future__ import annotations

import contextlib
import importlib
import io

import nbformat
import pytest

from lessons.exercises import ExerciseFailed, grade, names
from lessons.run import lessons

NAMES = names()


def _starter_cells() -> dict[str, str]:
    """The source of each exercise cell (tagged ``exercise``), by the name it checks."""
    found: dict[str, str] = {}
    for path in lessons():
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and "exercise" in cell.metadata.get("tags", []):
                for name in NAMES:
                    if f'"{name}"' in cell.source or f"'{name}'" in cell.source:
                        found[name] = cell.source
    return found


STARTERS = _starter_cells()


def _solutions(name: str):
    return importlib.import_module(f"lessons.solutions.l{name.split('.')[0]}")


def test_every_exercise_has_a_starter_cell_in_its_lesson():
    assert sorted(STARTERS) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_the_shipped_starter_is_not_attempted_yet(name):
    out = io.StringIO()
    namespace: dict = {"__name__": "__exercise__"}
    with contextlib.redirect_stdout(out):
        exec(compile(STARTERS[name], f"<starter {name}>", "exec"), namespace)
    assert f"{name}: not attempted yet" in out.getvalue()


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_answer_fails_with_a_message(name):
    wrong = _solutions(name).WRONG[name]
    assert wrong, f"{name} needs at least one wrong answer to test its checker"
    for answer in wrong:
        with pytest.raises(ExerciseFailed) as failed:
            grade(name, answer)
        assert len(str(failed.value)) > len(name) + 10, "the message must say what is wrong"


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_passes(name):
    assert grade(name, _solutions(name).SOLUTIONS[name]) == "passed"
