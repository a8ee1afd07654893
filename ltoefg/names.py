"""Names that may become parts of file names, and free text that may be printed.

A data-set version name, a split or a slug reaches file names (leaderboard
entries, plot files); it must match :data:`NAME_PATTERN`: 1–64 characters,
letters, digits, ``.``, ``_``, ``-``, starting with a letter or digit — so no
``/``, no ``..`` prefix, no absolute path, no control character. Free text (a
model name) may hold anything printable up to :data:`MAX_TEXT_CHARS`
characters, but no control characters (newlines included), so it cannot forge
lines of a printed table.
"""

from __future__ import annotations

import re
import unicodedata

#: A name that may become (part of) a file name.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: Longest accepted free-text field (model name), characters.
MAX_TEXT_CHARS = 200


def is_name(text: object) -> bool:
    """Whether ``text`` is a str matching :data:`NAME_PATTERN` in full."""
    return isinstance(text, str) and NAME_PATTERN.fullmatch(text) is not None


def name_problem(text: object) -> str | None:
    """Why ``text`` is not a valid name (a clause), or None if it is one."""
    if not isinstance(text, str):
        return f"{text!r} is not a string"
    if is_name(text):
        return None
    return (
        f"{text[:80]!r} is not a plain name (1-64 letters, digits, '.', '_' or '-', "
        "starting with a letter or digit; no paths)"
    )


def text_problem(text: object, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    """Why free text is refused (a clause), or None: too long or holding control characters."""
    if not isinstance(text, str):
        return f"{text!r} is not a string"
    if len(text) > max_chars:
        return f"is {len(text)} characters long, more than {max_chars}"
    bad = next((ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")), None)
    if bad is not None:
        return f"holds the control character U+{ord(bad):04X}"
    return None
