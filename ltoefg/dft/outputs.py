"""Parse Elk's outputs: ``EFG.OUT`` (task 115) and the SCF history in ``INFO.OUT``.

Sign convention: Elk counts the electron charge as positive (its densities
and potentials are those of a positive charge), so the tensor in ``EFG.OUT``
is the negative of the physical EFG, ``V_ij = ∂²φ/∂x_i∂x_j`` of the
electrostatic potential φ, which is the package's convention (the point-charge
labels of :mod:`ltoefg.data.pointcharge` use it). :func:`parse_efg` multiplies
by −1. This is checked, not assumed: for antifluorite Li₂O with one Li moved
off its cubic site, where the EFG at Li is dominated by the surrounding ions
(Li⁺ 1 − γ∞ = 0.73 > 0 keeps the sign), the parsed tensor of the moved Li has
the sign and orientation of the package's point-charge tensor
(``tests/test_dft_elk.py``).

Units: Elk prints atomic units (E_h/(e a0²)); the parser returns V/Å²
(× :data:`ltoefg.constants.EFG_AU_IN_V_PER_A2`). Every file is untrusted: a
wrong tensor count, a non-number, NaN or a truncated file raise
:class:`~ltoefg.dft.errors.DftOutputError` with one sentence naming the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ltoefg.constants import EFG_AU_IN_V_PER_A2
from ltoefg.dft.errors import DftOutputError
from ltoefg.dft.inputs import elk_order

__all__ = [
    "ElkScf",
    "parse_efg",
    "parse_info",
    "read_efg",
    "read_info",
    "read_text",
    "rms_by_loop",
    "scf_iterations",
]

#: Hartree in eV (CODATA 2018), for the band gap.
HARTREE_EV = 27.211386245988

_F = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?|NaN|-?Infinity)"
_RE_EFG = re.compile(r"^\s*Species\s*:\s*(\d+)\s*\((\w+)\),\s*atom\s*:\s*(\d+)\s*$", re.M)
_RE_TENSOR = re.compile(r"EFG tensor\s*:\s*\n" + r"\s*(\S+)\s+(\S+)\s+(\S+)\s*\n" * 3)
_RE_VERSION = re.compile(r"Elk version (\S+) started")
_RE_LOOP = re.compile(r"^\|\s*Loop number\s*:\s*(\d+)\s*\|", re.M)
_RE_RMS = re.compile(rf"^RMS change in Kohn-Sham potential \(target\)\s*:\s*{_F}", re.M)
_RE_FERMI = re.compile(rf"^\s*Fermi\s*:\s*{_F}", re.M)
_RE_GAP = re.compile(rf"^Estimated indirect band gap\s*:\s*{_F}", re.M)
_RE_WROTE = re.compile(r"^Wrote STATE\.OUT", re.M)


def _float(s: str, name: str) -> float:
    try:
        x = float(s.replace("D", "E").replace("d", "e"))
    except ValueError:
        raise DftOutputError(f"{name}: {s!r} is not a number.") from None
    if not math.isfinite(x):
        raise DftOutputError(f"{name}: a value is {s} (the run went wrong; delete and rerun).")
    return x


def parse_efg(text: str, symbols: list[str] | tuple[str, ...], name: str = "EFG.OUT") -> NDArray:
    """EFG tensors from the text of Elk's ``EFG.OUT``, V/Å², physical sign, ase order.

    Parameters
    ----------
    text : str
        File text.
    symbols : sequence of str
        Chemical symbols of the structure, ase order (gives Elk's atom order,
        :func:`~ltoefg.dft.inputs.elk_order`).
    name : str
        File name for error messages.

    Returns
    -------
    numpy.ndarray, shape (natom, 3, 3)

    Raises
    ------
    DftOutputError
        Wrong number of tensors, species in another order than the structure's
        Elk order, non-numbers or NaN.
    """
    heads = _RE_EFG.findall(text)
    blocks = _RE_TENSOR.findall(text)
    n = len(symbols)
    if len(heads) != n or len(blocks) != n:
        raise DftOutputError(
            f"{name}: {len(blocks)} EFG tensors for {n} atoms (truncated or of another structure)."
        )
    order = elk_order(symbols)
    expected = [symbols[i] for i in order]
    if [h[1] for h in heads] != expected:
        raise DftOutputError(f"{name}: the species order differs from the structure's Elk order.")
    tensors = np.array([[_float(v, name) for v in b] for b in blocks]).reshape(n, 3, 3)
    out = np.empty_like(tensors)
    out[order] = tensors
    return -EFG_AU_IN_V_PER_A2 * out


def read_text(path: str | Path, what: str) -> str:
    """The text of an Elk file; a missing or unreadable one raises DftOutputError naming it."""
    try:
        return Path(path).read_text(errors="replace")
    except OSError as exc:
        raise DftOutputError(f"{path}: cannot read {what} ({exc.strerror}).") from None


def read_efg(path: str | Path, symbols: list[str] | tuple[str, ...]) -> NDArray:
    """:func:`parse_efg` of a file.

    Raises
    ------
    DftOutputError
        If the file is missing or unreadable, or as :func:`parse_efg`.
    """
    return parse_efg(read_text(path, "the EFG file"), symbols, str(path))


@dataclass
class ElkScf:
    """The SCF history of one Elk ground-state run, from ``INFO.OUT``.

    Attributes
    ----------
    version : str
        Elk version, e.g. ``"8.4.30"``.
    iterations : int
        SCF iterations whose STATE.OUT was written.
    rms_dv : list of float
        RMS change of the Kohn–Sham potential per iteration (from the second on).
    converged : bool
        Elk printed ``Convergence targets achieved``.
    stopped : bool
        Elk printed ``Self-consistent loop stopped`` (converged, ``maxscl``
        reached, or a STOP file).
    finished : bool
        Elk printed ``Elk version … stopped`` (the run ended, not killed).
    fermi_ha : float or None
        Fermi energy of the last iteration, Ha.
    gap_ha : float or None
        Estimated indirect band gap of the last iteration (on the k-mesh), Ha.
    resumed : bool
        The run started from STATE.OUT (task 1).
    """

    version: str
    iterations: int
    rms_dv: list[float] = field(default_factory=list)
    converged: bool = False
    stopped: bool = False
    finished: bool = False
    fermi_ha: float | None = None
    gap_ha: float | None = None
    resumed: bool = False

    @property
    def final_rms_dv(self) -> float | None:
        """RMS change of the potential of the last iteration (None before the second)."""
        return self.rms_dv[-1] if self.rms_dv else None

    @property
    def gap_ev(self) -> float | None:
        """:attr:`gap_ha` in eV."""
        return None if self.gap_ha is None else self.gap_ha * HARTREE_EV


def scf_iterations(text: str) -> int:
    """SCF iterations whose STATE.OUT is written, counted in ``INFO.OUT`` text (cheap)."""
    # the final "Wrote STATE.OUT" after "Self-consistent loop stopped" is not an iteration
    head = text.split("Self-consistent loop stopped", 1)[0]
    return len(_RE_WROTE.findall(head))


def rms_by_loop(text: str, name: str = "INFO.OUT") -> dict[int, float]:
    """RMS change of the Kohn–Sham potential printed in each SCF loop of ``INFO.OUT`` text.

    Loops that have not printed it (the first of a run from atomic densities,
    or the one still running) are absent.
    """
    out = {}
    parts = _RE_LOOP.split(text)
    for number, body in zip(parts[1::2], parts[2::2], strict=True):
        m = _RE_RMS.search(body)
        if m:
            out[int(number)] = _float(m.group(1), name)
    return out


def parse_info(text: str, name: str = "INFO.OUT") -> ElkScf:
    """The SCF history in the text of Elk's ``INFO.OUT`` (ground state, task 0 or 1).

    Raises
    ------
    DftOutputError
        If the text is not an Elk INFO.OUT, or holds a non-number or NaN.
    """
    m = _RE_VERSION.search(text)
    if m is None:
        raise DftOutputError(f"{name}: not an Elk INFO.OUT (no 'Elk version … started').")
    fermi = _RE_FERMI.findall(text)
    gap = _RE_GAP.findall(text)
    return ElkScf(
        version=m.group(1),
        iterations=scf_iterations(text),
        rms_dv=[_float(x, name) for x in _RE_RMS.findall(text)],
        converged="Convergence targets achieved" in text,
        stopped="Self-consistent loop stopped" in text,
        finished=re.search(r"Elk version \S+ stopped", text) is not None,
        fermi_ha=_float(fermi[-1], name) if fermi else None,
        gap_ha=_float(gap[-1], name) if gap else None,
        resumed="resuming from STATE.OUT" in text,
    )


def read_info(path: str | Path) -> ElkScf:
    """:func:`parse_info` of a file.

    Raises
    ------
    DftOutputError
        If the file is missing or unreadable, or as :func:`parse_info`.
    """
    return parse_info(read_text(path, "Elk's INFO.OUT"), str(path))
