"""Building a model folder safely in the cache: atomically, once, whoever asks.

Contract:
- ``staging_dir(out_dir)`` yields a temporary sibling of ``out_dir``; on normal exit it
  replaces ``out_dir`` with it (atomic rename), on an exception it is deleted and
  ``out_dir`` is untouched. Saved files are made readable by any user (0644/0755).
- ``is_complete(folder)``: whether ``folder`` holds a finished build (``BUILD_INFO``, the
  file a build writes last).
- ``file_lock(path)``: an exclusive ``fcntl`` lock for a ``with`` block.
- ``ensure_built(target, build)``: returns ``target``, calling ``build(target)`` under
  the lock ``<target>.lock`` if it is absent (or ``force``); a process that waited while
  another built finds it built and does not build again. Staging folders left by
  builders that died are removed.
Used by ``demo_models.tiny`` and ``demo_models.smollm2``. Importing it starts nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable, Iterator

# Written last into the temporary folder, its presence marks a complete build: the
# worker checks for the same file before it loads a short MODEL_NAME.
from worker.model import BUILD_INFO


Log = Callable[[str], None]


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a finished build (its info file is written last)."""
    return (folder / BUILD_INFO).is_file()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_temps(out_dir: Path) -> None:
    """Delete staging and set-aside folders left by builders that died (their pid is gone)."""
    if not out_dir.parent.is_dir():
        return
    for entry in out_dir.parent.iterdir():
        for prefix in (f".{out_dir.name}.tmp-", f".{out_dir.name}.old-"):
            if entry.name.startswith(prefix) and entry.is_dir():
                pid_text = entry.name[len(prefix):].split("-", 1)[0]
                if pid_text.isdigit() and not _pid_alive(int(pid_text)):
                    shutil.rmtree(entry, ignore_errors=True)


def _make_readable(folder: Path) -> None:
    """Give every saved file mode 0644 and the folder 0755.

    transformers writes ``model.safetensors`` through a private temporary file (mode
    0600); a model built as root while an image is made must stay readable by
    whichever user later runs the worker.
    """
    folder.chmod(0o755)
    for entry in folder.rglob("*"):
        entry.chmod(0o755 if entry.is_dir() else 0o644)


@contextlib.contextmanager
def staging_dir(out_dir: Path) -> Iterator[Path]:
    """A temporary sibling of ``out_dir``; on normal exit it replaces ``out_dir``.

    The sibling lives on the same file system, so the final rename is atomic. If the
    body raises, the temporary folder is deleted and ``out_dir`` is left untouched.
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        _make_readable(tmp)
        if out_dir.exists():
            # A non-empty folder cannot be renamed over; move the old one aside first.
            old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            os.rename(out_dir, old)
            os.rename(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``fcntl`` lock on ``path``, held for the ``with`` block.

    The lock file itself is never deleted: deleting it would let a waiter lock an
    unlinked file while a newcomer locks a fresh one, and both would build.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure_built(target: Path, build: Callable[[Path], Path], *, force: bool = False,
                 log: Log = print) -> Path:
    """Return ``target``, calling ``build(target)`` under a lock if it is absent (or ``force``).

    The lock file is ``<target>.lock`` next to ``target``. The check is repeated after
    taking the lock, so a process that waited while another built does not build again.
    """
    target = Path(target)
    if not force and is_complete(target):
        return target
    lock_path = target.parent / f"{target.name}.lock"
    with file_lock(lock_path):
        if not force and is_complete(target):
            return target
        _remove_stale_temps(target)
        if target.exists() and not force:
            log(f"{target} is incomplete; rebuilding it")
        return build(target)
