"""Lesson 9's solutions and wrong answers (graded by tests/test_exercises.py)."""


def join_deltas(chunks):
    text, usage = "", None
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            text += chunk.choices[0].delta.content
        if chunk.usage is not None:
            usage = chunk.usage
    return text, usage


def join_deltas_as_often_written(chunks):   # IndexError on the usage chunk (no choices)
    text = ""
    for chunk in chunks:
        text += chunk.choices[0].delta.content or ""
    return text, None


def join_deltas_no_usage(chunks):
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices), None


def greedy_request(model, question):
    return {"model": model, "messages": [{"role": "user", "content": question}], "temperature": 0,
            "max_tokens": 16, "stream": True, "stream_options": {"include_usage": True}}


def greedy_request_default_temperature(model, question):   # absent temperature is OpenAI's 1, not greedy
    return {"model": model, "messages": [{"role": "user", "content": question}], "max_tokens": 16,
            "stream": True, "stream_options": {"include_usage": True}}


def greedy_request_n(model, question):   # n=3 is refused by the worker
    return {"model": model, "messages": [{"role": "user", "content": question}], "temperature": 0, "n": 3,
            "max_tokens": 16, "stream": True, "stream_options": {"include_usage": True}}


SOLUTIONS = {"09.join_deltas": join_deltas, "09.greedy_request": greedy_request}
WRONG = {
    "09.join_deltas": [join_deltas_as_often_written, join_deltas_no_usage],
    "09.greedy_request": [greedy_request_default_temperature, greedy_request_n],
}
