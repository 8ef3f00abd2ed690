"""The request schema (pydantic v2): what is accepted, what is refused and why.

Pure validation: no model, no network, no SDK.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from worker import config as cfg
from worker.schema import GenerationRequest, parse_request, request_json_schema


def refused(raw, settings=None) -> list[dict]:
    with pytest.raises(ValidationError) as info:
        parse_request(raw, settings)
    return info.value.errors()


def test_prompt_alone_gets_documented_defaults():
    r = parse_request({"prompt": "Hello"})
    assert (r.max_tokens, r.temperature, r.top_p, r.seed, r.stop, r.stream) == (
        cfg.DEFAULT_MAX_TOKENS, cfg.DEFAULT_TEMPERATURE, cfg.DEFAULT_TOP_P, None, None, False)


def test_messages_alone_are_accepted():
    r = parse_request({"messages": [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "What is 2+2?"}]})
    assert [m.role for m in r.messages] == ["system", "user"]


@pytest.mark.parametrize("raw", [
    {},
    {"prompt": "a", "messages": [{"role": "user", "content": "b"}]},
    {"max_tokens": 5},
])
def test_exactly_one_of_prompt_or_messages(raw):
    assert "exactly one of 'prompt' or 'messages'" in refused(raw)[0]["msg"]


@pytest.mark.parametrize("raw", [None, [], "prompt", 42, True, [{"prompt": "x"}]])
def test_input_that_is_not_an_object_is_refused(raw):
    assert refused(raw)[0]["type"] == "model_type"


@pytest.mark.parametrize("value,ok", [(1, True), (4096, True), (0, False), (4097, False), (-1, False)])
def test_max_tokens_range(value, ok):
    raw = {"prompt": "x", "max_tokens": value}
    if ok:
        assert parse_request(raw).max_tokens == value
    else:
        assert refused(raw)[0]["loc"] == ("max_tokens",)


@pytest.mark.parametrize("value,ok", [(0, True), (0.0, True), (2, True), (2.0001, False), (-0.1, False)])
def test_temperature_range(value, ok):
    raw = {"prompt": "x", "temperature": value}
    if ok:
        assert parse_request(raw).temperature == value
    else:
        assert refused(raw)[0]["loc"] == ("temperature",)


@pytest.mark.parametrize("field,value", [
    ("max_tokens", "10"),      # a string is not a number of tokens
    ("max_tokens", 10.0),      # nor is a float
    ("max_tokens", True),      # nor a boolean
    ("stream", "true"),
    ("stream", 1),
    ("prompt", 5),
    ("temperature", "0.5"),
    ("seed", -1),
    ("seed", 2**32),
    ("top_p", 0),
    ("top_p", 1.5),
])
def test_wrong_types_and_values_are_refused_not_coerced(field, value):
    raw = {"prompt": "x", field: value} if field != "prompt" else {"prompt": value}
    assert refused(raw)[0]["loc"][0] == field


def test_unknown_fields_are_refused():
    errors = refused({"prompt": "x", "max_new_tokens": 5})
    assert errors[0]["type"] == "extra_forbidden" and errors[0]["loc"] == ("max_new_tokens",)


def test_unknown_fields_in_messages_and_bad_roles_are_refused():
    assert refused({"messages": [{"role": "user", "content": "x", "name": "a"}]})[0]["type"] == "extra_forbidden"
    assert refused({"messages": [{"role": "bot", "content": "x"}]})[0]["type"] == "literal_error"
    assert refused({"messages": []})[0]["type"] == "too_short"


def test_empty_prompt_is_refused():
    assert refused({"prompt": ""})[0]["type"] == "string_too_short"


def test_prompt_length_limit_comes_from_settings():
    small = cfg.Settings(max_prompt_chars=10)
    parse_request({"prompt": "x" * 10}, small)
    assert "limit is 10" in refused({"prompt": "x" * 11}, small)[0]["msg"]
    # messages count towards the same limit, all together
    assert "limit is 10" in refused({"messages": [{"role": "user", "content": "x" * 6}] * 2}, small)[0]["msg"]


def test_default_prompt_limit_is_the_source_documents_100k():
    parse_request({"prompt": "x" * 100_000})
    refused({"prompt": "x" * 100_001})


def test_message_count_limit():
    s = cfg.Settings(max_messages=2)
    refused({"messages": [{"role": "user", "content": "x"}] * 3}, s)


def test_stop_is_normalised_to_a_list_and_bounded():
    assert parse_request({"prompt": "x", "stop": "\n"}).stop_sequences == ["\n"]
    assert parse_request({"prompt": "x", "stop": ["a", "b"]}).stop_sequences == ["a", "b"]
    refused({"prompt": "x", "stop": ["a"] * (cfg.MAX_STOP_SEQUENCES + 1)})
    refused({"prompt": "x", "stop": [""]})
    refused({"prompt": "x", "stop": "y" * (cfg.MAX_STOP_CHARS + 1)})
    refused({"prompt": "x", "stop": [1]})


def test_json_schema_documents_fields_and_limits():
    schema = request_json_schema()
    props = schema["properties"]
    assert set(props) == {"prompt", "messages", "max_tokens", "temperature", "top_p", "seed", "stop", "stream"}
    assert props["max_tokens"]["maximum"] == cfg.MAX_TOKENS_LIMIT and props["max_tokens"]["minimum"] == 1
    assert props["max_tokens"]["default"] == cfg.DEFAULT_MAX_TOKENS
    assert schema["additionalProperties"] is False
    assert GenerationRequest.model_json_schema() == schema
