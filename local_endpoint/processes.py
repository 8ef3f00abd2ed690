"""Process groups: signalling them, telling whether they still run, dying with us.

Contract:
- A worker runs in its own session (its own process group): the SDK forks its
  heartbeat into a second process (runpod/serverless/modules/rp_ping.py), which
  survives a killed parent, so a worker is always signalled by its whole group
  (``signal_group``).
- ``live_group_members(pgid)`` lists the processes still running in a group
  (zombies do not count).
- ``die_with_parent_hook()`` is a ``preexec_fn`` that gives a spawned process
  SIGKILL when the thread that spawned it dies (Linux ``PR_SET_PDEATHSIG``), so an
  endpoint killed uncleanly does not leave its workers running. The SDK's heartbeat
  process, forked later by the worker, does not inherit it.
- ``describe_exit(returncode)`` says how a process ended, in words.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from pathlib import Path


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        if -returncode == signal.SIGKILL:
            return f"was killed by {name} (as the out-of-memory killer does)"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


def live_group_members(pgid: int) -> list[int]:
    """PIDs still running in a process group; zombies do not count.

    Orphans are re-parented to PID 1, which in a container may never reap them, so
    "a signal can be delivered" is not the same as "a process is still running".
    """
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: the best answer available
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: parse after the last ")".
        fields = stat[stat.rfind(")") + 2:].split()
        state, process_group = fields[0], int(fields[2])
        if process_group == pgid and state not in ("Z", "X"):
            members.append(int(entry.name))
    return members


PR_SET_PDEATHSIG = 1


def die_with_parent_hook():
    """A ``preexec_fn`` giving the child SIGKILL when the spawning thread ends (Linux).

    ``PR_SET_PDEATHSIG`` fires when the *thread* that forked the child exits, so
    workers must be spawned only from the endpoint's long-lived loop thread.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return hook


def signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass

