"""``python -m local_endpoint`` as a user runs it: the printed client code works as
printed, and SIGTERM stops the server and every worker process it started.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import runpod

from local_endpoint.processes import live_group_members

ROOT = Path(__file__).resolve().parent.parent
SLOW = ROOT / "tests" / "handlers" / "slow.py"


def read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


def test_cli_prints_working_client_code_and_stops_its_workers_on_sigterm(monkeypatch):
    # exec() of the printed lines sets runpod's globals: put them back afterwards.
    monkeypatch.setattr(runpod, "endpoint_url_base", runpod.endpoint_url_base)
    monkeypatch.setattr(runpod, "api_key", runpod.api_key)
    cli = subprocess.Popen(
        [sys.executable, "-m", "local_endpoint", "--port", "0", "--endpoint-id", "cli-ep",
         "--api-key", "cli-key", "--max-workers", "1",
         "--worker-command", f"{sys.executable} {SLOW}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=read_lines, args=(cli.stdout, lines), daemon=True).start()
    worker_pid = None
    try:
        printed = []
        while not printed or "runpod.api_key" not in printed[-1]:
            printed.append(lines.get(timeout=30))
        code = [line.strip() for line in printed if line.startswith("    ")]
        assert code[0] == "import runpod"
        assert code[1].startswith("runpod.endpoint_url_base = 'http://127.0.0.1:")
        assert code[2] == "runpod.api_key = 'cli-key'; endpoint = runpod.Endpoint('cli-ep')"

        namespace: dict = {}
        exec("\n".join(code), namespace)
        output = namespace["endpoint"].run_sync({"seconds": 0}, timeout=60)
        worker_pid = output["pid"]
        assert live_group_members(worker_pid)

        cli.send_signal(signal.SIGTERM)
        assert cli.wait(timeout=30) == 0
        assert live_group_members(worker_pid) == []
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
        if worker_pid is not None:
            try:
                os.killpg(worker_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_port_in_use_is_a_one_line_error_and_exit_code_2():
    import socket
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cli = subprocess.run(
            [sys.executable, "-m", "local_endpoint", "--port", str(port), "--min-workers", "0"],
            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2
    assert "Traceback" not in cli.stderr
    [line] = cli.stderr.strip().splitlines()
    assert f"cannot listen on 127.0.0.1:{port}" in line


def test_max_workers_below_one_is_refused_with_a_reason():
    done = subprocess.run([sys.executable, "-m", "local_endpoint", "--max-workers", "0"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--max-workers must be at least 1" in done.stderr
