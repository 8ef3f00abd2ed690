"""``make hub-test``: every test of ``.runpod/tests.json`` against the local endpoint.

Checks both Hub files against the documented fields (``local_endpoint.hub``), starts
a local endpoint with this repository's worker (``python -m worker``) and the
environment ``tests.json`` gives it, runs every test with the Hub's pass rule (the
job completes within its timeout) and prints a table. Exit status 0 only when the
files are well formed and every test passed.

    python scripts/hub_test.py [--dir .runpod]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_endpoint import LocalEndpoint  # noqa: E402
from local_endpoint.hub import (hub_json_problems, run_hub_tests, table,  # noqa: E402
                                tests_json_problems, worker_env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=str(ROOT / ".runpod"), help="the folder with hub.json and tests.json")
    args = parser.parse_args(argv)
    folder = Path(args.dir)
    hub, tests = (json.loads((folder / name).read_text()) for name in ("hub.json", "tests.json"))
    problems = hub_json_problems(hub) + tests_json_problems(tests)
    for problem in problems:
        print(f"problem: {problem}")
    if problems:
        return 1
    with LocalEndpoint(min_workers=1, max_workers=1, worker_env=worker_env(tests), worker_cwd=str(ROOT)) as ep:
        ep.wait_for(lambda h: h["workers"]["idle"] >= 1, timeout=300)
        rows = run_hub_tests(tests, ep)
    print(table(rows))
    passed = sum(r["passed"] for r in rows)
    print(f"{passed} of {len(rows)} tests passed (the Hub's rule: COMPLETED within the timeout)")
    return 0 if passed == len(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
