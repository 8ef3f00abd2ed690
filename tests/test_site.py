"""``make site`` (``lessons.site``): every lesson rendered from its saved outputs, an index
with each lesson's title, goal and thumbnail, and no link or image that does not resolve."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lessons.run import lessons
from lessons.site import build, first_plot, title_and_goal

LESSONS = lessons()


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.refs.append((tag, value))


def refs(page: Path) -> list[tuple[str, str]]:
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.refs


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build(out)
    return out


def test_every_link_and_image_of_the_site_resolves(site):
    pages = sorted(site.glob("*.html"))
    assert [p.stem for p in pages] == sorted([p.stem for p in LESSONS] + ["index"])
    broken = []
    for page in pages:
        for tag, url in refs(page):
            parts = urlsplit(url)
            if parts.scheme in ("http", "https", "data", "mailto") or url.startswith("#"):
                continue  # the renderer's CDN scripts, embedded plots, anchors
            if parts.scheme or url.startswith(("/", "\\")) or ":" in parts.path:
                broken.append(f"{page.name}: <{tag}> {url!r} is an absolute path")
            elif not (page.parent / unquote(parts.path)).is_file():
                broken.append(f"{page.name}: <{tag}> {url!r} does not exist")
    assert broken == []


def test_the_index_shows_each_lessons_title_goal_and_first_plot(site):
    index = (site / "index.html").read_text(encoding="utf-8")
    links = {url for tag, url in refs(site / "index.html") if tag == "a"}
    images = {url for tag, url in refs(site / "index.html") if tag == "img"}
    for path in LESSONS:
        nb = nbformat.read(path, as_version=4)
        title, goal = title_and_goal(nb)
        assert f"{path.stem}.html" in links
        assert title.split("`")[0] in index and goal.split("`")[0].split("'")[0] in index
        assert (f"thumbs/{path.stem}.png" in images) == (first_plot(nb) is not None)


def test_each_lesson_page_links_to_the_index_and_its_neighbours(site):
    stems = [p.stem for p in LESSONS]
    for i, stem in enumerate(stems):
        links = {url for tag, url in refs(site / f"{stem}.html") if tag == "a"}
        assert "index.html" in links
        neighbours = stems[max(i - 1, 0):i] + stems[i + 1:i + 2]
        assert {f"{n}.html" for n in neighbours} <= links


def _lesson(markdown: str, png: bool = False):
    cell = new_code_cell("plot()")
    if png:
        cell.outputs = [new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})]
    return new_notebook(cells=[new_markdown_cell("# First\n\nYou learn `x`. Then more."),
                               new_markdown_cell(markdown), cell])


def test_links_between_lessons_and_to_repository_files_are_kept_and_a_broken_one_fails(tmp_path):
    src = tmp_path / "nb"
    src.mkdir()
    one, two = src / "01_one.ipynb", src / "02_two.ipynb"
    nbformat.write(_lesson("See [two](02_two.ipynb#Set-up) and [the handler](../worker/handler.py)."), one)
    nbformat.write(_lesson("Back to [one](01_one.ipynb).", png=True), two)
    out = tmp_path / "site"
    build(out, [one, two])
    links = {url for tag, url in refs(out / "01_one.html") if tag == "a"}
    assert {"02_two.html#Set-up", "repo/worker/handler.py", "index.html"} <= links
    assert (out / "repo" / "worker" / "handler.py").is_file()
    assert (out / "thumbs" / "02_two.png").is_file() and not (out / "thumbs" / "01_one.png").exists()
    assert title_and_goal(nbformat.read(one, as_version=4)) == ("First", "You learn `x`.")
    nbformat.write(_lesson("A [missing file](../nowhere.py)."), one)
    with pytest.raises(FileNotFoundError, match="nowhere.py"):
        build(tmp_path / "site2", [one, two])
