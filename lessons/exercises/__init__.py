"""Exercises at the end of each lesson, and the checkers that grade them.

Contract:
- A lesson's exercise cell is tagged ``exercise`` and is self-contained: it defines the
  learner's answer (a function, a class, a value) from a *starter*, then calls
  ``check("NN.name", answer)``. The starter is unfinished on purpose: its body raises
  ``NotImplementedError`` or the answer is ``None``.
- ``check(name, answer)`` runs the checker registered under ``name`` on ``answer``:
  - a starter (``answer is None``, or ``NotImplementedError`` raised while the checker
    runs the learner's code) prints ``NN.name: not attempted yet``, so a shipped
    lesson still runs top to bottom;
  - a wrong answer raises ``ExerciseFailed`` (an ``AssertionError``) whose message says
    what is wrong;
  - a right one prints ``NN.name: passed``.
  It returns nothing (the cell shows only that line); ``grade(name, answer)`` returns
  ``"passed"`` or ``"not attempted"`` for code that needs the outcome.
- Checkers live in ``lessons/exercises/lNN.py``, one module per lesson, registered with
  ``@exercise("NN.name")``; ``check`` imports the module from the name's lesson number.
  A checker takes the answer and raises ``AssertionError`` with a clear message when it
  is wrong. Keep checkers quick (a few seconds): they run in ``make test``.
- Solutions and wrong answers live outside the notebooks, in
  ``lessons/solutions/lNN.py``: ``SOLUTIONS = {name: answer}`` and
  ``WRONG = {name: [answer, ...]}``. ``tests/test_exercises.py`` runs every checker on
  the starter cell of its notebook, on each wrong answer and on its solution.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

Checker = Callable[[Any], None]
_REGISTRY: dict[str, Checker] = {}


class ExerciseFailed(AssertionError):
    """The learner's answer is wrong; the message says how."""


class NotAttempted(Exception):
    """The answer is still the starter."""


def exercise(name: str) -> Callable[[Checker], Checker]:
    """Register ``checker`` as the checker of exercise ``name`` ("NN.short_name")."""

    def register(checker: Checker) -> Checker:
        if name in _REGISTRY and _REGISTRY[name] is not checker:
            raise ValueError(f"two checkers for exercise {name!r}")
        _REGISTRY[name] = checker
        return checker

    return register


def run_learner_code(fn: Callable[..., Any], *args: Any) -> Any:
    """Call the learner's ``fn``: a starter's ``NotImplementedError`` and a checker's
    ``AssertionError`` pass through; any other exception becomes a failure that names it."""
    try:
        return fn(*args)
    except (NotImplementedError, AssertionError):
        raise
    except Exception as exc:
        raise AssertionError(f"your code raised {type(exc).__name__}: {exc}") from None


def _module_for(name: str) -> str:
    lesson = name.split(".", 1)[0]
    if not (lesson.isdigit() and len(lesson) == 2):
        raise ValueError(f"exercise names start with the lesson number, as in '01.echo_handler': {name!r}")
    return f"lessons.exercises.l{lesson}"


def checker(name: str) -> Checker:
    """The checker registered under ``name`` (importing its lesson's module)."""
    if name not in _REGISTRY:
        importlib.import_module(_module_for(name))
    if name not in _REGISTRY:
        raise KeyError(f"no exercise named {name!r} in {_module_for(name)}")
    return _REGISTRY[name]


def names(lesson: str | None = None) -> list[str]:
    """Registered exercise names (after importing every lesson's module), optionally of one lesson."""
    import pkgutil

    import lessons.exercises as package

    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("l") and info.name[1:].isdigit():
            importlib.import_module(f"{package.__name__}.{info.name}")
    return sorted(n for n in _REGISTRY if lesson is None or n.startswith(f"{lesson}."))


def grade(name: str, answer: Any) -> str:
    """``"passed"`` or ``"not attempted"``; raises ``ExerciseFailed`` for a wrong answer."""
    run = checker(name)
    if answer is None:
        return "not attempted"
    try:
        run(answer)
    except (NotImplementedError, NotAttempted):
        return "not attempted"
    except ExerciseFailed:
        raise
    except AssertionError as exc:
        raise ExerciseFailed(f"{name}: {exc}") from None
    return "passed"


def check(name: str, answer: Any) -> None:
    """Grade ``answer`` and say so; see the module docstring.

    Returns nothing, so that the cell shows the one line it prints and no value.
    """
    outcome = grade(name, answer)
    print(f"{name}: " + ("passed" if outcome == "passed" else "not attempted yet: fill in the starter above and run the cell again"))
