"""Lesson 1 seen the way a learner sees it: JupyterLab started as ``make lab`` starts it
(``jupyter lab notebooks/``, on 127.0.0.1 with a token and a free port), the lesson opened
in a real headless Chromium (Debian's ``chromium``, driven by playwright's Python package;
no browser is downloaded), Run > Run All Cells, then: every code cell ran (a cell that
raises stops Run All, leaving the cells after it unnumbered), no cell shows a traceback,
and every plot the saved lesson has renders as an image. A screenshot is saved under
the test's temporary folder.

Where Chromium or playwright is missing the test is skipped, saying why (``.ci/run``
installs Chromium).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from lessons.run import NOTEBOOKS

CHROMIUM = Path("/usr/bin/chromium")
LESSON = NOTEBOOKS / "01_handler_basics.ipynb"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
RUN_LIMIT_S = 420


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright's Python package is not installed (pip install the test extras)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on notebooks/, as ``make lab`` runs it; yields its base URL and token."""
    missing = _missing()
    if missing:
        print(f"browser test skipped: {missing}")
        pytest.skip(missing)
    port, token = _free_port(), os.urandom(12).hex()
    bindir = os.path.dirname(sys.executable)
    # The kernel runs "python" from PATH (make exports the venv first); settings, workspaces
    # and runtime files go to this test's folder: nothing of the user's is read or changed.
    # Every cell in the page (no windowing), and no autosave: the test clears and reruns
    # the lesson in the browser and must never write it back.
    for plugin, values in {"notebook-extension/tracker": {"windowingMode": "none"},
                           "docmanager-extension/plugin": {"autosave": False},
                           "apputils-extension/notification": {"fetchNews": "false"}}.items():
        folder, name = plugin.split("/")
        (tmp_path / "settings" / "@jupyterlab" / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / "settings" / "@jupyterlab" / folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    jupyter = shutil.which("jupyter", path=bindir) or "jupyter"
    command = [jupyter, "lab", str(NOTEBOOKS), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
               "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--LabApp.extension_manager=readonly"]
    if os.geteuid() == 0:  # containers and CI run as root, which jupyter refuses unless told
        command.append("--allow-root")
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url, token
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _state(page) -> dict:
    return page.evaluate("""() => {
        const cells = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell')];
        const prompts = cells.map(c => (c.querySelector('.jp-InputArea-prompt') || {}).textContent || '');
        const errors = [];
        cells.forEach((c, i) => c.querySelectorAll('[data-mime-type="application/vnd.jupyter.stderr"]')
            .forEach(o => { if (/Traceback \\(most recent call last\\)|^Cell In\\[/m.test(o.textContent))
                errors.push(i + ': ' + o.textContent.slice(0, 300)); }));
        const imgs = [...document.querySelectorAll('.jp-OutputArea-output img')]
            .filter(i => i.src.startsWith('data:image/png'));
        const indicator = document.querySelector('.jp-Notebook-ExecutionIndicator');
        return {prompts, errors, images: imgs.length, drawn: imgs.filter(i => i.naturalWidth > 0).length,
                status: indicator ? indicator.dataset.status : null};
    }""")


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(rf"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(rf"^{item}$")).click()


def _wait_for_kernel(page, limit_s: float = 120) -> None:
    """Start the notebook's kernel as a learner does: accept the "Select Kernel" dialog
    (its choice is the notebook's Python 3 kernel) where JupyterLab asks, then wait idle."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()
        name = page.locator(".jp-Toolbar .jp-KernelName").first.text_content() or ""
        if "No Kernel" not in name and _state(page)["status"] == "idle" and name.strip():
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"the kernel did not start within {limit_s} s: {_state(page)}")


@pytest.mark.timeout(RUN_LIMIT_S + 300)
def test_lesson_one_runs_in_jupyterlab_in_chromium_with_its_plots_drawn(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    url, token = lab
    before = LESSON.read_bytes()
    saved = nbformat.read(LESSON, as_version=4)
    plots = sum("image/png" in o.get("data", {}) for c in saved.cells for o in c.get("outputs", []))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/lab/tree/{LESSON.name}?token={token}")
            page.wait_for_selector(".jp-Notebook .jp-CodeCell", timeout=120_000)
            _wait_for_kernel(page)
            # The saved outputs and counts go first, so that what is seen after is this run's.
            _menu(page, "Edit", "Clear Outputs of All Cells")
            page.wait_for_timeout(500)
            cleared = _state(page)
            assert cleared["images"] == 0 and not any(re.search(r"\d", p) for p in cleared["prompts"]), cleared
            _menu(page, "Run", "Run All Cells")
            started, quiet = time.monotonic(), 0
            while time.monotonic() - started < RUN_LIMIT_S and quiet < 3:
                page.wait_for_timeout(1000)
                state = _state(page)
                busy = state["status"] != "idle" or any("*" in p for p in state["prompts"])
                quiet = 0 if busy else quiet + 1
            page.wait_for_timeout(500)  # the last images decode
            state = _state(page)
            shot = tmp_path / "01_handler_basics.png"
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert LESSON.read_bytes() == before, "the browser run wrote the lesson back"
    print(f"{len(state['prompts'])} code cells, Run All took {time.monotonic() - started:.0f} s; "
          f"{state['images']} plots drawn; screenshot {shot} ({shot.stat().st_size} bytes)")
    assert shot.stat().st_size > 10_000
    unrun = [i for i, p in enumerate(state["prompts"]) if not re.fullmatch(r"\[\d+\]:", p.strip())]
    assert unrun == [], f"code cells {unrun} did not run (Run All stops at a failing cell): {state['prompts']}"
    assert state["errors"] == []
    assert state["images"] >= plots and state["drawn"] == state["images"], state
