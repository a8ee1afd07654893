"""Writing output files: atomically, and with one-sentence errors that name the path.

Every file the evaluator and the leaderboard write goes through here: a
temporary file in the destination folder, then :func:`os.replace`, so a reader
never sees half a file and a failure leaves the old file (or nothing) behind.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ltoefg.errors import LtoefgError


def non_finite_values(obj: Any, where: str = "") -> Iterator[str]:
    """Dotted paths of every NaN or ±inf float inside nested dicts and lists.

    Parameters
    ----------
    obj : Any
        A JSON-like value (dicts, lists, tuples, numbers, strings, None).
    where : str
        Prefix of the yielded paths.
    """
    if isinstance(obj, float):
        if not math.isfinite(obj):
            yield where or "<value>"
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from non_finite_values(value, f"{where}.{key}" if where else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from non_finite_values(value, f"{where}[{i}]")


def json_text(obj: Any, path: str | os.PathLike[str]) -> str:
    """``obj`` as indented JSON (UTF-8 text, trailing newline); refuses NaN and inf.

    Raises
    ------
    LtoefgError
        ``obj`` holds a non-finite number (named by its key path) or a value
        JSON cannot represent.
    """
    bad = list(non_finite_values(obj))
    if bad:
        raise LtoefgError(
            f"{path}: not written, because the value at {bad[0]!r} is not a finite number "
            "(JSON has no NaN or inf); this is a bug, please report it."
        )
    try:
        return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise LtoefgError(f"{path}: not written, the content is not JSON ({exc}).") from None


def write_text_atomic(path: str | os.PathLike[str], text: str | bytes) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename.

    Raises
    ------
    LtoefgError
        One sentence naming ``path`` when the operating system refuses
        (missing folder, no permission, a folder in the way, disk full).
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise output_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise output_error(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (see :func:`json_text`)."""
    return write_text_atomic(path, json_text(obj, path))


def output_error(path: str | os.PathLike[str], exc: OSError) -> LtoefgError:
    """The one-sentence error for an operating-system failure on an output path."""
    reason = exc.strerror or type(exc).__name__
    return LtoefgError(f"{path}: cannot write this output ({reason}); choose another path.")
