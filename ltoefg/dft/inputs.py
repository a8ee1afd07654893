"""ABINIT input files from ase.Atoms and a :class:`~ltoefg.dft.protocol.Protocol`.

The writer keeps the site order of the Atoms: atom ``i`` of the input (and of
every ABINIT output) is ``atoms[i]``. Types are the protocol's elements that
occur in the structure, in protocol order. The cell goes in as ``rprim`` rows
in Å with ``acell 3*1.0 angstrom``; positions as reduced coordinates (``xred``)
with 14 decimals, so :func:`parse_structure` gives back the structure to
≤ 1e-12 Å.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, chemical_symbols
from numpy.typing import NDArray

from ltoefg.dft.errors import AbinitOutputError, DftInputError
from ltoefg.dft.paw import ABINIT_DEFAULT_PAWOVLP, max_overlap_percent
from ltoefg.dft.protocol import Protocol

__all__ = ["AbinitStructure", "check_structure", "parse_structure", "write_input"]


@dataclass(frozen=True)
class AbinitStructure:
    """The structure an ABINIT input describes.

    Attributes
    ----------
    cell : numpy.ndarray, shape (3, 3)
        Lattice vectors (rows), Å.
    symbols : tuple of str
        Chemical symbol of every atom, in input order.
    scaled_positions : numpy.ndarray, shape (natom, 3)
        Reduced coordinates.
    """

    cell: NDArray[np.float64]
    symbols: tuple[str, ...]
    scaled_positions: NDArray[np.float64]

    def to_atoms(self) -> Atoms:
        """The structure as periodic ase.Atoms."""
        return Atoms(
            symbols=list(self.symbols),
            cell=self.cell,
            scaled_positions=self.scaled_positions,
            pbc=True,
        )


def check_structure(atoms: Atoms, protocol: Protocol) -> None:
    """Refuse a structure the protocol cannot compute.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic structure.
    protocol : Protocol

    Raises
    ------
    DftInputError
        No atoms, a non-periodic or singular cell, an element without a PAW
        dataset, or PAW spheres overlapping more than ``protocol.pawovlp`` %.
    """
    if len(atoms) == 0:
        raise DftInputError("the structure has no atoms.")
    if not all(atoms.pbc):
        raise DftInputError("the structure must be periodic in all three directions.")
    if abs(np.linalg.det(atoms.cell.array)) < 1e-6:
        raise DftInputError("the structure's cell is singular; give three lattice vectors.")
    for el in sorted(set(atoms.get_chemical_symbols())):
        protocol.dataset(el)
    radii = {d.element: d.r_paw_bohr for d in protocol.datasets}
    overlap = max_overlap_percent(atoms, radii)
    if overlap > protocol.pawovlp:
        raise DftInputError(
            f"PAW spheres overlap by {overlap:.1f} % (> pawovlp {protocol.pawovlp:g} %, "
            f"ABINIT's default is {ABINIT_DEFAULT_PAWOVLP:g} %); the structure has atoms too "
            "close together for these PAW datasets."
        )


def _fmt(x: float) -> str:
    return f"{x: .14f}"


def write_input(
    atoms: Atoms,
    protocol: Protocol,
    psp_dir: str | Path,
    restart_density: str | Path | None = None,
    title: str = "",
    restart_wavefunctions: str | Path | None = None,
    prtwf: int = -1,
) -> str:
    """The text of an ABINIT input that computes the EFG of every atom.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic structure (Å); site order is kept.
    protocol : Protocol
        Settings.
    psp_dir : str or pathlib.Path
        Folder of the PAW datasets (Debian: ``/usr/share/abinit/psp``).
    restart_density : str or pathlib.Path, optional
        A density file (``*_DEN``) to start the SCF from (``getden_filepath``);
        ABINIT interpolates it if the FFT grid differs.
    title : str
        A comment line at the top of the file.
    restart_wavefunctions : str or pathlib.Path, optional
        A wavefunction file (``*_WFK``) to start from (``getwfk_filepath``;
        ABINIT converts it to another cutoff or k-mesh where needed). Takes
        precedence over ``restart_density``.
    prtwf : int
        ABINIT's ``prtwf``: -1 (default) writes the wavefunctions only when the
        SCF did not converge (a stop, a timeout, ``nstep`` reached), so a rerun
        continues from them; 1 always; 0 never.

    Notes
    -----
    ``chkexit 1`` is always set: ABINIT ends cleanly after the current SCF step
    when a file ``abinit.exit`` appears in its folder (the runner's graceful stop).

    Returns
    -------
    str
        The input file text.
    """
    check_structure(atoms, protocol)
    symbols = atoms.get_chemical_symbols()
    types = [el for el in protocol.elements if el in set(symbols)]
    typat = [types.index(s) + 1 for s in symbols]
    lines = []
    if title:
        lines += [f"# {line}" for line in title.splitlines()]
    lines += [
        f"# ltoefg DFT protocol {protocol.name}",
        f'pp_dirpath "{Path(psp_dir)}"',
        'pseudos "' + ", ".join(protocol.dataset(el).filename for el in types) + '"',
        f"ntypat {len(types)}",
        "znucl " + " ".join(str(atomic_numbers[el]) for el in types),
        f"natom {len(atoms)}",
        "typat " + " ".join(str(t) for t in typat),
        f"chkprim {protocol.chkprim}",
        *([] if protocol.use_symmetry else ["nsym 1"]),
        "acell 3*1.0 angstrom",
        "rprim",
    ]
    lines += ["  " + " ".join(_fmt(x) for x in row) for row in atoms.cell.array]
    lines.append("xred")
    lines += ["  " + " ".join(_fmt(x) for x in row) for row in atoms.get_scaled_positions(False)]
    kx, ky, kz = protocol.kmesh
    lines += [
        f"ixc {protocol.ixc}",
        f"ecut {protocol.ecut_ha:g}  pawecutdg {protocol.pawecutdg_ha:g}",
        f"ngkpt {kx} {ky} {kz}  nshiftk 1  shiftk 0 0 0  kptopt 1",
        f"occopt {protocol.occopt}  nband {protocol.nband(symbols)}"
        + (f"  tsmear {protocol.tsmear_ha:g}" if protocol.occopt != 1 else ""),
        f"iscf {protocol.iscf}  diemac {protocol.diemac:g}  npulayit {protocol.npulayit}",
        f"nstep {protocol.nstep}  tolvrs {protocol.tolvrs:g}",
        f"usexcnhat {protocol.usexcnhat}  pawovlp {protocol.pawovlp:g}",
        f"prtefg {protocol.prtefg}",
        "quadmom " + " ".join(f"{protocol.quadmom_barn[el]:g}" for el in types),
        "ptcharge " + " ".join(f"{protocol.ptcharge[el]:g}" for el in types),
        f"prtden {-abs(protocol.checkpoint_every)}  prtwf {prtwf}  prteig 0  prtgsr 0",
        "chkexit 1",
    ]
    if restart_wavefunctions is not None:
        lines.append(f'getwfk_filepath "{Path(restart_wavefunctions)}"')
    elif restart_density is not None:
        lines.append(f'getden_filepath "{Path(restart_density)}"')
    return "\n".join(lines) + "\n"


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eEdD][-+]?\d+)?"


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        out += line.split("#", 1)[0].split()
    return out


def _values(tokens: list[str], key: str, n: int) -> list[str]:
    try:
        i = tokens.index(key)
    except ValueError:
        raise AbinitOutputError(f"the ABINIT input has no {key!r}.") from None
    vals = tokens[i + 1 : i + 1 + n]
    if len(vals) != n or not all(re.fullmatch(_NUM, v) for v in vals):
        raise AbinitOutputError(f"the ABINIT input's {key!r} does not have {n} numbers.")
    return vals


def parse_structure(text: str) -> AbinitStructure:
    """Read the structure back from an input written by :func:`write_input`.

    Only the subset the writer uses is understood (``acell 3*1.0 angstrom``,
    ``rprim``, ``xred``, ``typat``, ``znucl``).

    Parameters
    ----------
    text : str
        Input file text.

    Raises
    ------
    AbinitOutputError
        If a needed variable is missing or malformed.
    """
    tokens = _tokens(text)
    natom = int(_values(tokens, "natom", 1)[0])
    ntypat = int(_values(tokens, "ntypat", 1)[0])
    znucl = [int(float(z)) for z in _values(tokens, "znucl", ntypat)]
    typat = [int(t) for t in _values(tokens, "typat", natom)]
    if "acell" in tokens and tokens[tokens.index("acell") + 1 : tokens.index("acell") + 3] != [
        "3*1.0",
        "angstrom",
    ]:
        raise AbinitOutputError("only inputs with 'acell 3*1.0 angstrom' are understood.")
    cell = np.array(_values(tokens, "rprim", 9), float).reshape(3, 3)
    xred = np.array(_values(tokens, "xred", 3 * natom), float).reshape(natom, 3)
    symbols = tuple(chemical_symbols[znucl[t - 1]] for t in typat)
    return AbinitStructure(cell=cell, symbols=symbols, scaled_positions=xred)
