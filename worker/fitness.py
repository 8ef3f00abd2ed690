"""Fitness checks: proof, before the first job, that this worker can serve.

Contract:
- ``checks(lm)`` returns the checks for the loaded model ``lm``: ``one_token_generation``
  (one greedy token from the model, which must come back as a token id), and on CUDA
  ``cuda_matmul`` (a small matrix product on the GPU, synchronised, compared with the
  same product on the CPU). Each raises ``RuntimeError`` saying what failed.
- ``register(lm)`` hands them to the SDK's public ``runpod.serverless.register_fitness_check``
  (``runpod/serverless/modules/rp_fitness.py`` line 54, runpod 1.12.0). The SDK runs
  them inside ``runpod.serverless.start``, before its first job-take, in the production
  loop only (``runpod/serverless/worker.py`` line 40; not in ``--rp_serve_api`` or the
  local test mode); any exception logs ``Fitness check failed: <name> | <error>`` and
  ends the process with ``os._exit(1)`` (rp_fitness.py lines 271-293).
- The entry point registers them after the model loaded, so each check tests the model
  this worker will serve; a model that failed to load stopped the worker earlier, with
  its reason, and no check runs.

The SDK adds checks of its own when they run: a GPU check (``rp_gpu_fitness.py``) and
system checks (``rp_system_fitness.py``: memory, disk, and a TCP connection to 8.8.8.8:53)
unless ``RUNPOD_SKIP_AUTO_SYSTEM_CHECKS=true`` (rp_fitness.py line 191). The local
endpoint sets it for every worker it starts: its machines reach nothing past loopback.
"""

from __future__ import annotations

from typing import Callable

from worker.model import LoadedModel


def checks(lm: LoadedModel) -> list[Callable[[], None]]:
    """The checks for ``lm``; see the module docstring."""

    def one_token_generation() -> None:
        import torch

        ids = lm.tokenizer("Hello", return_tensors="pt").to(lm.device)
        with lm.lock, torch.inference_mode():
            out = lm.model.generate(**ids, max_new_tokens=1, min_new_tokens=1, do_sample=False,
                                    pad_token_id=lm.pad_token_id)
        if out.shape[-1] != ids["input_ids"].shape[-1] + 1:
            raise RuntimeError(f"the model returned {out.shape[-1] - ids['input_ids'].shape[-1]} new tokens, not 1")

    def cuda_matmul() -> None:
        import torch

        a = torch.arange(16, dtype=torch.float32).reshape(4, 4) / 16
        on_gpu = (a.cuda() @ a.cuda()).cpu()
        torch.cuda.synchronize()
        if not torch.allclose(on_gpu, a @ a, atol=1e-3):
            raise RuntimeError("a 4x4 matrix product on the GPU differs from the CPU's")

    found = [one_token_generation]
    if lm.device == "cuda":
        found.append(cuda_matmul)
    return found


def register(lm: LoadedModel) -> int:
    """Register ``checks(lm)`` with the SDK; returns how many."""
    from runpod.serverless import register_fitness_check

    registered = checks(lm)
    for check in registered:
        register_fitness_check(check)
    return len(registered)
