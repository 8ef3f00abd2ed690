"""Checkers of lesson 6's exercises: a pydantic v2 request model, and reading the bad
fields out of a validation error (``lessons.exercises``)."""

from __future__ import annotations

import warnings

from lessons.exercises import exercise

ACCEPTED = [({"texts": ["hello"]}, True), ({"texts": ["a"] * 16, "normalize": False}, False),
            ({"texts": ["x" * 1000]}, True)]
REFUSED = {
    "no texts": {"texts": []},
    "an empty text": {"texts": [""]},
    "17 texts": {"texts": ["a"] * 17},
    "a text of 1,001 characters": {"texts": ["x" * 1001]},
    "a single string instead of a list": {"texts": "hello"},
    "normalize as the string 'yes'": {"texts": ["a"], "normalize": "yes"},
    "a number among the texts": {"texts": ["a", 5]},
    "a typo'd field 'text'": {"text": ["a"]},
    "an unknown field": {"texts": ["a"], "model": "x"},
}


@exercise("06.embed_request")
def embed_request(model) -> None:
    from pydantic import BaseModel, ValidationError

    assert isinstance(model, type) and issubclass(model, BaseModel), "EmbedRequest must be a pydantic BaseModel class"
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a v1-style validator warns when the class is built; here at use
        for raw, normalize in ACCEPTED:
            try:
                built = model.model_validate(raw)
            except ValidationError as exc:
                raise AssertionError(f"{raw if len(str(raw)) < 80 else 'a valid request'} was refused: {exc.errors()[0]['msg']}") from None
            assert built.texts == raw["texts"], "texts must come back as given"
            assert built.normalize is normalize, f"normalize should be {normalize} for {raw if len(str(raw)) < 80 else 'that request'}"
    for what, raw in REFUSED.items():
        try:
            model.model_validate(raw)
        except ValidationError:
            continue
        raise AssertionError(f"{what} was accepted; it must be refused")


@exercise("06.bad_fields")
def bad_fields(find) -> None:
    prompt = "The Python language"
    cases = [
        ({"prompt": prompt}, []),
        ({"prompt": prompt, "max_tokens": "64"}, ["max_tokens"]),
        ({"prompt": "", "max_tokens": "64", "temperature": 9, "colour": "red"},
         ["prompt", "max_tokens", "temperature", "colour"]),
        ({"max_tokens": 64}, ["input"]),
        ({"prompt": prompt, "stop": ["a"] * 5}, ["stop"]),
    ]
    for raw, expected in cases:
        got = find(raw)
        assert got == expected, f"bad_fields({raw}) returned {got!r}, expected {expected!r}"
