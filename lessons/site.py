"""The lessons as a static book: ``make site`` (``python -m lessons.site --out site``).

Contract:
- ``build(out, paths=None)`` renders every lesson (``lessons.run.lessons()`` by default)
  from its SAVED outputs, nothing re-executed, to ``out/NN_topic.html`` with nbconvert,
  and writes ``out/index.html``: for each lesson its title (the first cell's ``#``
  heading), its goal (the first sentence after the title) and a thumbnail of its
  first plot (its first ``image/png`` output, written to ``out/thumbs/NN_topic.png``)
  or, where it has no plot, a card with its title. Returns the index's path.
- Every lesson page carries links back to the index and to the previous and next
  lesson. A markdown link to another lesson (``02_streaming.ipynb``) becomes a link to
  its page; a relative link (from ``notebooks/``) to another file of the repository
  points at a copy under ``out/repo/`` (not ``files/``: nbconvert strips that prefix);
  a link to a file that does not exist fails the build, naming it.
- Pages use relative links only (no machine paths), so ``out`` can be moved or served
  as it is.
"""

from __future__ import annotations

import argparse
import base64
import html
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessons.run import NOTEBOOKS, ROOT, lessons

_LINK = re.compile(r"(\]\()([^)\s]+)(\))")
_EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|#)", re.I)
_SENTENCE = re.compile(r"^(.+?[.!?])(?=\s|$)", re.S)

STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(17rem,1fr));gap:1rem;padding:0;list-style:none}
.cards li{border:1px solid #ddd;border-radius:6px;padding:.8rem}
.cards a{color:inherit;text-decoration:none}
.thumb{width:100%;height:9rem;object-fit:contain;background:#fafafa}
.card-title{height:9rem;display:flex;align-items:center;justify-content:center;text-align:center;
  background:#f1f4f8;font-size:1.3rem;padding:0 .5rem}
"""
NAV_STYLE = ("<style>.lesson-nav{display:flex;gap:1.5rem;justify-content:space-between;padding:.6rem 1rem;"
             "font-family:system-ui,sans-serif;background:#f1f4f8}</style>")


@dataclass
class Lesson:
    stem: str
    title: str
    goal: str
    thumbnail: str | None  # path relative to the site, or None


def title_and_goal(nb: Any) -> tuple[str, str]:
    """The first cell's ``#`` title and the first sentence after it."""
    lines = nb.cells[0].source.strip().splitlines() if nb.cells else []
    title = lines[0].lstrip("#").strip() if lines and lines[0].startswith("#") else "Untitled lesson"
    rest = " ".join(line.strip() for line in lines[1:] if line.strip())
    rest = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", rest).replace("**", "")
    match = _SENTENCE.match(rest)
    return title, (match.group(1) if match else rest)


def _inline(text: str) -> str:
    """Escape, then render `code` spans (all the markdown a title or a goal uses)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def first_plot(nb: Any) -> bytes | None:
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            png = output.get("data", {}).get("image/png")
            if png:
                return base64.b64decode(png if isinstance(png, str) else "".join(png))
    return None


def _relink(nb: Any, stems: set[str], out: Path, source: Path) -> None:
    """Point the markdown links of ``nb`` at pages and copies inside ``out``."""

    def target(match: re.Match) -> str:
        href = match.group(2)
        if _EXTERNAL.match(href):
            return match.group(0)
        path, _, anchor = href.partition("#")
        suffix = f"#{anchor}" if anchor else ""
        name = Path(path).name
        if name.endswith(".ipynb") and name[:-6] in stems:
            return f"{match.group(1)}{name[:-6]}.html{suffix}{match.group(3)}"
        file = (NOTEBOOKS / path).resolve()
        if not file.is_file() or ROOT not in file.parents:
            raise FileNotFoundError(f"{source.name} links to {href!r}, which is not a file of the repository")
        copy = out / "repo" / file.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, copy)
        return f"{match.group(1)}repo/{file.relative_to(ROOT).as_posix()}{suffix}{match.group(3)}"

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _LINK.sub(target, cell.source)


def _nav(pages: list[Lesson], i: int) -> str:
    prev = f'<a href="{pages[i - 1].stem}.html">&larr; {_inline(pages[i - 1].title)}</a>' if i else "<span></span>"
    nxt = (f'<a href="{pages[i + 1].stem}.html">{_inline(pages[i + 1].title)} &rarr;</a>'
           if i + 1 < len(pages) else "<span></span>")
    return f'<nav class="lesson-nav">{prev}<a href="index.html">All lessons</a>{nxt}</nav>'


def _index(pages: list[Lesson]) -> str:
    cards = []
    for page in pages:
        picture = (f'<img class="thumb" src="{page.thumbnail}" alt="first plot of {html.escape(page.title)}">'
                   if page.thumbnail else f'<div class="card-title">{_inline(page.title)}</div>')
        cards.append(f'<li><a href="{page.stem}.html">{picture}<h2>{_inline(page.title)}</h2></a>'
                     f"<p>{_inline(page.goal)}</p></li>")
    return ("<!doctype html>\n<html lang=en><head><meta charset=utf-8><title>RunPod serverless workers: the lessons"
            f"</title><style>{STYLE}</style></head><body>\n<h1>RunPod serverless workers: the lessons</h1>\n"
            f'<ul class="cards">\n' + "\n".join(cards) + "\n</ul>\n</body></html>\n")


def build(out: Path, paths: list[Path] | None = None) -> Path:
    """Render the lessons and the index into ``out``; see the module docstring."""
    import nbformat
    from nbconvert import HTMLExporter

    paths = list(paths) if paths is not None else lessons()
    out.mkdir(parents=True, exist_ok=True)
    stems = {p.stem for p in paths}
    notebooks, pages = [], []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        title, goal = title_and_goal(nb)
        png = first_plot(nb)
        thumbnail = None
        if png:
            (out / "thumbs").mkdir(exist_ok=True)
            (out / "thumbs" / f"{path.stem}.png").write_bytes(png)
            thumbnail = f"thumbs/{path.stem}.png"
        _relink(nb, stems, out, path)
        notebooks.append(nb)
        pages.append(Lesson(path.stem, title, goal, thumbnail))
    exporter = HTMLExporter(template_name="lab")
    for i, (nb, page) in enumerate(zip(notebooks, pages)):
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": page.title}})
        nav = _nav(pages, i)
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + NAV_STYLE + nav, body, count=1)
        body = body.replace("</body>", nav + "</body>", 1)
        (out / f"{page.stem}.html").write_text(body, encoding="utf-8")
    index = out / "index.html"
    index.write_text(_index(pages), encoding="utf-8")
    return index


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "site", help="where to write the site (default: site/)")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lesson")
    args = parser.parse_args(argv)
    index = build(args.out, [p.resolve() for p in args.notebooks] or None)
    print(f"{len(list(args.out.glob('[0-9][0-9]_*.html')))} lessons and the index: {index}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
