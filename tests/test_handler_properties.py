"""Property-based: whatever JSON a client sends, the worker answers, and never crashes.

Two properties, with hypothesis:
1. Any JSON value as ``input`` (and any values under the schema's own field names)
   gives either an output or a structured VALIDATION_ERROR, never an exception.
   Generation is replaced by a fast stand-in here, so that a valid ``max_tokens=4096``
   costs nothing; the real model is the second property's.
2. Any valid request with short generation, on the real embedded model, gives an
   output (never an error); streamed chunks join to the plain text; stop strings
   never appear in the text.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from worker import generation
from lessons.inprocess import handler

json_scalars = st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=10), kids, max_size=4), max_leaves=12)
FIELDS = ["prompt", "messages", "max_tokens", "temperature", "top_p", "seed", "stop", "stream"]
field_values = json_values | st.lists(st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "system", "assistant", "bot"]), "content": st.text(max_size=20)}), max_size=3)
schema_shaped = st.dictionaries(st.sampled_from(FIELDS), field_values, max_size=6)
any_input = json_values | schema_shaped


@pytest.fixture
def fast_generation(monkeypatch, tiny_lm):
    def fake_run_batch(lm, tasks):
        for task in tasks:
            if task.on_text is not None:
                task.on_text("ok")
            task.finish(generation.Completion(text="ok", prompt_tokens=1, completion_tokens=1,
                                              finish_reason="stop", seconds=0.001))

    monkeypatch.setattr(generation, "run_batch", fake_run_batch)


def outcome(result) -> tuple[str, object]:
    if isinstance(result, dict):
        if "error" in result:
            return "error", result
        return "output", result
    items = list(result)
    assert items and items[-1]["finished"] is True
    return "output", items


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=any_input)
def test_any_json_input_gives_output_or_a_structured_validation_error(fast_generation, raw):
    kind, result = outcome(handler({"id": "h", "input": raw}))
    if kind == "error":
        assert result["status"] == "VALIDATION_ERROR" and result["retry"] is False
        assert isinstance(result["error"], str) and result["error"].startswith("invalid input")


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(job=json_values)
def test_any_job_shape_at_all_is_answered(fast_generation, job):
    kind, result = outcome(handler(job))
    assert (kind == "error" and result["status"] == "VALIDATION_ERROR") or kind == "output"


text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    source=st.one_of(
        st.builds(lambda p: {"prompt": p}, text),
        st.builds(lambda ms: {"messages": ms}, st.lists(st.fixed_dictionaries(
            {"role": st.sampled_from(["system", "user", "assistant"]), "content": st.text(max_size=40)}),
            min_size=1, max_size=3)),
    ),
    max_tokens=st.integers(1, 12),
    temperature=st.sampled_from([0, 0.5, 1.3]),
    seed=st.integers(0, 2**32 - 1),
    stop=st.none() | st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=2),
)
def test_valid_requests_on_the_real_model_always_answer_and_streams_match(tiny_lm, source, max_tokens, temperature,
                                                                            seed, stop):
    inp = {**source, "max_tokens": max_tokens, "temperature": temperature, "seed": seed}
    if stop is not None:
        inp["stop"] = stop
    plain = handler({"id": "p", "input": inp})
    assert "error" not in plain, plain
    chunks = list(handler({"id": "s", "input": {**inp, "stream": True}}))
    assert "".join(c["token"] for c in chunks[:-1]) == plain["text"]
    assert plain["usage"]["completion_tokens"] <= max_tokens
    for s in stop or []:
        assert s not in plain["text"]
