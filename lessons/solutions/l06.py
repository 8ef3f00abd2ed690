"""Lesson 6's exercise solutions and the wrong answers their checkers must refuse."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Text = Annotated[str, Field(min_length=1, max_length=1000)]


class EmbedRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    texts: list[Text] = Field(min_length=1, max_length=16)
    normalize: bool = True


class Lax(BaseModel):   # wrong: lax types, unknown fields ignored
    texts: list[Text] = Field(min_length=1, max_length=16)
    normalize: bool = True


class NoItemLimits(BaseModel):   # wrong: the texts themselves are not checked
    model_config = ConfigDict(extra="forbid", strict=True)
    texts: list[str] = Field(min_length=1, max_length=16)
    normalize: bool = True


def bad_fields(raw):
    from worker.schema import parse_request

    try:
        parse_request(raw)
    except ValidationError as exc:
        return [".".join(map(str, e["loc"])) or "input" for e in exc.errors()]
    return []


def first_field_only(raw):
    return bad_fields(raw)[:1]


SOLUTIONS = {"06.embed_request": EmbedRequest, "06.bad_fields": bad_fields}
WRONG = {"06.embed_request": [Lax, NoItemLimits],
         "06.bad_fields": [first_field_only, lambda raw: []]}
