"""Parse ABINIT's main output (``.abo``): EFG tensors (``prtefg``), SCF history, version.

ABINIT prints the EFG of every atom, in input order, in atomic units
(E_h / (e a0²)) after ``Electric Field Gradient Calculation``: a ``total efg``
block of three rows (Cartesian, the frame of ``rprim``) and, with
``prtefg 3``, a ``point charge efg`` block from the ``ptcharge`` charges.
:func:`parse_output` converts both to V/Å² (× :data:`EFG_AU_IN_V_PER_A2`) and
checks the atom order against the structure the output echoes after the run
(``typat`` and ``xred``) and, if given, against the input structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase.data import chemical_symbols
from numpy.typing import NDArray

from ltoefg.constants import EFG_AU_IN_V_PER_A2
from ltoefg.dft.errors import AbinitOutputError
from ltoefg.dft.inputs import AbinitStructure

__all__ = ["AbinitOutput", "parse_output", "read_output"]

_F = r"([-+]?\d*\.?\d+(?:[eEdD][-+]?\d+)?)"
_RE_VERSION = re.compile(r"^\.Version\s+(\S+)\s+of ABINIT", re.M)
_RE_ETOT = re.compile(rf"^\s*ETOT\s+(\d+)\s+{_F}\s+{_F}\s+{_F}\s+{_F}", re.M)
_RE_CONVERGED = re.compile(r"=>\s*converged\.", re.M)
_RE_ATOM = re.compile(r"^\s*Atom\s+(\d+), typat\s+(\d+):\s+(Point charge )?Cq", re.M)
_RE_ROW = re.compile(rf"^\s*(total efg|point charge efg)\s*:\s+{_F}\s+{_F}\s+{_F}\s*$", re.M)
_RE_TIME = re.compile(rf"^\+Overall time at end \(sec\) : cpu=\s*{_F}\s+wall=\s*{_F}", re.M)
_AFTER = "-outvars: echo values of variables after computation"


@dataclass
class AbinitOutput:
    """What one ABINIT run printed.

    Attributes
    ----------
    version : str
        ABINIT version, e.g. ``"9.6.2"``.
    scf_steps : int
        SCF steps of this run.
    residuals : list of float
        ``nres2`` (squared density residual) of every SCF step.
    converged : bool
        ABINIT reported ``=>converged`` (tolerance reached within ``nstep``).
    completed : bool
        ABINIT reached ``Overall time at end`` (it did not crash or get killed).
    efg : numpy.ndarray or None, shape (natom, 3, 3)
        Total EFG, V/Å² (None if not printed).
    efg_pointcharge : numpy.ndarray or None, shape (natom, 3, 3)
        ABINIT's point-charge EFG (``ptcharge``), V/Å².
    typat : list of int
        Type of every atom (from the EFG blocks, else the final echo).
    symbols : tuple of str
        Chemical symbols of the final echo (``typat`` + ``znucl``).
    scaled_positions : numpy.ndarray or None, shape (natom, 3)
        ``xred`` of the final echo.
    cpu_time_s, wall_time_s : float or None
        ABINIT's own timing (all ranks' CPU; wall).
    """

    version: str = ""
    scf_steps: int = 0
    residuals: list[float] = field(default_factory=list)
    energies_ha: list[float] = field(default_factory=list)
    converged: bool = False
    completed: bool = False
    efg: NDArray[np.float64] | None = None
    efg_pointcharge: NDArray[np.float64] | None = None
    typat: list[int] = field(default_factory=list)
    symbols: tuple[str, ...] = ()
    scaled_positions: NDArray[np.float64] | None = None
    cpu_time_s: float | None = None
    wall_time_s: float | None = None

    @property
    def final_residual(self) -> float | None:
        """``nres2`` of the last SCF step (None without SCF steps)."""
        return self.residuals[-1] if self.residuals else None


def _num(s: str) -> float:
    return float(s.replace("d", "e").replace("D", "e"))


def _echo_values(block: str, key: str, n: int) -> list[float] | None:
    m = re.search(rf"^\s+{key}\s+(.*)$", block, re.M)
    if m is None:
        return None
    vals = re.findall(_F, block[m.start(1) :])
    if len(vals) < n:
        return None
    return [_num(v) for v in vals[:n]]


def _parse_efg(text: str) -> tuple[list[int], dict[str, NDArray[np.float64]]]:
    start = text.find("Electric Field Gradient Calculation")
    if start < 0:
        return [], {}
    body = text[start:]
    atoms = {}
    rows: dict[str, dict[int, list[list[float]]]] = {"total efg": {}, "point charge efg": {}}
    marks = [(m.start(), int(m.group(1)), int(m.group(2))) for m in _RE_ATOM.finditer(body)]
    marks.append((len(body), -1, -1))
    for (pos, iatom, ityp), (nxt, _, _) in zip(marks[:-1], marks[1:], strict=True):
        atoms[iatom] = ityp
        for m in _RE_ROW.finditer(body, pos, nxt):
            rows[m.group(1)].setdefault(iatom, []).append([_num(m.group(k)) for k in (2, 3, 4)])
    natom = len(atoms)
    if sorted(atoms) != list(range(1, natom + 1)):
        raise AbinitOutputError("the EFG section does not list atoms 1…natom in order.")
    out = {}
    for kind, per_atom in rows.items():
        if not per_atom:
            continue
        if sorted(per_atom) != list(range(1, natom + 1)) or any(
            len(v) != 3 for v in per_atom.values()
        ):
            raise AbinitOutputError(f"the EFG section has an incomplete '{kind}' block.")
        out[kind] = np.array([per_atom[i] for i in range(1, natom + 1)]) * EFG_AU_IN_V_PER_A2
    return [atoms[i] for i in range(1, natom + 1)], out


def parse_output(text: str, structure: AbinitStructure | None = None) -> AbinitOutput:
    """Parse the text of an ABINIT ``.abo`` file.

    Parameters
    ----------
    text : str
        The output file text.
    structure : AbinitStructure, optional
        The structure of the input; if given, the echoed atoms must match it
        in order (species and reduced positions to 1e-6).

    Returns
    -------
    AbinitOutput

    Raises
    ------
    AbinitOutputError
        If the EFG section is malformed or the atom order does not match.
    """
    out = AbinitOutput()
    m = _RE_VERSION.search(text)
    out.version = m.group(1) if m else ""
    steps = [(int(m.group(1)), _num(m.group(2)), _num(m.group(5))) for m in _RE_ETOT.finditer(text)]
    out.scf_steps = len(steps)
    out.energies_ha = [e for _, e, _ in steps]
    out.residuals = [r for _, _, r in steps]
    out.converged = _RE_CONVERGED.search(text) is not None
    t = _RE_TIME.search(text)
    out.completed = t is not None
    if t is not None:
        out.cpu_time_s, out.wall_time_s = _num(t.group(1)), _num(t.group(2))
    typat, tensors = _parse_efg(text)
    out.typat = typat
    out.efg = tensors.get("total efg")
    out.efg_pointcharge = tensors.get("point charge efg")
    after = text.find(_AFTER)
    if after >= 0:
        block = text[after:]
        natom_v = _echo_values(block, "natom", 1)
        ntypat_v = _echo_values(block, "ntypat", 1)
        if natom_v is not None and ntypat_v is not None:
            natom, ntypat = int(natom_v[0]), int(ntypat_v[0])
            typ = _echo_values(block, "typat", natom)
            znucl = _echo_values(block, "znucl", ntypat)
            xred = _echo_values(block, "xred", 3 * natom)
            if typ is not None and znucl is not None:
                out.symbols = tuple(chemical_symbols[int(round(znucl[int(k) - 1]))] for k in typ)
                if not out.typat:
                    out.typat = [int(k) for k in typ]
            if xred is not None:
                out.scaled_positions = np.array(xred).reshape(natom, 3)
    if out.efg is not None and out.symbols and len(out.symbols) != len(out.efg):
        raise AbinitOutputError(
            f"the output has {len(out.efg)} EFG tensors but {len(out.symbols)} atoms."
        )
    if structure is not None:
        check_order(out, structure)
    return out


def check_order(out: AbinitOutput, structure: AbinitStructure, tol: float = 1e-6) -> None:
    """Check that an output's atoms are the input's atoms, in the same order.

    Parameters
    ----------
    out : AbinitOutput
    structure : AbinitStructure
        The input structure.
    tol : float
        Largest accepted difference of reduced coordinates (modulo 1).

    Raises
    ------
    AbinitOutputError
        If species, number of atoms or positions differ.
    """
    n = len(structure.symbols)
    if out.efg is not None and len(out.efg) != n:
        raise AbinitOutputError(f"the output has {len(out.efg)} EFG tensors, the input {n} atoms.")
    if out.symbols and tuple(out.symbols) != tuple(structure.symbols):
        raise AbinitOutputError("the output's atom species/order differ from the input's.")
    if out.scaled_positions is not None:
        d = out.scaled_positions - structure.scaled_positions
        d -= np.round(d)
        if np.abs(d).max() > tol:
            i = int(np.abs(d).max(axis=1).argmax())
            raise AbinitOutputError(
                f"atom {i + 1} of the output is not at the input's position (atom order changed)."
            )


def read_output(path: str | Path, structure: AbinitStructure | None = None) -> AbinitOutput:
    """Parse an ABINIT ``.abo`` file (see :func:`parse_output`).

    Raises
    ------
    AbinitOutputError
        If the file is missing or malformed.
    """
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise AbinitOutputError(f"{path}: cannot read the ABINIT output ({exc}).") from None
    try:
        return parse_output(text, structure)
    except AbinitOutputError as exc:
        raise AbinitOutputError(f"{path}: {exc}") from None
