"""Settings from environment variables: defaults, parsing, and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.config import Settings, default_cache_dir


def test_defaults_are_the_documented_ones():
    s = Settings.from_env({})
    assert (s.model_name, s.device, s.dtype, s.max_concurrency, s.log_format, s.log_prompts) == (
        "tiny", "auto", "auto", 32, "json", False)


def test_values_are_read_and_normalised():
    s = Settings.from_env({"MODEL_NAME": "HuggingFaceTB/SmolLM2-360M", "DEVICE": "CUDA", "DTYPE": "bfloat16",
                           "MAX_CONCURRENCY": "8", "LOG_LEVEL": "debug", "WARMUP": "false", "LOG_PROMPTS": "1"})
    assert (s.model_name, s.device, s.dtype, s.max_concurrency, s.log_level, s.warmup, s.log_prompts) == (
        "HuggingFaceTB/SmolLM2-360M", "cuda", "bfloat16", 8, "DEBUG", False, True)


@pytest.mark.parametrize("env,name", [
    ({"DEVICE": "tpu"}, "DEVICE"),
    ({"DTYPE": "int8"}, "DTYPE"),
    ({"MAX_CONCURRENCY": "0"}, "MAX_CONCURRENCY"),
    ({"MAX_CONCURRENCY": "many"}, "MAX_CONCURRENCY"),
    ({"WARMUP": "maybe"}, "WARMUP"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
])
def test_bad_values_fail_at_start_naming_the_variable(env, name):
    with pytest.raises(ValueError, match=name):
        Settings.from_env(env)


def test_cache_dir_prefers_explicit_then_xdg_then_home(tmp_path):
    assert default_cache_dir({"WORKER_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert default_cache_dir({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "runpod-worker-lessons"
    assert default_cache_dir({}) == Path("~/.cache/runpod-worker-lessons").expanduser()
