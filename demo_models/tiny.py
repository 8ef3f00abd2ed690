"""The embedded default model: a tiny Llama trained here, deterministically, once per machine.

No model hub is reachable where this project is built and tested, so the default model
is made from what every Python has: the reference text in ``pydoc_data.topics``. The
result is an ordinary Hugging Face folder (``config.json``, ``model.safetensors`` in
float32, ``generation_config.json``, ``tokenizer.json`` ...) that the worker loads with the
real ``AutoTokenizer`` / ``AutoModelForCausalLM.from_pretrained(path)``. It writes
English-like, ungrammatical text; it is for exercising the worker, not for answers.
It accepts 8192 positions but was trained on 128-token windows, so text far past that
degrades further. It has no chat template: the worker joins chat messages itself.

Contract:
- ``build_tiny_model(out_dir, *, steps=DEFAULT_STEPS, seed=0, log=print) -> Path`` trains
  and saves into ``out_dir``. It builds in a temporary sibling folder and renames it into
  place, so ``out_dir`` is either absent, the previous model, or the complete new one.
  Same ``steps`` and ``seed`` on one machine give byte-identical ``model.safetensors``
  and tokenizer files (fixed seeds, deterministic algorithms, a fixed thread count).
- ``ensure_tiny_model(cache_root=None) -> Path`` returns
  ``<cache_root>/TINY_MODEL_DIRNAME`` (``cache_root`` defaults to
  ``worker.config.default_cache_dir()``), building it first if it is absent. Concurrent
  callers, threads or processes, serialise on an ``fcntl`` lock file next to the folder:
  one builds, the others wait and then find it built.
- ``TINY_MODEL_STEPS`` (environment variable) overrides the number of training steps
  used by ``ensure_tiny_model`` and the command line. It exists ONLY so that tests can
  build in a second; a model built with it is worse, so never set it for a real cache.
- ``python -m demo_models.tiny [--out DIR] [--steps N] [--force]`` builds (or reports
  that the model is already there) and prints the path, the final loss and the seconds.
- Building into the cache safely (a temporary folder renamed into place, a lock so that
  one process builds) is ``demo_models.cache``'s, shared with ``demo_models.smollm2``.
- Importing this module starts nothing and does not import torch or transformers.

Timing (2-core CPU, torch 2.13): about 0.25 s per training step, so the default 280
steps take about 70 s on idle cores. The fixed two torch threads make a build several
times slower while other processes keep a core busy (measured 130-370 s); the output
bytes stay the same.

Bump the ``-v1`` suffix of the folder name (``worker.model.SHORT_NAMES``, which the
worker and this builder share) whenever the recipe changes, so that a cache built by
an older recipe is not mistaken for the new one.
"""

from __future__ import annotations

import argparse
import math
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from demo_models.cache import BUILD_INFO, Log, ensure_built, is_complete, staging_dir
from worker.model import SHORT_NAMES

# The folder the worker loads for MODEL_NAME=tiny (its suffix is the recipe's version).
TINY_MODEL_DIRNAME = SHORT_NAMES["tiny"][0]
FORMAT_VERSION = 1
# 300 steps measured 73 s on 2 idle cores; 280 keeps the default build near 70 s.
DEFAULT_STEPS = 280
STEPS_ENV_VAR = "TINY_MODEL_STEPS"

VOCAB_SIZE = 2048
BOS_EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<pad>"
SEQ_LEN = 128
BATCH_SIZE = 32
LEARNING_RATE = 3e-3
MIN_LR_FRACTION = 0.1
TRAIN_THREADS = 2
MAX_POSITIONS = 8192

# --------------------------------------------------------------------------------------
# The recipe
# --------------------------------------------------------------------------------------

def corpus_texts() -> list[str]:
    """The training documents: the stdlib's pydoc topics, in sorted key order."""
    from pydoc_data.topics import topics

    return [topics[key] for key in sorted(topics)]


def train_tokenizer(texts: list[str]):
    """A byte-level BPE tokenizer, wrapped for transformers.

    Byte-level pre-tokenizing and decoding make any text, non-ASCII included, encode
    and decode back to itself; ``clean_up_tokenization_spaces=False`` keeps the wrapper
    from "tidying" spaces before punctuation, which would break that round trip.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[BOS_EOS_TOKEN, PAD_TOKEN],
        # Every byte must be in the vocabulary, or unseen characters could not be encoded.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS_EOS_TOKEN,
        eos_token=BOS_EOS_TOKEN,
        pad_token=PAD_TOKEN,
        clean_up_tokenization_spaces=False,
        model_max_length=MAX_POSITIONS,
        # A decoder-only model continues the end of the prompt, so batches pad on the left.
        padding_side="left",
    )


def token_stream(tokenizer, texts: list[str]):
    """All documents as one 1-D LongTensor, each followed by end-of-text."""
    import torch

    eos = tokenizer.eos_token_id
    ids: list[int] = []
    for encoding in tokenizer.backend_tokenizer.encode_batch(texts, add_special_tokens=False):
        ids.extend(encoding.ids)
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


def learning_rate(step: int, steps: int) -> float:
    """Linear warm-up over the first tenth, then cosine down to a tenth of the peak."""
    warmup = max(1, steps // 10)
    if step < warmup:
        return LEARNING_RATE * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
    return LEARNING_RATE * (MIN_LR_FRACTION + (1.0 - MIN_LR_FRACTION) * cosine)


@contextlib.contextmanager
def _deterministic_torch(seed: int) -> Iterator[None]:
    """Seeds, deterministic kernels and a fixed thread count, all restored afterwards.

    Float sums depend on how work is split across threads, so the thread count is
    part of what makes two builds byte-identical. These are process-wide torch
    settings: a build should not run beside other torch work in the same process.
    The caller's random states are put back, so a build does not reseed its host.
    """
    import random

    import torch

    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch_rng = torch.random.get_rng_state()
    python_rng = random.getstate()
    torch.set_num_threads(TRAIN_THREADS)
    torch.use_deterministic_algorithms(True)
    random.seed(seed)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.set_num_threads(threads)
        torch.random.set_rng_state(torch_rng)
        random.setstate(python_rng)


def build_tiny_model(out_dir: Path, *, steps: int = DEFAULT_STEPS, seed: int = 0,
                     log: Log = print) -> Path:
    """Train the tiny Llama and save it into ``out_dir`` (atomically); return ``out_dir``."""
    import tokenizers
    import torch
    import transformers
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    out_dir = Path(out_dir)
    started = time.perf_counter()
    texts = corpus_texts()
    corpus_chars = sum(len(t) for t in texts)

    with _deterministic_torch(seed):
        tokenizer = train_tokenizer(texts)
        data = token_stream(tokenizer, texts)
        log(f"tokenizer: {len(tokenizer)} tokens; corpus {corpus_chars} chars -> {len(data)} tokens")

        config = LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=384,
            tie_word_embeddings=True,
            max_position_embeddings=MAX_POSITIONS,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
        model = LlamaForCausalLM(config).to(torch.float32)
        parameters = sum(p.numel() for p in model.parameters())
        optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)
        # Its own generator, so the batches do not depend on what else consumed the global RNG.
        batches = torch.Generator().manual_seed(seed)
        offsets = torch.arange(SEQ_LEN)

        model.train()
        loss_value = float("nan")
        history: list[list[float]] = []
        for step in range(steps):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, steps)
            starts = torch.randint(0, len(data) - SEQ_LEN, (BATCH_SIZE,), generator=batches)
            batch = data[starts[:, None] + offsets]
            loss = model(input_ids=batch, labels=batch).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            loss_value = loss.item()
            if step % 50 == 0 or step == steps - 1:
                history.append([step, round(loss_value, 4)])
                log(f"step {step + 1}/{steps} loss {loss_value:.3f} "
                    f"({time.perf_counter() - started:.1f} s)")
        model.eval()

    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    seconds = time.perf_counter() - started
    info = {
        "format_version": FORMAT_VERSION,
        "name": TINY_MODEL_DIRNAME,
        "steps": steps,
        "seed": seed,
        "final_loss": round(loss_value, 4),
        "loss_history": history,
        "seconds": round(seconds, 2),
        "corpus": "pydoc_data.topics",
        "corpus_chars": corpus_chars,
        "train_tokens": len(data),
        "parameters": parameters,
        "vocab_size": len(tokenizer),
        "torch_threads": TRAIN_THREADS,
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
        },
    }
    with staging_dir(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n")
    log(f"built {out_dir}: {parameters} parameters, {steps} steps, "
        f"final loss {loss_value:.3f}, {seconds:.1f} s")
    return out_dir


def steps_from_env(default: int = DEFAULT_STEPS) -> int:
    """``TINY_MODEL_STEPS`` if set (tests only), else ``default``."""
    raw = os.environ.get(STEPS_ENV_VAR, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{STEPS_ENV_VAR} must be an integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"{STEPS_ENV_VAR} must be >= 1, got {value}")
    return value


def ensure_tiny_model(cache_root: Path | None = None, *, steps: int | None = None,
                      log: Log = print) -> Path:
    """``<cache_root>/TINY_MODEL_DIRNAME``, built first (under a lock) if absent.

    ``steps`` (or ``TINY_MODEL_STEPS``) only matters when a build happens; an existing
    model is returned as it is.
    """
    if cache_root is None:
        from worker.config import default_cache_dir

        cache_root = default_cache_dir()
    target = Path(cache_root) / TINY_MODEL_DIRNAME
    n_steps = steps if steps is not None else steps_from_env()
    return ensure_built(target, lambda out: build_tiny_model(out, steps=n_steps, log=log), log=log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo_models.tiny",
        description="Build the tiny Llama (trained on pydoc topics) into the cache.")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder to build into (default: <cache>/{TINY_MODEL_DIRNAME})")
    parser.add_argument("--steps", type=int, default=None,
                        help=f"training steps (default {DEFAULT_STEPS}, or ${STEPS_ENV_VAR})")
    parser.add_argument("--force", action="store_true", help="rebuild even if it is there")
    args = parser.parse_args(argv)

    if args.out is None:
        from worker.config import default_cache_dir

        target = default_cache_dir() / TINY_MODEL_DIRNAME
    else:
        target = args.out
    steps = args.steps if args.steps is not None else steps_from_env()
    already = is_complete(target) and not args.force
    path = ensure_built(target, lambda out: build_tiny_model(out, steps=steps),
                        force=args.force)
    info = json.loads((path / BUILD_INFO).read_text())
    state = "already built" if already else "built"
    print(f"{state}: {path}")
    print(f"steps {info['steps']}, final loss {info['final_loss']}, "
          f"build seconds {info['seconds']}, parameters {info['parameters']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
