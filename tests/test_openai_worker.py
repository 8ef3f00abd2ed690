"""The worker's OpenAI-compatible jobs: every parameter mapping, every refused and
accepted no-op value, the objects and the server-sent-event format, errors through the SDK.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from worker import config as cfg
from worker.errors import parse_job_error
from worker.handler import async_handler
from worker.openai_compat import served_name
from worker.openai_params import CHAT, COMPLETIONS, DEFAULTS, NO_OPS, OpenAIError, to_native

MODEL = "tiny"
HELLO = [{"role": "user", "content": "Hello"}]


def chat(**params):
    return to_native(CHAT, {"model": MODEL, "messages": HELLO, **params}, MODEL)


def completion(**params):
    return to_native(COMPLETIONS, {"model": MODEL, "prompt": "def f(", **params}, MODEL)


def refused(route, body) -> OpenAIError:
    with pytest.raises(OpenAIError) as info:
        to_native(route, body, MODEL)
    return info.value


# ---------------------------------------------------------------- mapping
def test_chat_maps_every_honoured_parameter_onto_the_workers_request():
    native, options = chat(max_tokens=5, temperature=0, top_p=0.5, seed=7, stop=["\n"], stream=True,
                           stream_options={"include_usage": True})
    assert native == {"messages": HELLO, "max_tokens": 5, "temperature": 0.0, "top_p": 0.5, "seed": 7,
                      "stop": ["\n"], "stream": True}
    assert options.stream and options.include_usage and options.route == CHAT


def test_completions_maps_prompt_and_a_single_stop_string():
    native, options = completion(max_tokens=3, stop="x")
    assert native["prompt"] == "def f(" and native["max_tokens"] == 3 and native["stop"] == "x"
    assert not options.stream and not options.include_usage
    assert completion(prompt=["only one"])[0]["prompt"] == "only one"


def test_max_completion_tokens_is_chats_max_tokens_and_equal_values_agree():
    assert chat(max_completion_tokens=9)[0]["max_tokens"] == 9
    assert chat(max_completion_tokens=9, max_tokens=9)[0]["max_tokens"] == 9
    err = refused(CHAT, {"model": MODEL, "messages": HELLO, "max_tokens": 8, "max_completion_tokens": 9})
    assert err.param == "max_completion_tokens"


def test_absent_parameters_take_openais_defaults_and_the_workers_max_tokens_for_chat():
    native, _ = chat()
    assert native["temperature"] == DEFAULTS["temperature"] == 1.0 != cfg.DEFAULT_TEMPERATURE
    assert native["top_p"] == 1.0 and native["stream"] is False
    assert native["max_tokens"] == cfg.DEFAULT_MAX_TOKENS
    assert completion()[0]["max_tokens"] == 16
    assert "seed" not in native and "stop" not in native


def test_null_counts_as_absent_for_every_parameter():
    nulls = {name: None for name in ("temperature", "top_p", "seed", "stop", "max_tokens", "stream", "n",
                                     "logprobs", "stream_options", "tools", "user")}
    assert chat(**nulls) == chat()


def test_roles_and_text_parts_become_the_workers_messages():
    messages = [{"role": "developer", "content": "Be brief."},
                {"role": "system", "content": "S"},
                {"role": "assistant", "content": "A"},
                {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}]
    native, _ = chat(messages=messages)
    assert native["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "system", "content": "S"},
                                  {"role": "assistant", "content": "A"}, {"role": "user", "content": "one\ntwo"}]


# ---------------------------------------------------------------- no-ops
ACCEPTED = {
    CHAT: {"n": 1, "presence_penalty": 0, "frequency_penalty": 0.0, "logit_bias": {}, "user": "u-1",
           "logprobs": False, "top_logprobs": 0, "tools": [], "tool_choice": "none",
           "parallel_tool_calls": True, "response_format": {"type": "text"}, "store": False},
    COMPLETIONS: {"n": 1, "presence_penalty": 0, "frequency_penalty": 0, "logit_bias": {}, "user": "u-1",
                  "echo": False, "best_of": 1, "suffix": ""},
}
REFUSED = {
    CHAT: {"n": 2, "presence_penalty": 0.5, "frequency_penalty": -1, "logit_bias": {"50256": -100}, "user": 5,
           "logprobs": True, "top_logprobs": 3, "tools": [{"type": "function"}], "tool_choice": "auto",
           "parallel_tool_calls": "yes", "response_format": {"type": "json_object"}, "store": True},
    COMPLETIONS: {"n": 3, "presence_penalty": 1, "frequency_penalty": 2, "logit_bias": {"1": 1}, "user": [],
                  "echo": True, "best_of": 2, "suffix": "}"},
}
BASE = {CHAT: {"model": MODEL, "messages": HELLO}, COMPLETIONS: {"model": MODEL, "prompt": "x"}}


def test_the_tables_cover_every_no_op_parameter():
    for route in (CHAT, COMPLETIONS):
        assert set(ACCEPTED[route]) == set(REFUSED[route]) == set(NO_OPS[route])


@pytest.mark.parametrize("route,name", [(r, n) for r in (CHAT, COMPLETIONS) for n in ACCEPTED[r]])
def test_a_value_that_changes_nothing_is_accepted(route, name):
    assert to_native(route, {**BASE[route], name: ACCEPTED[route][name]}, MODEL) == to_native(route, BASE[route], MODEL)


@pytest.mark.parametrize("route,name", [(r, n) for r in (CHAT, COMPLETIONS) for n in REFUSED[r]])
def test_any_other_value_of_a_no_op_parameter_is_refused_naming_it(route, name):
    err = refused(route, {**BASE[route], name: REFUSED[route][name]})
    assert err.param == name and err.code == "unsupported_value" and name in err.message
    assert err.type == "invalid_request_error"


@pytest.mark.parametrize("body,param,code", [
    ({"model": MODEL, "messages": HELLO, "functions": []}, "functions", "unsupported_parameter"),
    ({"model": MODEL, "messages": HELLO, "max_tokenz": 3}, "max_tokenz", "unsupported_parameter"),
    ({"model": MODEL, "messages": HELLO, "echo": False}, "echo", "unsupported_parameter"),
    ({"model": "gpt-4o", "messages": HELLO}, "model", "model_not_found"),
    ({"messages": HELLO}, "model", "missing_required_parameter"),
    ({"model": 3, "messages": HELLO}, "model", "invalid_type"),
    ({"model": MODEL}, "messages", "missing_required_parameter"),
    ({"model": MODEL, "messages": []}, "messages", "invalid_value"),
    ({"model": MODEL, "messages": "hi"}, "messages", "invalid_type"),
    ({"model": MODEL, "messages": ["hi"]}, "messages[0]", "invalid_type"),
    ({"model": MODEL, "messages": [{"role": "tool", "content": "x"}]}, "messages[0].role", "unsupported_value"),
    ({"model": MODEL, "messages": [{"role": "user", "content": "x", "name": "bo"}]}, "messages[0].name",
     "unsupported_parameter"),
    ({"model": MODEL, "messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
     "messages[0].content[0]", "unsupported_value"),
    ({"model": MODEL, "messages": [{"role": "assistant", "content": None}]}, "messages[0].content", "invalid_type"),
    ({"model": MODEL, "messages": HELLO, "temperature": "0.5"}, "temperature", "invalid_type"),
    ({"model": MODEL, "messages": HELLO, "top_p": True}, "top_p", "invalid_type"),
    ({"model": MODEL, "messages": HELLO, "seed": 1.5}, "seed", "invalid_type"),
    ({"model": MODEL, "messages": HELLO, "stop": [1]}, "stop", "invalid_type"),
    ({"model": MODEL, "messages": HELLO, "stream": "true"}, "stream", "invalid_type"),
    ({"model": MODEL, "messages": HELLO, "max_tokens": "5"}, "max_tokens", "invalid_type"),
    ({"model": MODEL, "messages": HELLO, "stream_options": {"include_usage": True}}, "stream_options",
     "invalid_value"),
    ({"model": MODEL, "messages": HELLO, "stream": True, "stream_options": {"include_obfuscation": True}},
     "stream_options.include_obfuscation", "unsupported_parameter"),
    ({"model": MODEL, "messages": HELLO, "stream": True, "stream_options": {"include_usage": 1}},
     "stream_options.include_usage", "invalid_type"),
])
def test_chat_requests_it_cannot_honour_are_refused_naming_the_parameter(body, param, code):
    err = refused(CHAT, body)
    assert (err.param, err.code) == (param, code), err.message


@pytest.mark.parametrize("prompt", [["a", "b"], [1, 2, 3], [[1, 2]], 7, None])
def test_completions_take_one_text_prompt(prompt):
    body = {"model": MODEL, "prompt": prompt}
    err = refused(COMPLETIONS, body)
    assert err.param == "prompt"


def test_max_completion_tokens_is_not_a_completions_parameter():
    assert refused(COMPLETIONS, {"model": MODEL, "prompt": "x", "max_completion_tokens": 3}).param == \
        "max_completion_tokens"


def test_served_name_is_the_setting_the_short_name_or_a_folders_own_name(tmp_path):
    assert served_name(cfg.Settings(model_name="tiny")) == "tiny"
    assert served_name(cfg.Settings(model_name="tiny", served_model_name="my-llm")) == "my-llm"
    folder = tmp_path / "my-model"
    folder.mkdir()
    assert served_name(cfg.Settings(model_name=str(folder))) == "my-model"
    assert served_name(cfg.Settings(model_name="Qwen/Qwen2.5-0.5B-Instruct")) == "Qwen/Qwen2.5-0.5B-Instruct"
    assert cfg.Settings.from_env({"SERVED_MODEL_NAME": " x "}).served_model_name == "x"


# ------------------------------------------------- through the SDK's handler
def run(route, body, job_id="job-1"):
    async def collect():
        return [item async for item in async_handler({"id": job_id, "input": {"openai_route": route,
                                                                               "openai_input": body}})]
    return asyncio.run(collect())


def events(items):
    text = "".join(items)
    assert all(isinstance(i, str) for i in items) and text.endswith("data: [DONE]\n\n")
    blocks = text.split("\n\n")
    assert blocks[-1] == "" and all(b.startswith("data: ") for b in blocks[:-1])
    return [json.loads(b[6:]) for b in blocks[:-2]]


@pytest.fixture(scope="module")
def worker_ready(tiny_lm):
    return tiny_lm


def test_models_lists_the_served_name(worker_ready):
    (listing,) = run("/v1/models", None)
    assert listing["object"] == "list"
    (model,) = listing["data"]
    assert model["id"] == "tiny" and model["object"] == "model" and isinstance(model["created"], int)


def test_a_plain_chat_completion_is_openais_object(worker_ready):
    (obj,) = run(CHAT, {"model": MODEL, "messages": HELLO, "max_tokens": 6, "temperature": 0})
    assert obj["object"] == "chat.completion" and obj["id"].startswith("chatcmpl-") and obj["model"] == "tiny"
    assert isinstance(obj["created"], int)
    (choice,) = obj["choices"]
    assert choice["index"] == 0 and choice["message"]["role"] == "assistant"
    assert choice["finish_reason"] in ("stop", "length") and isinstance(choice["message"]["content"], str)
    u = obj["usage"]
    assert 0 < u["completion_tokens"] <= 6 and u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]


def test_streamed_chat_events_role_first_deltas_join_finish_then_usage_then_done(worker_ready):
    body = {"model": MODEL, "messages": HELLO, "max_tokens": 12, "temperature": 0}
    (plain,) = run(CHAT, body)
    items = run(CHAT, {**body, "stream": True, "stream_options": {"include_usage": True}})
    evs = events(items)
    assert {e["id"] for e in evs} == {evs[0]["id"]} and all(e["object"] == "chat.completion.chunk" for e in evs)
    assert evs[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    *content, final, usage = evs[1:]
    assert "".join(e["choices"][0]["delta"]["content"] for e in content) == plain["choices"][0]["message"]["content"]
    assert all(e["choices"][0]["finish_reason"] is None and e["usage"] is None for e in content)
    assert final["choices"][0]["delta"] == {} and final["choices"][0]["finish_reason"] == \
        plain["choices"][0]["finish_reason"]
    assert usage["choices"] == [] and usage["usage"] == plain["usage"]
    assert items[0].startswith("data: ") and items[0].count("data: ") == 2, "role and first text: one post"


def test_streamed_completions_without_usage_have_no_usage_field(worker_ready):
    body = {"model": MODEL, "prompt": "def f(", "max_tokens": 8, "temperature": 0}
    (plain,) = run(COMPLETIONS, body)
    assert plain["object"] == "text_completion" and plain["id"].startswith("cmpl-")
    evs = events(run(COMPLETIONS, {**body, "stream": True}))
    assert all(e["object"] == "text_completion" and "usage" not in e for e in evs)
    assert "".join(e["choices"][0]["text"] for e in evs) == plain["choices"][0]["text"]
    assert evs[-1]["choices"][0]["finish_reason"] == plain["choices"][0]["finish_reason"]


def error_of(items) -> dict:
    (item,) = items
    assert set(item) == {"error"} and isinstance(item["error"], str), "JSON text, which the SDK keeps as is"
    return parse_job_error(item["error"])


def test_a_refused_parameter_travels_as_json_text_with_openais_error_object(worker_ready):
    err = error_of(run(CHAT, {"model": MODEL, "messages": HELLO, "n": 2}))
    assert err["status"] == "VALIDATION_ERROR" and err["retry"] is False
    assert err["openai"] == {"message": err["openai"]["message"], "type": "invalid_request_error",
                             "param": "n", "code": "unsupported_value"}


def test_the_workers_own_limits_name_the_openai_parameter(worker_ready):
    err = error_of(run(CHAT, {"model": MODEL, "messages": HELLO, "max_completion_tokens": 10**6}))
    assert err["openai"]["param"] == "max_completion_tokens" and err["retry"] is False
    err = error_of(run(COMPLETIONS, {"model": MODEL, "prompt": "", "stream": True}))
    assert err["openai"]["param"] == "prompt"
    err = error_of(run(COMPLETIONS, {"model": MODEL, "prompt": "x", "stop": ["a"] * 9}))
    assert err["openai"]["param"] == "stop"


def test_an_unknown_route_or_model_is_refused(worker_ready):
    assert error_of(run("/v1/embeddings", {}))["openai"]["code"] == "unknown_url"
    assert error_of(run(CHAT, {"model": "gpt-4o", "messages": HELLO}))["openai"]["code"] == "model_not_found"


def test_the_native_input_still_works_beside_openai_jobs(worker_ready):
    async def collect():
        return [i async for i in async_handler({"id": "n", "input": {"prompt": "x", "max_tokens": 3}})]
    (result,) = asyncio.run(collect())
    assert "text" in result and result["model"] == "tiny"
