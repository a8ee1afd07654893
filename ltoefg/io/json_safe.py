"""Read JSON that other people wrote (leaderboard entries) within fixed bounds.

:func:`load` refuses, with a one-clause :class:`JSONBoundsError`, a file larger
than :data:`MAX_BYTES`, integers of more than :data:`MAX_INT_DIGITS` digits
(a 400-digit integer cannot be formatted as a float), ``NaN``/``Infinity``,
and nesting deeper than :data:`MAX_DEPTH` (before Python's recursion limit is
reached). :func:`check_values` walks a parsed value and refuses non-finite or
implausibly large numbers, huge strings and long lists.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

#: Largest JSON file read, bytes.
MAX_BYTES = 1 << 20
#: Deepest nesting of objects and arrays.
MAX_DEPTH = 16
#: Most digits of an integer literal.
MAX_INT_DIGITS = 15
#: Largest |number| accepted anywhere.
MAX_MAGNITUDE = 1e12
#: Longest string accepted anywhere, characters.
MAX_STRING = 20_000
#: Most items of one array or object.
MAX_ITEMS = 10_000


class JSONBoundsError(ValueError):
    """JSON outside the bounds of this module (message: one clause)."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise JSONBoundsError(f"an integer has {len(text.lstrip('-'))} digits")
    return int(text)


def _constant(name: str) -> float:
    raise JSONBoundsError(f"{name} is not a number JSON allows here")


def _depth(text: str) -> int:
    """Deepest bracket nesting of JSON text (strings skipped), without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def load(path: Path) -> Any:
    """Parse a JSON file within the bounds above.

    Raises
    ------
    OSError
        The file cannot be read.
    JSONBoundsError, ValueError, UnicodeDecodeError
        Too large, too deep, not JSON, bad numbers.
    """
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise JSONBoundsError(f"the file has {size} bytes, more than {MAX_BYTES}")
    text = path.read_text(encoding="utf-8")
    if _depth(text) > MAX_DEPTH:
        raise JSONBoundsError(f"it is nested more than {MAX_DEPTH} levels deep")
    return json.loads(text, parse_int=_int, parse_constant=_constant)


def check_values(value: Any, where: str = "") -> None:
    """Refuse non-finite or huge numbers, huge strings, long containers, deep nesting.

    Raises
    ------
    JSONBoundsError
        Naming the key path of the first bad value.
    """
    stack: list[tuple[Any, str, int]] = [(value, where or "<top>", 0)]
    while stack:
        item, at, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise JSONBoundsError(f"{at} is nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, int):
            if abs(item) > MAX_MAGNITUDE:
                raise JSONBoundsError(f"{at} = {str(item)[:20]}… is implausibly large")
        elif isinstance(item, float):
            if not math.isfinite(item) or abs(item) > MAX_MAGNITUDE:
                raise JSONBoundsError(f"{at} = {item!r} is not a finite number of sane size")
        elif isinstance(item, str):
            if len(item) > MAX_STRING:
                raise JSONBoundsError(f"{at} is a string of {len(item)} characters")
        elif isinstance(item, (list, tuple, dict)):
            if len(item) > MAX_ITEMS:
                raise JSONBoundsError(f"{at} has {len(item)} items")
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, sub in pairs:
                if not isinstance(key, (str, int)):
                    raise JSONBoundsError(f"{at} has a key that is not a string")
                stack.append(
                    (sub, f"{at}.{key}" if isinstance(key, str) else f"{at}[{key}]", depth + 1)
                )
        else:
            raise JSONBoundsError(f"{at} is a {type(item).__name__}, not a JSON value")
