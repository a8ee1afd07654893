"""Writing output files: checked up front, atomically, all or nothing, errors that name the path.

Every file ``ltoefg`` writes (evaluation report and plots, submission template,
data-set builds, leaderboard entries and rendered tables, fetched data) goes
through here:

1. :func:`check_file_target` / :func:`check_dir_target` before any work: the
   folder exists, the target is not a folder (or not a file), and a probe file
   can be created there — so a bad ``--json``/``--plots``/``--out`` fails in one
   sentence before anything is computed;
2. the content is made in memory;
3. :func:`commit` writes every file of one command to a temporary name in its
   folder first and only then renames them all into place, so a failure
   (disk full, permissions) leaves none of them behind and old files intact.

An :class:`OSError` on an output path becomes an :class:`~ltoefg.errors.LtoefgError`
with one sentence naming the path (exit status 2 in the CLI).

Files get the permissions the user's umask gives a newly created file
(0o666 & ~umask, e.g. 0o644 under umask 022), not the 0o600 of
:func:`tempfile.mkstemp` (:func:`new_file_mode`, :func:`apply_umask`).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
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
    commit({path: text})
    return path


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (see :func:`json_text`)."""
    return write_text_atomic(path, json_text(obj, path))


def current_umask() -> int:
    """The process umask (read without changing it where /proc allows, else set and restored)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """Permission bits of a newly created regular file under the current umask (0o666 & ~umask)."""
    return 0o666 & ~current_umask()


def apply_umask(target: int | str | os.PathLike[str]) -> None:
    """Give a file made by :func:`tempfile.mkstemp` (0o600) the mode of a normally created file.

    Parameters
    ----------
    target : int or path-like
        An open file descriptor or a path.
    """
    if isinstance(target, int):
        os.fchmod(target, new_file_mode())
    else:
        os.chmod(target, new_file_mode())


def output_error(path: str | os.PathLike[str], exc: OSError) -> LtoefgError:
    """The one-sentence error for an operating-system failure on an output path."""
    reason = exc.strerror or type(exc).__name__
    return LtoefgError(f"{path}: cannot write this output ({reason}); choose another path.")


def _probe(folder: Path, target: Path) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=".ltoefg-probe.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise output_error(target, exc) from None
    os.close(fd)
    Path(tmp).unlink(missing_ok=True)


def check_file_target(path: str | os.PathLike[str], what: str) -> Path:
    """Check that ``path`` can be written as a file, before any work is done.

    Parameters
    ----------
    path : str or path-like
        The output file.
    what : str
        What it is, for the message (e.g. ``"JSON report"``).

    Raises
    ------
    LtoefgError
        The folder is missing or not a folder, ``path`` is a folder or not a
        regular file, or nothing can be created in the folder.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise LtoefgError(f"{path}: is a folder; give a file name for the {what}.")
    if path.exists() and not path.is_file():
        raise LtoefgError(f"{path}: is not a regular file; choose another path for the {what}.")
    if not folder.exists():
        raise LtoefgError(f"{path}: the folder {folder} does not exist; create it first.")
    if not folder.is_dir():
        raise LtoefgError(f"{path}: {folder} is not a folder; choose another path for the {what}.")
    _probe(folder, path)
    return path


def check_dir_target(path: str | os.PathLike[str], what: str) -> Path:
    """Check that ``path`` is (or can become) a folder we can write files into.

    Raises
    ------
    LtoefgError
        ``path`` is a file, its parent is missing, or nothing can be created.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise LtoefgError(f"{path}: is a file, not a folder; give a folder for the {what}.")
    if path.is_dir():
        _probe(path, path)
        return path
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise LtoefgError(f"{path}: the folder {parent} does not exist; create it first.")
    _probe(parent, path)
    return path


def commit(files: Mapping[Path, str | bytes], new_dirs: tuple[Path, ...] = ()) -> list[Path]:
    """Write all ``files`` or none: stage each as a temporary file, then rename them all.

    Parameters
    ----------
    files : mapping
        Destination path -> content (text is written as UTF-8).
    new_dirs : tuple of pathlib.Path
        Folders to create first (and to remove again, if still empty, on failure).

    Returns
    -------
    list of pathlib.Path
        The written paths, in the order given.

    Raises
    ------
    LtoefgError
        One sentence naming the path that failed; nothing of this call remains.
    """
    made: list[Path] = []
    staged: list[tuple[str, Path]] = []
    current = Path(".")
    try:
        for folder in new_dirs:
            current = folder
            if not folder.is_dir():
                folder.mkdir()
                made.append(folder)
        for path, content in files.items():
            current = path
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((tmp, path))
            apply_umask(fd)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content.encode("utf-8") if isinstance(content, str) else content)
        for tmp, path in staged:
            current = path
            os.replace(tmp, path)
    except OSError as exc:
        _undo(staged, made)
        raise output_error(current, exc) from None
    except BaseException:
        _undo(staged, made)
        raise
    return list(files)


def _undo(staged: list[tuple[str, Path]], made: list[Path]) -> None:
    for tmp, _ in staged:
        Path(tmp).unlink(missing_ok=True)
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:
            pass
