"""The one check for text people send, and the one scrub for text the outputs carry.

Every text input (API schemas, forms, services) goes through `clean`: a lone surrogate is not
Unicode (no database, JSON encoder or page can carry it) and NUL cannot be stored in
PostgreSQL, so both are refused with a message naming the field; the other C0 and C1 control
characters are dropped (XML 1.0 feeds cannot carry them, and they are invisible anyway); line
breaks are `\\n` in multi-line text and absent from single-line text.

`printable` protects the outputs (feeds, the iCalendar feed, the static export) from text
stored before this check existed."""

from __future__ import annotations

import re
from typing import Annotated, Any

from django import forms
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from .errors import field_error

SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls other than tab, LF and CR; DEL; C1 controls; the two XML 1.0 non-characters
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
LINE_BREAK = re.compile("\r\n?|[\u2028\u2029]")
SINGLE_LINE_SPACE = re.compile("[ \t]*[\t\n][ \t\n]*")

# what a person is told, the character named as Unicode names it and counted from 1
NUL_MESSAGE = "Text cannot contain a control character (U+0000) at position {position}."
SURROGATE_MESSAGE = (
    "Text must be valid Unicode: it holds a broken character (U+{code:04X}, a lone surrogate)"
    " at position {position}."
)


class TextRefused(ValueError):
    """Text that cannot be taken as it is: its message says why, for the person who sent it."""


def problem(value: str) -> str | None:
    """Why `value` is refused outright (a lone surrogate, a NUL), or None."""
    found = SURROGATE.search(value)
    if found:
        return SURROGATE_MESSAGE.format(code=ord(found.group()), position=found.start() + 1)
    nul = value.find("\x00")
    if nul >= 0:
        return NUL_MESSAGE.format(position=nul + 1)
    return None


def scrub(value: str, *, multiline: bool = True) -> str:
    """`value` without control characters, its line breaks as `\\n` (or spaces in single-line
    text), stripped of surrounding white space. Raises `TextRefused` for text that is not
    Unicode or holds a NUL."""
    refused = problem(value)
    if refused:
        raise TextRefused(refused)
    value = CONTROL.sub("", LINE_BREAK.sub("\n", value))
    if not multiline:
        value = SINGLE_LINE_SPACE.sub(" ", value)
    return value.strip()


def clean(
    field: str,
    value: str | None,
    *,
    limit: int,
    required: bool = True,
    multiline: bool = True,
    label: str | None = None,
) -> str:
    """Text a service takes: scrubbed, required when asked, at most `limit` characters.
    Raises `InvalidInput` naming `field`."""
    try:
        text = scrub(value or "", multiline=multiline)
    except TextRefused as exc:
        raise field_error(field, str(exc)) from None
    if required and not text:
        name = label or field.replace("_", " ").capitalize()
        raise field_error(field, f"{name} is required.")
    if len(text) > limit:
        raise field_error(field, f"At most {limit} characters (this has {len(text)}).")
    return text


def printable(value: str) -> str:
    """`value` as every output can carry it: no lone surrogates, no control characters other
    than tab and LF, line breaks as LF. For text stored before input was checked."""
    return CONTROL.sub("", SURROGATE.sub("\ufffd", LINE_BREAK.sub("\n", value)))


# -- API schemas -------------------------------------------------------------------------------


def _pydantic(multiline: bool) -> AfterValidator:
    def validate(value: str) -> str:
        try:
            return scrub(value, multiline=multiline)
        except TextRefused as exc:
            raise PydanticCustomError("text", str(exc)) from None

    return AfterValidator(validate)


Line = Annotated[str, _pydantic(multiline=False)]
"""A single-line text field of an API schema (a title, a name): scrubbed, no line breaks."""

Text = Annotated[str, _pydantic(multiline=True)]
"""A multi-line text field of an API schema (a description, a body): scrubbed, LF only."""


# -- forms -------------------------------------------------------------------------------------


class TextField(forms.CharField):
    """A form's text field, scrubbed like the API's: `multiline=False` for a single line."""

    def __init__(self, *args: Any, multiline: bool = True, **kwargs: Any) -> None:
        self.multiline = multiline
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if not isinstance(value, str):
            return value
        try:
            return scrub(value, multiline=self.multiline)
        except TextRefused as exc:
            raise forms.ValidationError(str(exc), code="text") from None
