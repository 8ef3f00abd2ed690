"""The request schema: what a job's ``input`` may contain (pydantic v2).

Contract:
- ``parse_request(raw, settings)`` returns a ``GenerationRequest`` or raises
  ``pydantic.ValidationError`` (which ``worker.errors`` turns into VALIDATION_ERROR).
  ``raw`` may be any JSON value; anything but an object is rejected.
- Exactly one of ``prompt`` or ``messages``; unknown fields are rejected; types are
  strict (``"10"`` is not a number of tokens, ``"true"`` is not a boolean).
- The size limits that depend on the deployment (``MAX_PROMPT_CHARS``,
  ``MAX_MESSAGES``) come from ``Settings`` through the validation context; the API's
  own limits (``max_tokens`` 1..4096, ...) are constants in ``worker.config``.
- ``request_json_schema()`` is the JSON Schema clients can read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from worker import config as cfg


def _encodable(value: str) -> str:
    # A lone surrogate (JSON "\\ud800") survives json.loads and pydantic's check of a
    # nested str, then breaks the tokenizer: the input's fault, so a validation error.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"not valid Unicode text (a lone surrogate at character {exc.start})") from None
    return value


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["system", "user", "assistant"]
    content: str

    _content_is_text = field_validator("content")(_encodable)


class GenerationRequest(BaseModel):
    """A text generation request: the ``input`` of a job."""

    model_config = ConfigDict(extra="forbid", strict=True, title="GenerationRequest")

    prompt: str | None = Field(
        default=None, min_length=1, description="Text to continue. Give this or `messages`."
    )
    messages: list[Message] | None = Field(
        default=None,
        min_length=1,
        description="Chat messages, rendered with the model's chat template "
        "(or a plain 'role: content' join when the model has none). Give this or `prompt`.",
    )
    max_tokens: int = Field(
        default=cfg.DEFAULT_MAX_TOKENS,
        ge=1,
        le=cfg.MAX_TOKENS_LIMIT,
        description=f"Most new tokens to generate (default {cfg.DEFAULT_MAX_TOKENS}).",
    )
    temperature: float = Field(
        default=cfg.DEFAULT_TEMPERATURE,
        ge=0.0,
        le=2.0,
        description="0 means greedy decoding (deterministic); higher is more random.",
    )
    top_p: float = Field(
        default=cfg.DEFAULT_TOP_P, gt=0.0, le=1.0, description="Nucleus sampling mass."
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        le=2**32 - 1,
        description="Sampling seed: the same seed and input give the same text.",
    )
    stop: str | list[str] | None = Field(
        default=None,
        description=f"Up to {cfg.MAX_STOP_SEQUENCES} strings that end the text (not included).",
    )
    stream: bool = Field(
        default=False, description="Yield token chunks as they are generated."
    )

    @field_validator("stop")
    @classmethod
    def _stop_is_small(cls, value: str | list[str] | None) -> list[str] | None:
        if value is None:
            return None
        stops = [value] if isinstance(value, str) else value
        if len(stops) > cfg.MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {cfg.MAX_STOP_SEQUENCES} stop sequences")
        for s in stops:
            if not s or len(s) > cfg.MAX_STOP_CHARS:
                raise ValueError(f"each stop sequence must have 1 to {cfg.MAX_STOP_CHARS} characters")
            _encodable(s)
        return stops

    @model_validator(mode="after")
    def _one_source_within_limits(self, info: ValidationInfo) -> "GenerationRequest":
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of 'prompt' or 'messages'")
        settings = (info.context or {}).get("settings") or cfg.get_settings()
        chars = len(self.prompt) if self.prompt is not None else sum(len(m.content) for m in self.messages)
        if chars > settings.max_prompt_chars:
            raise ValueError(f"prompt is {chars} characters; the limit is {settings.max_prompt_chars}")
        if self.messages is not None and len(self.messages) > settings.max_messages:
            raise ValueError(f"{len(self.messages)} messages; the limit is {settings.max_messages}")
        return self

    @property
    def stop_sequences(self) -> list[str]:
        """The stop strings as a list (the validator normalises ``stop`` to one)."""
        return list(self.stop or [])


def parse_request(raw: Any, settings: cfg.Settings | None = None) -> GenerationRequest:
    """Validate a job's ``input`` against ``settings`` (default: the active ones).

    Raises ``pydantic.ValidationError``.
    """
    context = {"settings": settings if settings is not None else cfg.get_settings()}
    # model_validate rejects non-dicts itself, with the standard "model_type" error.
    return GenerationRequest.model_validate(raw, context=context)


def request_json_schema() -> dict[str, Any]:
    """The JSON Schema of a job's ``input``, for clients and docs."""
    return GenerationRequest.model_json_schema()
