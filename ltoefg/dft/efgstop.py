"""The stop on the change of the EFGs during an SCF (pure logic, no files, no Elk).

A history is a list of :class:`EfgPoint`: the EFG of every atom computed from
the saved state after SCF iteration ``n`` (Elk task 115 on a copy of
STATE.OUT). The change at ``n`` is, per element, the largest ``|ΔV_ij|`` over
the sites of that element between the EFGs at ``n`` and at ``n − window``
(:func:`changes_at`; if the monitor missed iteration ``n − window`` — it can
when an iteration is faster than a poll or a snapshot was not whole — the
latest checked iteration before it stands in, which compares over a longer
span and so is stricter). The criterion of an
:class:`~ltoefg.dft.protocol.EfgStop` holds when the changes of every element
are below their tolerances at the last ``consecutive`` checked iterations
(:func:`criterion_met`). EFGs in V/Å².
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ltoefg.dft.protocol import EfgStop

__all__ = ["EfgPoint", "change_history", "changes_at", "criterion_met"]


@dataclass(frozen=True)
class EfgPoint:
    """The EFGs after one SCF iteration.

    Attributes
    ----------
    iteration : int
        SCF iteration (counted over all runs of the structure, from 1).
    efg : numpy.ndarray, shape (natom, 3, 3)
        EFG of every atom, V/Å², ase order.
    rms_dv : float or None
        Elk's RMS change of the Kohn–Sham potential at that iteration.
    """

    iteration: int
    efg: NDArray[np.float64]
    rms_dv: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"iteration": self.iteration, "rms_dv": self.rms_dv, "efg": self.efg.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EfgPoint:
        """Inverse of :meth:`to_dict`."""
        return cls(int(d["iteration"]), np.asarray(d["efg"], float), d.get("rms_dv"))


def changes_at(
    history: Sequence[EfgPoint], iteration: int, window: int, symbols: Sequence[str]
) -> dict[str, float] | None:
    """Per element, max ``|ΔV_ij|`` (V/Å²) between the EFGs at ``iteration`` and ``window`` before.

    The latest point at or before ``iteration − window`` stands in for a
    missing one. Returns None if the history lacks ``iteration`` or any point
    that early.
    """
    by_it = {p.iteration: p for p in history}
    a = by_it.get(iteration)
    earlier = [p for p in history if p.iteration <= iteration - window]
    if a is None or not earlier:
        return None
    b = max(earlier, key=lambda p: p.iteration)
    d = np.abs(a.efg - b.efg).max(axis=(1, 2))
    sym = np.asarray(symbols)
    return {el: float(d[sym == el].max()) for el in dict.fromkeys(symbols)}


def _passes(changes: dict[str, float] | None, stop: EfgStop) -> bool:
    return changes is not None and all(v < stop.tol(el) for el, v in changes.items())


def criterion_met(history: Sequence[EfgPoint], stop: EfgStop, symbols: Sequence[str]) -> bool:
    """Whether the EFG-change criterion holds at the last iteration of the history.

    Parameters
    ----------
    history : sequence of EfgPoint
        EFGs per checked iteration (any order).
    stop : EfgStop
        Window, tolerances, consecutive checks.
    symbols : sequence of str
        Chemical symbols, ase order.
    """
    its = sorted(p.iteration for p in history)[-stop.consecutive :]
    if len(its) < stop.consecutive:
        return False
    return all(_passes(changes_at(history, n, stop.window, symbols), stop) for n in its)


def change_history(
    history: Sequence[EfgPoint], window: int, symbols: Sequence[str]
) -> list[dict[str, Any]]:
    """One record per iteration of the history, for the result file.

    Returns
    -------
    list of dict
        ``{"iteration", "rms_dv", "max_abs_dv"}`` with ``max_abs_dv`` the
        per-element change against ``iteration − window`` (V/Å²; None where
        the earlier EFG is missing), in iteration order.
    """
    return [
        {
            "iteration": p.iteration,
            "rms_dv": p.rms_dv,
            "max_abs_dv": changes_at(history, p.iteration, window, symbols),
        }
        for p in sorted(history, key=lambda p: p.iteration)
    ]
