"""OpenAI request parameters mapped onto the worker's own request (``worker.schema``).

Contract:
- ``to_native(route, body, served_name)`` returns ``(native_input, options)`` for
  ``/v1/chat/completions`` and ``/v1/completions``: ``native_input`` is a job input
  of the worker's own API (``prompt`` or ``messages``, ``max_tokens``,
  ``temperature``, ``top_p``, ``seed``, ``stop``, ``stream``), ``options`` says what
  the answer needs (route, ``stream``, ``include_usage``). Anything it cannot honour
  raises ``OpenAIError`` naming the parameter; nothing else raises.
- Honoured: ``model`` (must be the served model name, else 404 ``model_not_found``),
  ``messages`` (roles system, developer (as system), user, assistant; content a
  string or text parts) / ``prompt`` (a string, or a list of one string),
  ``max_tokens`` and ``max_completion_tokens`` (chat), ``temperature``, ``top_p``,
  ``seed``, ``stop``, ``stream``, ``stream_options.include_usage``.
- Accepted because they change nothing (``NO_OPS``): ``n=1``,
  ``presence_penalty=0``, ``frequency_penalty=0``, ``logit_bias={}``, ``user`` (any
  string); chat: ``logprobs=false``, ``top_logprobs=0``, ``tools=[]``,
  ``tool_choice="none"``, ``parallel_tool_calls`` (no tools: either value),
  ``response_format={"type": "text"}``, ``store=false``; completions: ``echo=false``,
  ``best_of=1``, ``suffix=""``. Any other value of these, and any other parameter,
  is refused. ``null`` counts as absent, for every parameter.
- Defaults where a parameter is absent are OpenAI's (``DEFAULTS``): temperature 1,
  top_p 1, and for completions max_tokens 16; for chat, where OpenAI has no limit
  but the context, the worker's own default (``worker.config.DEFAULT_MAX_TOKENS``).
  A client written for OpenAI gets OpenAI's sampling; the worker's own API keeps its
  0.7.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from worker import config as cfg

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
MODELS = "/v1/models"
ROUTES = (CHAT, COMPLETIONS, MODELS)

DEFAULTS = {
    "temperature": 1.0,
    "top_p": 1.0,
    CHAT: {"max_tokens": cfg.DEFAULT_MAX_TOKENS},
    COMPLETIONS: {"max_tokens": 16},
}


class OpenAIError(Exception):
    """A request refused, with the fields of OpenAI's error object."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None,
                 type: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.message, self.param, self.code, self.type = message, param, code, type

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "type": self.type, "param": self.param, "code": self.code}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# name -> (accepted value test, what is accepted): values that change nothing here.
_COMMON_NO_OPS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "n": (lambda v: _integer(v) and v == 1, "1 (one choice per request)"),
    "presence_penalty": (lambda v: _number(v) and v == 0, "0"),
    "frequency_penalty": (lambda v: _number(v) and v == 0, "0"),
    "logit_bias": (lambda v: v == {}, "{}"),
    "user": (lambda v: isinstance(v, str), "any string (an end-user id; it does not change the text)"),
}
NO_OPS: dict[str, dict[str, tuple[Callable[[Any], bool], str]]] = {
    CHAT: {**_COMMON_NO_OPS,
           "logprobs": (lambda v: v is False, "false"),
           "top_logprobs": (lambda v: _integer(v) and v == 0, "0"),
           "tools": (lambda v: v == [], "[]"),
           "tool_choice": (lambda v: v == "none", '"none"'),
           "parallel_tool_calls": (lambda v: isinstance(v, bool), "true or false (there are no tools)"),
           "response_format": (lambda v: v == {"type": "text"}, '{"type": "text"}'),
           "store": (lambda v: v is False, "false")},
    COMPLETIONS: {**_COMMON_NO_OPS,
                  "echo": (lambda v: v is False, "false"),
                  "best_of": (lambda v: _integer(v) and v == 1, "1"),
                  "suffix": (lambda v: v == "", '""')},
}
HONOURED = {
    CHAT: ("model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "seed",
           "stop", "stream", "stream_options"),
    COMPLETIONS: ("model", "prompt", "max_tokens", "temperature", "top_p", "seed", "stop", "stream",
                  "stream_options"),
}
ROLES = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


@dataclass(frozen=True)
class Options:
    """What the answer to one OpenAI request needs beyond the generated text."""

    route: str
    stream: bool = False
    include_usage: bool = False


def _bad_type(param: str, wanted: str) -> OpenAIError:
    return OpenAIError(f"Invalid type for '{param}': expected {wanted}.", param=param, code="invalid_type")


def _messages(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not value:
        raise OpenAIError("'messages' must be a non-empty array of messages.", param="messages",
                          code="invalid_type" if not isinstance(value, list) else "invalid_value")
    out = []
    for i, m in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise _bad_type(where, "an object with 'role' and 'content'")
        extra = sorted(set(m) - {"role", "content"})
        if extra:
            raise OpenAIError(f"'{where}.{extra[0]}' is not supported by this worker.",
                              param=f"{where}.{extra[0]}", code="unsupported_parameter")
        role = m.get("role")
        if role not in ROLES:
            raise OpenAIError(f"'{where}.role' {role!r} is not supported; use one of "
                              f"{', '.join(ROLES)}.", param=f"{where}.role", code="unsupported_value")
        out.append({"role": ROLES[role], "content": _content(m.get("content"), f"{where}.content")})
    return out


def _content(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        texts = []
        for j, part in enumerate(value):
            if not (isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)):
                raise OpenAIError(f"'{where}[{j}]' is not supported: this worker reads text parts only "
                                  f'({{"type": "text", "text": ...}}).', param=f"{where}[{j}]",
                                  code="unsupported_value")
            texts.append(part["text"])
        return "\n".join(texts)
    raise _bad_type(where, "a string or an array of text parts")


def _prompt(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    if isinstance(value, str):
        return value
    raise OpenAIError("'prompt' must be a string (or a list of one string): this worker answers one "
                      "prompt per request, from text, not token ids.", param="prompt", code="unsupported_value")


def _max_tokens(route: str, given: dict[str, Any]) -> int:
    a, b = given.get("max_tokens"), given.get("max_completion_tokens")
    for name, v in (("max_tokens", a), ("max_completion_tokens", b)):
        if v is not None and not _integer(v):
            raise _bad_type(name, "an integer")
    if a is not None and b is not None and a != b:
        raise OpenAIError("'max_tokens' and 'max_completion_tokens' differ: give one of them.",
                          param="max_completion_tokens", code="invalid_value")
    chosen = b if b is not None else a
    return DEFAULTS[route]["max_tokens"] if chosen is None else chosen


def check_model(body: dict[str, Any], served_name: str) -> None:
    model = body.get("model")
    if model is None:
        raise OpenAIError("you must provide a model parameter", param="model", code="missing_required_parameter")
    if not isinstance(model, str):
        raise _bad_type("model", "a string")
    if model != served_name:
        raise OpenAIError(f"The model `{model}` does not exist: this worker serves `{served_name}`.",
                          param="model", code="model_not_found")


def to_native(route: str, body: Any, served_name: str) -> tuple[dict[str, Any], Options]:
    """The worker's own job input for an OpenAI request; see the module docstring."""
    if not isinstance(body, dict):
        raise OpenAIError("The request body must be a JSON object.", code="invalid_type")
    given = {k: v for k, v in body.items() if v is not None}  # null means absent
    for name, value in given.items():
        if name in HONOURED[route]:
            continue
        no_op = NO_OPS[route].get(name)
        if no_op is None:
            raise OpenAIError(f"Unsupported parameter: '{name}' is not supported by this worker; it honours "
                              f"{', '.join(HONOURED[route])}.", param=name, code="unsupported_parameter")
        accepts, accepted = no_op
        if not accepts(value):
            raise OpenAIError(f"Unsupported value: '{name}' can only be {accepted} here (this worker cannot "
                              f"honour other values).", param=name, code="unsupported_value")
    check_model(given, served_name)
    native: dict[str, Any] = {}
    if route == CHAT:
        if "messages" not in given:
            raise OpenAIError("Missing required parameter: 'messages'.", param="messages",
                              code="missing_required_parameter")
        native["messages"] = _messages(given["messages"])
    else:
        if "prompt" not in given:
            raise OpenAIError("Missing required parameter: 'prompt'.", param="prompt",
                              code="missing_required_parameter")
        native["prompt"] = _prompt(given["prompt"])
    native["max_tokens"] = _max_tokens(route, given)
    for name in ("temperature", "top_p"):
        value = given.get(name, DEFAULTS[name])
        if not _number(value):
            raise _bad_type(name, "a number")
        native[name] = float(value)
    if "seed" in given:
        if not _integer(given["seed"]):
            raise _bad_type("seed", "an integer")
        native["seed"] = given["seed"]
    if "stop" in given:
        stop = given["stop"]
        if not (isinstance(stop, str) or (isinstance(stop, list) and all(isinstance(s, str) for s in stop))):
            raise _bad_type("stop", "a string or an array of strings")
        native["stop"] = stop
    stream = given.get("stream", False)
    if not isinstance(stream, bool):
        raise _bad_type("stream", "a boolean")
    native["stream"] = stream
    return native, Options(route, stream, _include_usage(given, stream))


def _include_usage(given: dict[str, Any], stream: bool) -> bool:
    opts = given.get("stream_options")
    if opts is None:
        return False
    if not stream:
        raise OpenAIError("The 'stream_options' parameter is only allowed when 'stream' is true.",
                          param="stream_options", code="invalid_value")
    if not isinstance(opts, dict):
        raise _bad_type("stream_options", "an object")
    extra = sorted(k for k, v in opts.items() if k != "include_usage" and v is not None)
    if extra:
        raise OpenAIError(f"'stream_options.{extra[0]}' is not supported by this worker.",
                          param=f"stream_options.{extra[0]}", code="unsupported_parameter")
    usage = opts.get("include_usage", False)
    if usage is None:
        return False
    if not isinstance(usage, bool):
        raise _bad_type("stream_options.include_usage", "a boolean")
    return usage


def param_of(loc: str, route: str, body: Any) -> str:
    """The OpenAI parameter behind a native validation error's location."""
    head, _, rest = loc.partition(".")
    if head in ("input", ""):
        return "messages" if route == CHAT else "prompt"
    if head == "max_tokens" and isinstance(body, dict) and body.get("max_completion_tokens") is not None:
        return "max_completion_tokens"
    if head == "messages" and rest:
        index, _, field = rest.partition(".")
        return f"messages[{index}]" + (f".{field}" if field else "")
    return head
