"""Lesson 9's exercises: reading an OpenAI stream, and a request this worker honours.

- ``09.join_deltas``: ``join_deltas(chunks)`` takes the chunks a streamed
  ``client.chat.completions.create(..., stream=True, stream_options={"include_usage":
  True})`` yields and returns ``(text, usage)``: the content deltas joined, and the
  last chunk's ``usage``. The role chunk and the final chunk carry no content
  (``None`` or ``""``) and the usage chunk has no choices at all.
- ``09.greedy_request``: ``greedy_request(model, question)`` returns the keyword
  arguments for ``client.chat.completions.create``: the question as one user message,
  greedy decoding, at most 16 new tokens, streamed with the usage chunk. The checker
  maps them as the worker does (``worker.openai_params.to_native``), so anything the
  worker refuses fails here with the worker's own message.
"""

from __future__ import annotations

from types import SimpleNamespace as NS

from lessons.exercises import exercise, run_learner_code as _call


def _chunk(content=None, role=None, finish=None, usage=None, choices=True):
    delta = NS(content=content, role=role)
    return NS(choices=[NS(index=0, delta=delta, finish_reason=finish)] if choices else [], usage=usage)


@exercise("09.join_deltas")
def join_deltas(answer) -> None:
    usage = NS(prompt_tokens=5, completion_tokens=3, total_tokens=8)
    chunks = [_chunk("", role="assistant"), _chunk("Par"), _chunk("is"), _chunk("."), _chunk(None, finish="stop"),
              _chunk(choices=False, usage=usage)]
    got = _call(answer, iter(chunks))
    assert isinstance(got, tuple) and len(got) == 2, f"return (text, usage), got {got!r}"
    text, got_usage = got
    assert text == "Paris.", f"the deltas join to 'Paris.', got {text!r}"
    assert got_usage is usage, "usage is the last chunk's usage (the chunk whose choices are empty)"
    text, got_usage = _call(answer, iter([_chunk("", role="assistant"), _chunk("x"), _chunk(None, finish="length")]))
    assert (text, got_usage) == ("x", None), "without a usage chunk, usage is None"


@exercise("09.greedy_request")
def greedy_request(answer) -> None:
    from worker.openai_params import CHAT, OpenAIError, to_native

    kwargs = _call(answer, "smollm2", "What is the capital of France?")
    assert isinstance(kwargs, dict), f"return a dict of keyword arguments, got {type(kwargs).__name__}"
    try:
        native, options = to_native(CHAT, kwargs, "smollm2")
    except OpenAIError as err:
        raise AssertionError(f"the worker refuses it: {err.message} (param {err.param})") from None
    assert native["messages"] == [{"role": "user", "content": "What is the capital of France?"}], \
        f"one user message with the question, got {native['messages']}"
    assert native["temperature"] == 0, f"greedy decoding is temperature 0 (absent, OpenAI's default 1 applies); " \
                                       f"got {native['temperature']}"
    assert native["max_tokens"] <= 16, f"at most 16 new tokens, got {native['max_tokens']}"
    assert options.stream and options.include_usage, "streamed, with stream_options={'include_usage': True}"
