"""The SDK internals the worker relies on are still where it takes them from.

``worker.sdk`` is the one module that reaches past the SDK's documented API
(``worker.sdk.INTERNALS``); this test names what moved when a new SDK version
moves or renames one of them, instead of a worker failing on its first job.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from worker import sdk

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("module, name", sdk.INTERNALS)
def test_the_installed_sdk_still_has_each_internal_the_worker_uses(module, name):
    import runpod

    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"the installed runpod {runpod.__version__} has no {module}.{name} ({exc}); "
                    f"worker/sdk.py uses it (written against runpod 1.12.0): update worker/sdk.py")
    assert callable(found), f"{module}.{name} is no longer callable"


def test_the_accessors_return_the_sdks_own_objects():
    from runpod.http_client import AsyncClientSession
    from runpod.serverless.modules import rp_http, rp_job

    assert sdk.run_job_generator() is rp_job.run_job_generator
    assert sdk.send_result() == (rp_http.send_result, AsyncClientSession)


def test_no_module_but_worker_sdk_imports_an_sdk_internal():
    internal = {module for module, _ in sdk.INTERNALS}
    for path in sorted((ROOT / "worker").glob("*.py")):
        if path.name == "sdk.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module not in internal, f"{path.name} imports {node.module}: go through worker.sdk"
            elif isinstance(node, ast.Import):
                assert not internal & {a.name for a in node.names}, f"{path.name} imports an SDK internal"
