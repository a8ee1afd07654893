"""Elk input files (``elk.in``) from ase.Atoms and a :class:`~ltoefg.dft.protocol.Protocol`.

Elk lists atoms grouped by species, the species in order of first appearance
in the Atoms (ase's ``elk-in`` writer, which writes the geometry here, does
the same). :func:`elk_order` is that map: ``elk_order(symbols)[k]`` is the ase
index of Elk's atom ``k``. Every written input is read back
(:func:`parse_geometry`) and compared with the Atoms in the mapped order
(:func:`check_geometry`); Elk's own ``GEOMETRY.OUT`` is checked the same way
after a run. Lengths: the Atoms in Å, ``elk.in`` in bohr (``avec``) and
reduced coordinates.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.io import write
from ase.units import Bohr
from numpy.typing import NDArray

from ltoefg.dft.errors import DftInputError, DftOutputError
from ltoefg.dft.protocol import SPECIES_DIR, Protocol

__all__ = [
    "ElkGeometry",
    "check_geometry",
    "check_structure",
    "elk_order",
    "parse_geometry",
    "with_tasks",
    "write_elk_in",
]

#: Largest difference of reduced coordinates between the Atoms and a read-back
#: geometry (Elk's GEOMETRY.OUT prints 8 decimals).
GEOMETRY_TOL = 2e-8


@dataclass(frozen=True)
class ElkGeometry:
    """The structure an ``elk.in`` or ``GEOMETRY.OUT`` describes, in Elk's atom order.

    Attributes
    ----------
    cell : numpy.ndarray, shape (3, 3)
        Lattice vectors (rows), Å.
    symbols : tuple of str
        Chemical symbol of every atom (from the species file names), Elk order.
    scaled_positions : numpy.ndarray, shape (natom, 3)
        Reduced coordinates, Elk order.
    """

    cell: NDArray[np.float64]
    symbols: tuple[str, ...]
    scaled_positions: NDArray[np.float64]


def elk_order(symbols: Sequence[str]) -> NDArray[np.int64]:
    """Ase indices of the atoms in Elk's order (species by first appearance).

    Parameters
    ----------
    symbols : sequence of str
        Chemical symbols in ase order.

    Returns
    -------
    numpy.ndarray of int64, shape (natom,)
        ``order[k]`` is the ase index of Elk's atom ``k``; so
        ``ase_array[order] = elk_array`` restores ase order.
    """
    symbols = list(symbols)
    species = list(dict.fromkeys(symbols))
    return np.array([i for s in species for i, t in enumerate(symbols) if t == s], dtype=np.int64)


def check_structure(atoms: Atoms, protocol: Protocol) -> None:
    """Refuse a structure the protocol cannot compute.

    Raises
    ------
    DftInputError
        No atoms, a non-periodic or singular cell, or an element without a
        species file in the protocol.
    """
    if len(atoms) == 0:
        raise DftInputError("the structure has no atoms.")
    if not all(atoms.pbc):
        raise DftInputError("the structure must be periodic in all three directions.")
    if abs(np.linalg.det(atoms.cell.array)) < 1e-6:
        raise DftInputError("the structure's cell is singular; give three lattice vectors.")
    for el in sorted(set(atoms.get_chemical_symbols())):
        protocol.species_file(el)


def _geometry_text(atoms: Atoms) -> str:
    # a bare copy: no magnetic moments (ase would switch on spinpol), no calculator
    bare = Atoms(atoms.get_chemical_symbols(), positions=atoms.positions, cell=atoms.cell, pbc=True)
    buf = io.StringIO()
    write(buf, bare, format="elk-in")
    return buf.getvalue()


def write_elk_in(
    atoms: Atoms,
    protocol: Protocol,
    tasks: Sequence[int] = (0,),
    species_dir: str | Path | None = None,
    title: str = "",
) -> str:
    """The text of an ``elk.in`` for ``atoms`` with the protocol's settings.

    Parameters
    ----------
    atoms : ase.Atoms
        Periodic structure (Å).
    protocol : Protocol
        Settings.
    tasks : sequence of int
        Elk tasks: 0 ground state from atomic densities, 1 resume from
        STATE.OUT, 115 EFG.
    species_dir : str or pathlib.Path, optional
        Folder of the species files (default: the package's :data:`SPECIES_DIR`).
    title : str
        Comment lines at the top (Elk ignores text outside blocks).

    Returns
    -------
    str
        The input text; its geometry has been read back and checked against
        ``atoms`` (:func:`check_geometry`).
    """
    check_structure(atoms, protocol)
    sp = Path(species_dir) if species_dir is not None else SPECIES_DIR
    head = "".join(f"! {line}\n" for line in title.splitlines())
    head += f"! ltoefg DFT protocol {protocol.name}\n\n"
    head += "tasks\n" + "".join(f"  {t}\n" for t in tasks) + "\n"
    text = head + protocol.elk_blocks() + f"sppath\n  '{sp.resolve()}/'\n\n" + _geometry_text(atoms)
    check_geometry(parse_geometry(text, "elk.in"), atoms, "the written elk.in")
    return text


def with_tasks(text: str, tasks: Sequence[int]) -> str:
    """The same ``elk.in`` text with its ``tasks`` block replaced.

    Raises
    ------
    DftInputError
        If the text has no ``tasks`` block.
    """
    new = "tasks\n" + "".join(f"  {t}\n" for t in tasks) + "\n"
    out, n = re.subn(r"^tasks\s*\n(?:[ \t]*\d+[ \t]*\n)+\s*", new, text, count=1, flags=re.M)
    if n != 1:
        raise DftInputError("the elk.in text has no tasks block.")
    return out


def _block(lines: list[str], key: str, name: str) -> int:
    for i, line in enumerate(lines):
        if line.strip() == key:
            return i
    raise DftOutputError(f"{name}: no '{key}' block.")


def _numbers(line: str, n: int, name: str) -> list[float]:
    vals = line.split(":")[0].split()
    try:
        out = [float(v.replace("D", "E").replace("d", "e")) for v in vals[:n]]
    except ValueError:
        out = []
    if len(out) != n or not np.all(np.isfinite(out)):
        raise DftOutputError(f"{name}: expected {n} numbers in the line {line.strip()!r}.")
    return out


def parse_geometry(text: str, name: str = "elk.in") -> ElkGeometry:
    """Read the ``avec`` and ``atoms`` blocks of an ``elk.in`` or ``GEOMETRY.OUT``.

    Only ``scale`` 1 inputs are understood (what the writer and Elk produce).

    Parameters
    ----------
    text : str
        File text.
    name : str
        File name for error messages.

    Raises
    ------
    DftOutputError
        If a block is missing, truncated or malformed.
    """
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("!")]
    for key in ("scale", "scale1", "scale2", "scale3"):
        try:
            i = _block(lines, key, name)
        except DftOutputError:
            continue
        if i + 1 >= len(lines) or _numbers(lines[i + 1], 1, name)[0] != 1.0:
            raise DftOutputError(f"{name}: only '{key} 1.0' is understood.")
    try:
        i = _block(lines, "avec", name)
        cell = np.array([_numbers(lines[i + 1 + k], 3, name) for k in range(3)]) * Bohr
        j = _block(lines, "atoms", name)
        nspecies = int(_numbers(lines[j + 1], 1, name)[0])
        symbols: list[str] = []
        pos: list[list[float]] = []
        k = j + 2
        for _ in range(nspecies):
            m = re.match(r"\s*'([^']+)'", lines[k])
            if not m:
                raise DftOutputError(f"{name}: expected a species file name in {lines[k]!r}.")
            el = Path(m.group(1)).name.removesuffix(".in")
            natoms = int(_numbers(lines[k + 1], 1, name)[0])
            for a in range(natoms):
                pos.append(_numbers(lines[k + 2 + a], 3, name))
                symbols.append(el)
            k += 2 + natoms
    except IndexError:
        raise DftOutputError(f"{name}: the geometry is truncated.") from None
    return ElkGeometry(cell=cell, symbols=tuple(symbols), scaled_positions=np.array(pos))


def check_geometry(
    geom: ElkGeometry,
    atoms: Atoms,
    what: str,
    tol: float = GEOMETRY_TOL,
    allow_shift: bool = False,
) -> None:
    """Check that a geometry in Elk order is ``atoms`` in the :func:`elk_order` map.

    Parameters
    ----------
    geom : ElkGeometry
        Geometry read from a file.
    atoms : ase.Atoms
        The structure, ase order.
    what : str
        What the geometry is, for the error message (e.g. a file path).
    tol : float
        Largest difference of reduced coordinates (modulo 1) and of cell
        components relative to the cell length.
    allow_shift : bool
        Accept positions that differ by one rigid translation of all atoms
        (Elk's ``GEOMETRY.OUT``: its symmetry finder moves the origin,
        ``Info(findsymcrys): atomic basis shift``, which leaves every EFG
        unchanged).

    Raises
    ------
    DftOutputError
        If species order, cell or positions differ.
    """
    order = elk_order(atoms.get_chemical_symbols())
    expected = [atoms.get_chemical_symbols()[i] for i in order]
    if list(geom.symbols) != expected:
        raise DftOutputError(f"{what}: the atom order differs from the structure's Elk order.")
    scale = float(np.abs(atoms.cell.array).max())
    if np.abs(geom.cell - atoms.cell.array).max() > max(tol * scale, 1e-10):
        raise DftOutputError(f"{what}: the cell differs from the structure's.")
    d = geom.scaled_positions - atoms.get_scaled_positions(False)[order]
    if allow_shift:
        d = d - d[0]
    if np.abs(d - np.round(d)).max() > tol:
        raise DftOutputError(f"{what}: the atomic positions differ from the structure's.")
