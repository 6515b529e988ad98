"""Shared field types and the base schema of every request body.

JSON fields are strict: ``"5"`` is not an integer, ``true`` is not a number, and no string
may hold a NUL character (PostgreSQL's JSONB cannot store one).
"""

from __future__ import annotations

import dataclasses
import unicodedata
import uuid
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from rules.recipes import MAX_SEED

MAX_VARIATIONS = 16


@dataclasses.dataclass(frozen=True)
class Limits:
    """Configured limits request schemas enforce (from ``services().settings``)."""

    max_prompt_chars: int = 2000
    max_side: int = 2048

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:  # noqa: ANN401
        return cls(max_prompt_chars=settings.max_prompt_chars, max_side=settings.max_side)


class StrictSchema(Schema):
    """Base of request schemas: unknown fields are an error; ``limits`` hold the
    configured maximums that validators read."""

    class Meta:
        unknown = RAISE

    def __init__(self, *args: Any, limits: Limits | None = None, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(*args, **kwargs)
        self.limits = limits or Limits()


def no_nul(value: str) -> None:
    """Refuse NUL characters and lone surrogates (neither can be stored as UTF-8 JSON)."""
    if "\x00" in value:
        raise ValidationError("must not contain NUL (\\u0000) characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("must be valid Unicode (no lone surrogate \\ud800-\\udfff "
                              "escapes)") from None


class Text(fields.String):
    """A string without NUL characters; ``strip`` trims surrounding whitespace."""

    def __init__(self, *, strip: bool = False, **kwargs: Any) -> None:  # noqa: ANN401
        self.strip = strip
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):  # noqa: ANN001, ANN202
        text = super()._deserialize(value, attr, data, **kwargs)
        no_nul(text)
        return text.strip() if self.strip else text


BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                          "\u2066\u2067\u2068\u2069")
"""Bidirectional marks, embeddings, overrides and isolates: in a name they can make it
read as another (a file name spelled backwards, a tag that sorts as something else)."""


def forbidden_in_name(char: str) -> bool:
    """C0 and C1 control characters (tab and newline included), DEL and bidi controls."""
    code = ord(char)
    return code < 0x20 or 0x7F <= code <= 0x9F or char in BIDI_CONTROLS


def describe_char(char: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``; control characters have no Unicode name."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'control character')}"


def plain_name(value: str) -> None:
    """Refuse a name, tag or label that holds a control or bidi character, saying which
    one and where (prompts and comments keep theirs: clients display them isolated)."""
    for index, char in enumerate(value):
        if forbidden_in_name(char):
            raise ValidationError(f"must not contain {describe_char(char)} (at character "
                                  f"{index + 1}): names, tags and labels are plain text")


class Name(Text):
    """A name, tag or label: :class:`Text` without control or bidi characters."""

    def _deserialize(self, value, attr, data, **kwargs):  # noqa: ANN001, ANN202
        text = super()._deserialize(value, attr, data, **kwargs)
        plain_name(text)
        return text


class Int(fields.Integer):
    """A JSON integer (no strings, no booleans, no 1.5)."""

    def __init__(self, **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(strict=True, **kwargs)


class Float(fields.Float):
    """A finite JSON number (no strings, no booleans)."""

    def _validated(self, value: Any) -> float:  # noqa: ANN401
        if isinstance(value, str):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Id(fields.String):
    """A UUID, returned in canonical lowercase form."""

    default_error_messages = {"invalid_uuid": "Not a valid id (a UUID)."}

    def _deserialize(self, value, attr, data, **kwargs):  # noqa: ANN001, ANN202
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return str(uuid.UUID(text))
        except ValueError:
            raise self.make_error("invalid_uuid") from None


def seed_field(**kwargs: Any) -> Int:  # noqa: ANN401
    return Int(validate=validate.Range(0, MAX_SEED), allow_none=True, load_default=None,
               metadata={"description": f"noise seed 0..{MAX_SEED}; drawn at random and "
                                        "recorded when absent"}, **kwargs)


def check_side(name: str, value: int | None, limits: Limits, errors: dict) -> None:
    """Add an error for a size outside 64..max_side or not a multiple of 8."""
    if value is None:
        return
    if not 64 <= value <= limits.max_side:
        errors[name] = [f"must be within 64..{limits.max_side} pixels"]
    elif value % 8:
        errors[name] = ["must be a multiple of 8"]


def check_prompt(name: str, value: str | None, limits: Limits, errors: dict, *,
                 required: bool) -> None:
    """Add an error for an empty (when required) or over-long prompt."""
    if value is None:
        return
    if required and not value.strip():
        errors[name] = ["must not be empty"]
    elif len(value) > limits.max_prompt_chars:
        errors[name] = [f"is {len(value)} characters; the limit is {limits.max_prompt_chars} "
                        "(LINEAGE_MAX_PROMPT_CHARS)"]


PROMPT_DOC = ("at most LINEAGE_MAX_PROMPT_CHARS characters (default 2000); "
              "{variables} are filled in for templates")
SIDE_DOC = "pixels: a multiple of 8 within 64..LINEAGE_MAX_SIDE (default 2048)"


class ListQuery(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))
    cursor = Text(load_default=None, validate=validate.Length(max=500))
