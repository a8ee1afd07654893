"""Watch a running Elk SCF: the EFG after every iteration, and the STOP file when they settle.

With ``nwrite 1`` Elk writes STATE.OUT after every SCF iteration and then
prints ``Wrote STATE.OUT`` to INFO.OUT. :class:`EfgMonitor` polls INFO.OUT;
on a new iteration it copies STATE.OUT into a side folder
(:data:`SIDE_FOLDER`, which holds the same ``elk.in`` with ``tasks 115``),
checks that the copy is whole (:func:`snapshot`), computes the EFG there with
one thread (a few seconds) and adds it to the history. When the protocol's
:class:`~ltoefg.dft.protocol.EfgStop` criterion holds it creates the file
``STOP`` in the run folder: Elk sees it at the end of the iteration in
progress (``Info(checkstop): STOP file exists``; Elk deletes the file), runs
one more iteration, writes STATE.OUT and exits cleanly (measured with Elk
8.4.30). The last good snapshot stays in the side folder, so a run
killed while writing STATE.OUT can resume from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from numpy.typing import NDArray

from ltoefg.dft.efgstop import EfgPoint, criterion_met
from ltoefg.dft.errors import DftOutputError
from ltoefg.dft.outputs import read_efg, rms_by_loop, scf_iterations
from ltoefg.dft.protocol import EfgStop

__all__ = ["SIDE_FOLDER", "STOP_FILE", "EfgMonitor", "run_elk_task", "snapshot"]

#: Sub-folder of a run folder where the monitor computes the EFG of snapshots.
SIDE_FOLDER = "efg-monitor"
#: File whose presence makes Elk end its SCF after the current iteration.
STOP_FILE = "STOP"


def snapshot(src: Path, dst: Path, expected_size: int | None = None) -> bool:
    """Copy ``src`` to ``dst`` if the copy is provably whole.

    The copy is kept only if ``src`` had the same size and modification time
    before and after copying, the copy has that size, and (if given) the size
    equals ``expected_size`` (the previous snapshot's: STATE.OUT has a fixed
    size for one structure and protocol). Otherwise ``dst`` is left as it was.

    Returns
    -------
    bool
        Whether ``dst`` now holds a whole copy.
    """
    tmp = dst.with_name(dst.name + ".part")
    try:
        before = os.stat(src)
        shutil.copyfile(src, tmp)
        after = os.stat(src)
        copied = os.stat(tmp).st_size
    except OSError:
        tmp.unlink(missing_ok=True)
        return False
    whole = (before.st_size, before.st_mtime_ns) == (after.st_size, after.st_mtime_ns)
    whole = whole and copied == before.st_size > 0
    if expected_size is not None:
        whole = whole and copied == expected_size
    if not whole:
        tmp.unlink(missing_ok=True)
        return False
    os.replace(tmp, dst)
    return True


def run_elk_task(
    folder: Path, executable: str, threads: int, timeout_s: float, log_name: str = "elk.log"
) -> None:
    """Run Elk to completion in ``folder`` (its ``elk.in`` says which task).

    Raises
    ------
    DftOutputError
        If Elk exits non-zero, prints an ``Error(…)`` line, does not end with
        ``Elk code stopped``, or exceeds ``timeout_s``.
    """
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    (folder / "RUNNING").unlink(missing_ok=True)
    log = folder / log_name
    try:
        with open(log, "w") as fh:
            res = subprocess.run(
                [executable],
                cwd=folder,
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout_s,
            )
    except subprocess.TimeoutExpired:
        raise DftOutputError(f"{log}: Elk did not finish within {timeout_s:g} s.") from None
    text = log.read_text(errors="replace")
    error = next((ln.strip() for ln in text.splitlines() if ln.startswith("Error(")), None)
    if res.returncode != 0 or error is not None or "Elk code stopped" not in text:
        raise DftOutputError(
            f"{log}: Elk failed (exit status {res.returncode}): {error or 'no error message'}."
        )


class EfgMonitor:
    """Compute the EFG after every SCF iteration of a running Elk and stop it when they settle.

    Parameters
    ----------
    folder : pathlib.Path
        The run folder (Elk's working directory).
    symbols : sequence of str
        Chemical symbols, ase order.
    stop : EfgStop or None
        The criterion (None: only record the history, never stop).
    compute_efg : callable
        ``compute_efg(side_folder) -> (natom, 3, 3)`` EFG in V/Å², ase order,
        of the STATE.OUT in the side folder (default in the runner: Elk task
        115 with one thread).
    offset : int
        SCF iterations of earlier runs of this structure (the history counts
        iterations over all runs).
    history : list of EfgPoint
        History so far (extended in place).
    on_update : callable, optional
        Called after each new point (e.g. to save the history).
    """

    def __init__(
        self,
        folder: Path,
        symbols: Sequence[str],
        stop: EfgStop | None,
        compute_efg: Callable[[Path], NDArray],
        offset: int = 0,
        history: list[EfgPoint] | None = None,
        on_update: Callable[[], None] | None = None,
    ) -> None:
        self.folder = folder
        self.side = folder / SIDE_FOLDER
        self.symbols = list(symbols)
        self.stop = stop
        self.compute_efg = compute_efg
        self.offset = offset
        self.history = history if history is not None else []
        self.on_update = on_update
        self.seen = 0  # iterations of the current run already handled
        self.skipped: list[int] = []  # iterations whose snapshot or EFG failed
        self.errors: list[str] = []
        self.efg_seconds: list[float] = []  # wall time of each EFG computation
        self.stop_requested = False

    def snapshot_size(self) -> int | None:
        """Size of the last good STATE.OUT snapshot, bytes (None if there is none)."""
        p = self.side / "STATE.OUT"
        return p.stat().st_size if p.is_file() else None

    def poll(self, compute: bool = True) -> bool:
        """Handle a new iteration, if any; True once the STOP file has been created.

        Parameters
        ----------
        compute : bool
            Compute the EFG of the new iteration and check the criterion
            (False: only keep a whole snapshot of STATE.OUT, e.g. while Elk is
            being stopped).
        """
        info = self.folder / "INFO.OUT"
        try:
            text = info.read_text(errors="replace")
        except OSError:
            return self.stop_requested
        n = scf_iterations(text)
        if n <= self.seen:
            return self.stop_requested
        self.seen = n
        iteration = self.offset + n
        if not snapshot(self.folder / "STATE.OUT", self.side / "STATE.OUT", self.snapshot_size()):
            self.skipped.append(iteration)
            return self.stop_requested
        if not compute:
            return self.stop_requested
        t0 = time.monotonic()
        try:
            efg = self.compute_efg(self.side)
            self.efg_seconds.append(time.monotonic() - t0)
            rms = rms_by_loop(text, str(info)).get(n)
        except DftOutputError as exc:
            self.skipped.append(iteration)
            self.errors.append(str(exc))
            return self.stop_requested
        self.history.append(EfgPoint(iteration, efg, rms))
        if self.on_update is not None:
            self.on_update()
        if (
            self.stop is not None
            and not self.stop_requested
            and criterion_met(self.history, self.stop, self.symbols)
        ):
            (self.folder / STOP_FILE).touch()
            self.stop_requested = True
        return self.stop_requested


def elk_efg_of_side(
    executable: str, symbols: Sequence[str], timeout_s: float = 600.0
) -> Callable[[Path], NDArray]:
    """The default ``compute_efg`` of :class:`EfgMonitor`: Elk task 115 with one thread."""

    def compute(side: Path) -> NDArray:
        (side / "EFG.OUT").unlink(missing_ok=True)
        run_elk_task(side, executable, threads=1, timeout_s=timeout_s)
        return read_efg(side / "EFG.OUT", list(symbols))

    return compute
