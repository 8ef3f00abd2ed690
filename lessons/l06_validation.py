"""Lesson 6's harness: the verdicts printed side by side, and the bad inputs they are run on.

Contract:
- ``bad_inputs(prompt)``: ``{what is wrong: the raw job input}``, one per mistake a client
  makes (wrong type, out of range, typo'd field, both or neither of prompt and messages...).
- ``schema_says(raw, settings)``: ``"accepted"``, or the error text this worker's client
  gets for ``raw`` (``worker.schema.parse_request`` then ``worker.errors.classify``).
- ``lax_says(raw, settings)``: what pydantic's default lax mode would make of ``raw``.
- ``verdict(validate, raw)``: runs any ``validate(raw)`` that returns a model and raises
  ``ValidationError``, as ``"accepted as ..."`` or ``"refused: field: message; ..."``.
- ``short(value)``: one line of at most 60 characters, long strings shown as their length.
"""

from __future__ import annotations

import json
from typing import Any, Callable


def bad_inputs(prompt: str) -> dict[str, Any]:
    return {
        "empty": {},
        "a string, not an object": "Summarise these messages in one prompt",
        "neither prompt nor messages": {"max_tokens": 64},
        "both prompt and messages": {"prompt": prompt, "messages": [{"role": "user", "content": prompt}]},
        "max_tokens as text": {"prompt": prompt, "max_tokens": "64"},
        "max_tokens true": {"prompt": prompt, "max_tokens": True},
        "max_tokens 0": {"prompt": prompt, "max_tokens": 0},
        "temperature 9": {"prompt": prompt, "temperature": 9},
        "prompt a number": {"prompt": 42},
        "a typo'd field": {"prompt": prompt, "max_token": 64},
        "an unknown role": {"messages": [{"role": "robot", "content": prompt}]},
        "five stop strings": {"prompt": prompt, "stop": ["a", "b", "c", "d", "e"]},
        "several problems": {"prompt": "", "max_tokens": "64", "temperature": 9, "colour": "red"},
    }


def schema_says(raw: Any, settings=None) -> str:
    from pydantic import ValidationError

    from worker.errors import classify
    from worker.schema import parse_request

    try:
        parse_request(raw, settings)
        return "accepted"
    except ValidationError as exc:
        return classify(exc)["error"]


def lax_says(raw: dict, settings=None) -> str:
    from worker.config import Settings
    from worker.schema import GenerationRequest

    return verdict(lambda r: GenerationRequest.model_validate(r, strict=False,
                                                              context={"settings": settings or Settings()}), raw)


def verdict(validate: Callable[[Any], Any], raw: Any) -> str:
    from pydantic import ValidationError

    try:
        model = validate(raw)
    except ValidationError as exc:
        return "refused: " + "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
    shown = {k: getattr(model, k) for k in ("max_tokens", "temperature", "stream") if k in raw or k == "max_tokens"}
    return "accepted as " + ", ".join(f"{k}={v!r}" for k, v in shown.items())


def short(value: Any, width: int = 60) -> str:
    def squeeze(v):
        if isinstance(v, str) and len(v) > 50:
            return f"<{len(v)} characters>"
        if isinstance(v, dict):
            return {k: squeeze(x) for k, x in v.items()}
        return [squeeze(x) for x in v] if isinstance(v, list) else v

    text = json.dumps(squeeze(value))
    return text if len(text) <= width else text[: width - 3] + "..."
