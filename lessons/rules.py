"""The rules every lesson follows (notebooks/CONVENTIONS.md), as checks on a notebook.

Contract:
- ``prose_words(cell)``: a markdown cell's words, or the words of a code cell's comment
  lines (after the first ``#`` of a line that is not a ``%`` magic). ``size(nb)`` counts
  a lesson with it: the *main path* runs from the first cell up to, not including, the
  markdown cell headed "Exercises". Engineers, hooks and ``tests/test_notebooks.py``
  count with these two functions, so they always agree.
- ``rule_problems(nb, stem)`` lists every broken rule of the saved lesson ``stem``
  ("01_handler_basics"): size limits, prose first, the parameters cell, an "Exercises"
  heading followed by at least two cells tagged ``exercise``, only an "Appendix" or
  "Under the hood" section after the exercises, no mention of a source document, and
  the topic markers of its lesson (``TOPICS``). Empty list: the lesson keeps the rules.
- ``order_problems(stems)`` checks the lesson list: the expected lessons are there,
  numbers are unique and in order, testing and deployment stays last.
- ``python -m lessons.rules [NOTEBOOK ...]`` prints each lesson's sizes and problems
  (default: every lesson) and exits 1 if any lesson breaks a rule.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

MAIN_CELLS = 30
MAIN_WORDS = 1500
ALL_WORDS = 2500
CODE_LINES = 25
MIN_EXERCISES = 2
# Lessons 09-11 come with later issues; 12 stays last.
EXPECTED = [
    "01_handler_basics", "02_streaming", "03_progress_updates", "04_async_and_concurrency",
    "05_error_handling", "06_input_validation", "07_cold_start_and_memory", "08_logging",
    "12_testing_and_deployment",
]
LAST = "12_testing_and_deployment"

_EXERCISES = re.compile(r"#+\s*exercises?\b", re.I)
_AFTER_EXERCISES = re.compile(r"##\s*(appendix|under the hood)\b", re.I)
_SOURCE_DOC = re.compile(r"source[\s-]+document|serverless-workers-deep-dive", re.I)


def _source(cell: Any) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def is_exercises_heading(cell: Any) -> bool:
    return cell["cell_type"] == "markdown" and bool(_EXERCISES.match(_source(cell).strip()))


def prose_words(cell: Any) -> int:
    """Markdown words, or the words of a code cell's comments (the tests' count)."""
    src = _source(cell)
    if cell["cell_type"] == "markdown":
        return len(src.split())
    if cell["cell_type"] != "code":
        return 0
    return sum(len(line.split("#", 1)[1].split()) for line in src.splitlines()
               if "#" in line and not line.strip().startswith("%"))


@dataclass
class Size:
    main_cells: int
    main_words: int
    all_words: int
    longest_code: int
    has_exercises: bool

    def __str__(self) -> str:
        return (f"main path {self.main_cells} cells, {self.main_words} words; whole {self.all_words} words; "
                f"longest code cell {self.longest_code} lines" + ("" if self.has_exercises else "; NO EXERCISES"))


def size(nb: Any) -> Size:
    main = True
    main_cells = main_words = all_words = longest = 0
    for cell in nb["cells"]:
        if is_exercises_heading(cell):
            main = False
        words = prose_words(cell)
        if cell["cell_type"] == "code":
            longest = max(longest, len(_source(cell).splitlines()))
        main_cells += main
        main_words += main * words
        all_words += words
    return Size(main_cells, main_words, all_words, longest, not main)


def _code(nb: Any) -> list[str]:
    return [_source(c) for c in nb["cells"] if c["cell_type"] == "code"]


def _any_code(*needles: str) -> Callable[[Any], bool]:
    return lambda nb: any(n in src for src in _code(nb) for n in needles)


def _worker_file_cell(nb: Any) -> bool:
    """A %%writefile cell among the first five code cells: a ≤20-line worker whose
    ``runpod.serverless.start`` call sits under the ``__main__`` guard."""
    for src in _code(nb)[:5]:
        lines = src.rstrip().splitlines()
        if not lines or not lines[0].startswith("%%writefile") or not lines[0].rstrip().endswith(".py"):
            continue
        body = lines[1:]
        guard = next((i for i, l in enumerate(body) if re.match(r"if __name__ == ['\"]__main__['\"]:", l)), None)
        start = next((i for i, l in enumerate(body) if "runpod.serverless.start" in l), None)
        if len(body) <= 20 and guard is not None and start is not None and start > guard \
                and body[start].startswith((" ", "\t")):
            return True
    return False


def _markdown_heading(word: str) -> Callable[[Any], bool]:
    return lambda nb: any(line.lstrip().startswith("#") and word in line.lower()
                          for c in nb["cells"] if c["cell_type"] == "markdown"
                          for line in _source(c).splitlines())


# The topics issue 10 asked for, by lesson number: (what, check).
TOPICS: dict[str, list[tuple[str, Callable[[Any], bool]]]] = {
    "01": [("a %%writefile cell near the top writing a <=20-line worker with runpod.serverless.start "
            "under the __main__ guard", _worker_file_cell),
           ("a test_input.json", _any_code("test_input.json"))],
    "02": [("a client cancelling a job (.cancel())", _any_code(".cancel()"))],
    "03": [("webhooks with a loopback receiver (code with 'webhook')", _any_code("webhook"))],
    # LocalEndpoint.asyncio_endpoint(session) returns the SDK's runpod.AsyncioEndpoint
    "04": [("the SDK's AsyncioEndpoint (AsyncioEndpoint or .asyncio_endpoint( in code)",
            _any_code("AsyncioEndpoint", ".asyncio_endpoint(")),
           ("a dynamic concurrency modifier (def adjust_concurrency()", _any_code("def adjust_concurrency(")),
           ("two workers sharing a queue (min_workers=2 or max_workers=2)", _any_code("min_workers=2", "max_workers=2"))],
    "12": [("the SDK's --rp_serve_api flow", _any_code("--rp_serve_api")),
           ("a deployment checklist (a markdown heading with 'checklist')", _markdown_heading("checklist")),
           ("the client reaching RunPod by its base URL and key (endpoint_url_base)", _any_code("endpoint_url_base"))],
}


def rule_problems(nb: Any, stem: str) -> list[str]:
    """Every rule of CONVENTIONS.md the saved lesson ``stem`` breaks (empty: none)."""
    found: list[str] = []
    cells = nb["cells"]
    s = size(nb)
    if s.main_cells > MAIN_CELLS:
        found.append(f"main path has {s.main_cells} cells (at most {MAIN_CELLS})")
    if s.main_words > MAIN_WORDS:
        found.append(f"main path has {s.main_words} words of prose (at most {MAIN_WORDS})")
    if s.all_words > ALL_WORDS:
        found.append(f"the lesson has {s.all_words} words of prose (at most {ALL_WORDS})")
    for i, cell in enumerate(cells):
        n = len(_source(cell).splitlines())
        if cell["cell_type"] == "code" and n > CODE_LINES:
            found.append(f"code cell {i} has {n} lines (at most {CODE_LINES})")
    if not cells or cells[0]["cell_type"] != "markdown" or not _source(cells[0]).lstrip().startswith("# "):
        found.append("the first cell is not markdown opening with a '# ' title (prose first)")
    params = [i for i, c in enumerate(cells) if "parameters" in _tags(c)]
    if params != [1]:
        found.append(f"the second cell, and only it, must be tagged 'parameters' (tagged: {params})")
    else:
        missing = [n for n in ("MODEL", "DEVICE", "DTYPE") if not re.search(rf"^{n} =", _source(cells[1]), re.M)]
        if missing:
            found.append(f"the parameters cell does not set {', '.join(missing)}")
    heading = next((i for i, c in enumerate(cells) if is_exercises_heading(c)), None)
    if heading is None:
        found.append("no 'Exercises' heading ending the main path")
    else:
        after = cells[heading + 1:]
        n_ex = sum(1 for c in after if c["cell_type"] == "code" and "exercise" in _tags(c))
        if n_ex < MIN_EXERCISES:
            found.append(f"{n_ex} cells tagged 'exercise' after the Exercises heading (at least {MIN_EXERCISES})")
        for c in after:
            for line in _source(c).splitlines() if c["cell_type"] == "markdown" else []:
                if re.match(r"##\s", line) and not _AFTER_EXERCISES.match(line):
                    found.append(f"section {line.strip()!r} after the exercises: only '## Appendix' "
                                 f"or '## Under the hood' may follow them")
    before = [i for i, c in enumerate(cells[:heading or 0]) if "exercise" in _tags(c)]
    if before:
        found.append(f"cells {before} tagged 'exercise' sit before the Exercises heading")
    for i, cell in enumerate(cells):
        texts = [_source(cell)] + [str(o) for o in cell.get("outputs", [])]
        if any(_SOURCE_DOC.search(t) for t in texts):
            found.append(f"cell {i} refers to a source document the reader does not have")
    for what, check in TOPICS.get(stem[:2], []):
        if not check(nb):
            found.append(f"missing topic: {what}")
    return found


def order_problems(stems: list[str]) -> list[str]:
    """What is wrong with the list of lessons (empty: the expected ones, in numeric order)."""
    found = [f"missing lesson {name}" for name in EXPECTED if name not in stems]
    numbers = [s[:2] for s in stems]
    if len(set(numbers)) != len(numbers):
        found.append(f"two lessons share a number: {stems}")
    if numbers != sorted(numbers):
        found.append(f"lessons out of numeric order: {stems}")
    if stems and stems[-1] != LAST:
        found.append(f"{LAST} must stay the last lesson: {stems}")
    return found


def main(argv: list[str] | None = None) -> int:
    import nbformat

    from lessons.run import lessons

    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])] or lessons()
    bad = 0
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        found = rule_problems(nb, path.stem)
        bad += bool(found)
        print(f"{path.name}: {size(nb)}")
        for problem in found:
            print(f"  - {problem}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
