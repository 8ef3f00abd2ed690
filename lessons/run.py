"""Run the lessons with papermill, keep their saved outputs clean, and check them.

Contract:
- ``execute(path, out, parameters, cwd=...)`` runs one notebook top to bottom with
  papermill on this Python's kernel, writing the executed copy to ``out``. The kernel
  starts in ``cwd``: ``notebooks/`` by default (``make notebooks``); the tests start it in
  the repository root, which every lesson must also run from.
- ``checked_output_differences(saved, executed)`` compares the outputs of the cells
  tagged ``nbval-check-output`` in two copies of a lesson, the way nbval does: streams
  of one name are joined (carriage returns and backspaces applied), ANSI colour codes
  and trailing spaces are dropped; images, widget views, metadata and execution
  counts are not compared (they vary between runs and library versions). Returns one
  line per difference (empty: the same).
- ``clean(nb)`` strips what must not be saved: papermill's and nbclient's metadata
  (machine paths, timings, parameters) and widget state; it keeps outputs and plots.
- ``problems(nb)`` lists what makes a saved notebook unfit to commit: cells not run in
  order, error outputs, machine paths, keys.
- ``python -m lessons.run --in-place`` (``make notebooks``) re-executes every lesson
  with its defaults and saves it cleaned into ``notebooks/``; ``--out DIR -p NAME
  VALUE ...`` (``make gpu-demo``) writes executed copies and an HTML index to DIR
  instead; ``--cwd root`` starts the kernel in the repository root. It fails, naming the notebook and the problem, if a saved copy would carry
  a path or a key.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

# Machine paths and secrets that must never be saved in an output.
LEAKS = re.compile(
    r"(/root/|/home/[a-z]|/tmp/|/work/|site-packages|\.venv|/private/var/|[A-Z]:\\\\Users"
    r"|Bearer\s+\S{6,}|\brpa_[A-Za-z0-9]{8,}|\bhf_[A-Za-z0-9]{16,}|local-(api|worker)-[A-Za-z0-9_-]{6,})"
)


def lessons() -> list[Path]:
    """Every lesson, in order (not the ``.running.ipynb`` copy an interrupted run leaves)."""
    return sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb") if "." not in p.stem)


def _kernel_env() -> None:
    # The python3 kernelspec of a virtualenv runs "python" from PATH: make it this one.
    bindir = os.path.dirname(sys.executable)
    if not os.environ.get("PATH", "").startswith(bindir + os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def execute(path: Path, out: Path, parameters: dict[str, Any] | None = None, timeout: int = 600,
            cwd: Path = NOTEBOOKS) -> Path:
    """Run ``path`` with papermill into ``out``, the kernel started in ``cwd``; raises
    papermill's error if a cell fails."""
    import papermill

    _kernel_env()
    papermill.execute_notebook(str(path), str(out), parameters=parameters or {}, kernel_name="python3",
                               cwd=str(cwd), progress_bar=False, execution_timeout=timeout,
                               log_output=False)
    return out


def clean(nb: Any) -> Any:
    """Strip papermill/nbclient metadata and widget state from a notebook node."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.metadata.get("tags") == []:
            cell.metadata.pop("tags")
        for output in cell.get("outputs", []):
            output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
    return nb


def _texts(cell: Any):
    for output in cell.get("outputs", []):
        if "text" in output:
            yield output["text"]
        for kind, value in output.get("data", {}).items():
            if kind.startswith("text/") or kind.endswith("json"):
                yield value if isinstance(value, str) else str(value)
        if output.get("output_type") == "error":
            yield "\n".join(output.get("traceback", []))


def problems(nb: Any) -> list[str]:
    """What makes a saved notebook unfit to commit (empty: fit)."""
    found: list[str] = []
    counts = [c.get("execution_count") for c in nb.cells if c.cell_type == "code"]
    if any(c is None for c in counts):
        found.append("some code cells were never run")
    elif counts != list(range(1, len(counts) + 1)):
        found.append(f"cells were not run top to bottom once: execution counts {counts}")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            found.append(f"cell {i} has an error output")
        for text in _texts(cell):
            match = LEAKS.search(text)
            if match:
                found.append(f"cell {i} output shows {match.group(0)!r} (a machine path or a key)")
    meta = str(nb.metadata)
    if LEAKS.search(meta):
        found.append("the notebook metadata carries a machine path or a key")
    return found


CHECK_TAG = "nbval-check-output"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NOT_COMPARED = ("image/", "application/vnd.jupyter.widget")


def _normal(text: Any) -> str:
    text = text if isinstance(text, str) else "".join(text) if isinstance(text, list) else str(text)
    return "\n".join(line.rstrip() for line in _ANSI.sub("", text).splitlines())


def _comparable(cell: Any) -> list[tuple[str, str]]:
    """A cell's outputs as (kind, normalised text): 'stdout', 'text/plain', 'error', ..."""
    import copy

    from nbval.plugin import coalesce_streams

    found: list[tuple[str, str]] = []
    for output in coalesce_streams([copy.deepcopy(o) for o in cell.get("outputs", [])]):
        if output.get("output_type") == "stream":
            found.append((output["name"], _normal(output["text"])))
        elif output.get("output_type") == "error":
            found.append(("error", f"{output.get('ename')}: {output.get('evalue')}"))
        for kind, value in sorted(output.get("data", {}).items()):
            if not kind.startswith(_NOT_COMPARED):
                found.append((kind, _normal(value)))
    return found


def checked_output_differences(saved: Any, executed: Any) -> list[str]:
    """How the checked cells' outputs of ``executed`` differ from ``saved`` (empty: none)."""
    # papermill adds a cell tagged injected-parameters when parameters are given
    executed_cells = [c for c in executed.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    if [c.source for c in saved.cells] != [c.source for c in executed_cells]:
        return ["the two copies do not have the same cells"]
    differences: list[str] = []
    for i, (old, new) in enumerate(zip(saved.cells, executed_cells)):
        if old.cell_type != "code" or CHECK_TAG not in old.metadata.get("tags", []):
            continue
        want, got = _comparable(old), _comparable(new)
        if want != got:
            differences.append(f"cell {i} ({old.source.splitlines()[0][:60]!r}): saved {want!r}, now {got!r}")
    return differences


def _html_index(out: Path, rows: list[tuple[str, str, float]], parameters: dict[str, Any]) -> None:
    items = "\n".join(f'<li><a href="{html.escape(name)}.html">{html.escape(name)}</a>: {status}, {secs:.1f} s</li>'
                      for name, status, secs in rows)
    params = html.escape(", ".join(f"{k}={v!r}" for k, v in parameters.items()) or "defaults")
    (out / "index.html").write_text(
        f"<!doctype html><meta charset=utf-8><title>Lessons</title><h1>Lessons ({params})</h1><ul>{items}</ul>\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--in-place", action="store_true", help="save executed lessons into notebooks/")
    where.add_argument("--out", type=Path, help="write executed copies and index.html here")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a papermill parameter (repeatable); values are read as Python literals if they parse")
    parser.add_argument("--cwd", choices=["notebooks", "root"], default="notebooks",
                        help="the folder the kernel starts in (default notebooks/; every lesson runs from either)")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson")
    args = parser.parse_args(argv)

    import ast

    import nbformat

    parameters: dict[str, Any] = {}
    for name, value in args.p:
        try:
            parameters[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parameters[name] = value
    paths = [p.resolve() for p in args.notebooks] or lessons()
    failures: list[str] = []
    rows: list[tuple[str, str, float]] = []
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        target = path if args.in_place else args.out / path.name
        tmp = target.with_suffix(".running.ipynb")
        started = time.perf_counter()
        print(f"running {path.name} ...", flush=True)
        try:
            execute(path, tmp, parameters, cwd=NOTEBOOKS if args.cwd == "notebooks" else ROOT)
            status = "ok"
        except Exception as exc:  # papermill saves the partial notebook; report and go on
            status = f"FAILED: {type(exc).__name__}"
            failures.append(f"{path.name}: {exc}".splitlines()[0])
        seconds = time.perf_counter() - started
        nb = clean(nbformat.read(tmp, as_version=4))
        tmp.unlink()
        found = problems(nb) if status == "ok" else []
        if found:
            failures.extend(f"{path.name}: {p}" for p in found)
            status = "FAILED: unfit to save"
        if status == "ok" or not args.in_place:
            nbformat.write(nb, target)
        if args.out:
            from nbconvert import HTMLExporter

            body, _ = HTMLExporter().from_notebook_node(nb)
            (args.out / f"{path.stem}.html").write_text(body)
        rows.append((path.stem, status, seconds))
        print(f"  {status} in {seconds:.1f} s", flush=True)
    if args.out:
        _html_index(args.out, rows, parameters)
        print(f"executed lessons and index.html in {args.out}")
    for failure in failures:
        print("FAILED " + failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
