"""Test helpers that detect reads outside the files the evaluator was given.

* :class:`Tripwire` watches FIFOs used as the foreign targets of hostile files
  (external raw storage, external links, virtual-dataset sources). Opening a
  FIFO for reading blocks until a writer appears; the tripwire polls with a
  non-blocking open for writing, which succeeds only while a reader holds the
  FIFO open. So any open by the HDF5 C library (or anyone) is seen, and the
  reader is released instead of hanging.
* :func:`python_opens` records the paths that Python-level code opens (audit
  hook ``open``), for the files a C library does not open.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_OPENED: list[str] = []
_RECORDING = threading.Event()
_TRIPWIRE_THREAD = "ltoefg-test-tripwire"


def _audit(event: str, args: tuple) -> None:
    if (
        event == "open"
        and _RECORDING.is_set()
        and isinstance(args[0], (str, bytes, os.PathLike))
        and threading.current_thread().name != _TRIPWIRE_THREAD
    ):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@contextmanager
def python_opens() -> Iterator[list[str]]:
    """Collect the paths opened by Python code inside the block (absolute, resolved)."""
    _OPENED.clear()
    _RECORDING.set()
    seen: list[str] = []
    try:
        yield seen
    finally:
        _RECORDING.clear()
        seen.extend(str(Path(p).resolve()) for p in _OPENED)


def make_fifo(folder: Path, name: str = "secret.fifo") -> Path:
    """A FIFO in ``folder`` (created once)."""
    path = folder / name
    if not path.exists():
        os.mkfifo(path)
    return path


class Tripwire:
    """Context manager: records which of ``fifos`` anyone opened for reading."""

    def __init__(self, fifos: list[Path]) -> None:
        self.fifos = list(fifos)
        self.touched: set[Path] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name=_TRIPWIRE_THREAD)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for fifo in self.fifos:
                try:
                    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
                except OSError as exc:
                    if exc.errno not in (errno.ENXIO, errno.ENOENT):
                        raise
                    continue
                self.touched.add(fifo)
                try:
                    os.write(fd, b"tripwire: this byte is outside the submission\n")
                except OSError:
                    pass
                os.close(fd)
            time.sleep(0.002)

    def __enter__(self) -> Tripwire:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.01)  # one more poll after the block
        self._stop.set()
        self._thread.join(timeout=5)
