"""Checks of one input value as a family receives it (predict input lines, hub rows): strings that a
tokenizer can read, word lists. Each raises ValueError with one line naming the field; the caller adds
where (file and line, or hub row)."""

from __future__ import annotations


def text_value(name: str, value) -> str:
    """A non-empty string of valid Unicode (a JSON escape like \\ud800 decodes to half a UTF-16 pair)."""
    if not isinstance(value, str):
        raise ValueError(f"field {name!r} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"field {name!r} is empty")
    valid_text(f"field {name!r}", value)
    return value


def words_value(name: str, value) -> tuple[str, ...]:
    """A non-empty list of non-empty strings (a pre-tokenized sentence)."""
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"field {name!r} must be a non-empty list of strings")
    for number, word in enumerate(value, start=1):
        if not isinstance(word, str) or not word.strip():
            raise ValueError(f"word {number} of {name!r} must be a non-empty string, got {word!r}")
        valid_text(f"word {number} of {name!r}", word)
    return tuple(value)


def valid_text(what: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"{what} is not valid text (an unpaired surrogate \\u{ord(value[err.start]):04x} at "
                         f"character {err.start + 1})") from None
