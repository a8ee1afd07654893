"""tools/dft_elk_check.py: Elk's atom order and sign convention, read back exactly.

The all-electron check of docs/dft.md §4 and §5.4 rests on mapping Elk's
EFG.OUT (atoms grouped by species, electrons counted positive) back to the
ase atom order with the physical sign. Known answers: a synthetic EFG.OUT
with a distinct tensor per atom, for a structure whose species are
interleaved.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from ase import Atoms

from ltoefg.constants import EFG_AU_IN_V_PER_A2

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import dft_elk_check as tool  # noqa: E402


def _interleaved() -> Atoms:
    return Atoms(
        "OLiOTiLi",
        cell=np.diag([4.0, 5.0, 6.0]),
        scaled_positions=[[0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5], [0.5, 0.5, 0.5]],
        pbc=True,
    )


def _efg_out(tensors_elk_order: np.ndarray, species: list[str]) -> str:
    lines = ["", "(electric field gradient tensor is in Cartesian coordinates)", ""]
    for k, (t, sp) in enumerate(zip(tensors_elk_order, species, strict=True)):
        lines += ["", f"Species :    1 ({sp}), atom :    {k + 1}", "", " EFG tensor :"]
        lines += [" ".join(f"{v: .10E}" for v in row) for row in t]
        lines += [" trace :   0.0", " eigenvalues :", " 0 0 0", ""]
    return "\n".join(lines) + "\n"


def test_elk_input_groups_species_in_the_order_elk_order_assumes(tmp_path: Path) -> None:
    atoms = _interleaved()
    path = tool.elk_input(atoms, (1, 1, 1), tmp_path)
    text = path.read_text()
    species = [line.split("'")[1][:-3] for line in text.splitlines() if "spfname" in line]
    assert species == ["O", "Li", "Ti"]  # first appearance
    symbols = np.array(atoms.get_chemical_symbols())
    assert symbols[tool.elk_order(atoms)].tolist() == ["O", "O", "Li", "Li", "Ti"]
    assert "lmaxi\n  2" in text  # the EFG task needs the l = 2 inner density


def test_read_elk_efg_restores_ase_order_and_physical_sign(tmp_path: Path) -> None:
    atoms = _interleaved()
    rng = np.random.default_rng(11)
    truth = rng.normal(size=(len(atoms), 3, 3))
    truth = 0.5 * (truth + truth.transpose(0, 2, 1))  # V/Å², ase order, physical sign
    order = tool.elk_order(atoms)
    elk_au = -truth[order] / EFG_AU_IN_V_PER_A2  # what Elk would print, in its order
    species = [atoms.get_chemical_symbols()[i] for i in order]
    (tmp_path / "EFG.OUT").write_text(_efg_out(elk_au, species))
    np.testing.assert_allclose(tool.read_elk_efg(tmp_path, atoms), truth, rtol=1e-9, atol=1e-12)
