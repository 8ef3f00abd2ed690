"""Settings from environment variables: defaults, parsing, and clear refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from worker.config import Settings, default_cache_dir, settings_table, use_settings
from worker.schema import GenerationRequest

ROOT = Path(__file__).resolve().parent.parent


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


def test_keyword_construction_is_the_defaults_plus_the_keywords_never_the_environment(monkeypatch):
    monkeypatch.setenv("BATCH_SIZE", "3")
    s = Settings(model_name="smollm2", device="CPU", batch_size=2)
    assert (s.model_name, s.device, s.batch_size, s.max_concurrency) == ("smollm2", "cpu", 2, 32)
    assert Settings().batch_size == 8
    with pytest.raises(ValueError, match="BATCH_SIZE"):
        s.replace(batch_size=0)
    assert s.replace(batch_size=4).batch_size == 4 and s.batch_size == 2


def test_every_setting_is_declared_with_a_type_a_default_and_a_help_line():
    for name, field in Settings.model_fields.items():
        assert field.annotation is not None, name
        assert field.description and len(field.description) > 10, f"{name} has no help line"
        assert field.default is not None or field.default_factory is not None, name


SETTINGS_TABLE = re.compile(r"<!-- settings table:.*?-->\n(.*?)\n<!-- end of settings table -->", re.S)


@pytest.mark.parametrize("readme", ["README.md", "worker/README.md"])
def test_the_readmes_settings_table_is_the_one_generated_from_the_declaration(readme):
    text = (ROOT / readme).read_text()
    found = SETTINGS_TABLE.findall(text)
    assert len(found) == 1, f"{readme} has no settings table between the markers"
    assert found[0] == settings_table(), (
        f"{readme}'s settings table differs from worker.config.settings_table(); replace it with:\n"
        + settings_table())


def test_functions_not_given_settings_use_the_active_ones_not_bare_defaults():
    from worker.schema import parse_request

    try:
        use_settings(Settings(max_prompt_chars=5))
        with pytest.raises(ValidationError, match="limit is 5"):
            parse_request({"prompt": "longer than five"})
        with pytest.raises(ValidationError, match="limit is 5"):
            GenerationRequest(prompt="longer than five")
        assert parse_request({"prompt": "longer than five"}, Settings()).prompt == "longer than five"
    finally:
        use_settings(None)


def test_get_model_not_given_settings_loads_the_active_ones(monkeypatch):
    from worker import model

    loaded = []
    monkeypatch.setattr(model, "_MODEL", None)
    monkeypatch.setattr(model, "load_model", lambda s: loaded.append(s) or "the model")
    active = Settings(model_name="some/active-model")
    try:
        use_settings(active)
        assert model.get_model(freeze=False) == "the model"
    finally:
        use_settings(None)
    assert loaded == [active]
