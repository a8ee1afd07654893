"""Validation of the DFT labels with ABINIT (skipped where abinit is not installed).

Known answers: the EFG at a site of cubic symmetry is zero; ABINIT's point-charge
EFG equals the package's Ewald EFG (same units, sign, frame); rutile ⁴⁷Ti/¹⁷O
CQ and η at the production ecut equal the values measured in /work/shared/dft
(README: Ti CQ −11.82 MHz, η 0.418; O CQ 2.89 MHz, η 0.857 at 15 Ha, 4×4×6).
Those rutile values are regression values of the protocol; the O EFG is not
the physical one (all-electron and experiment disagree by 2×): a strict xfail
records that, so the day it passes the documentation has to change too.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from ase import Atoms
from ase.spacegroup import crystal

from ltoefg.data.pointcharge import ewald_efg, formal_charges
from ltoefg.dft.protocol import PRODUCTION
from ltoefg.dft.provenance import DEFAULT_PSP_DIR
from ltoefg.dft.runner import RunOptions, run_structure
from ltoefg.nmr import cq_khz, eta_from_eigenvalues, principal_axes

_MISSING = shutil.which("abinit") is None or shutil.which("mpirun") is None
pytestmark = pytest.mark.skipif(
    _MISSING or not DEFAULT_PSP_DIR.is_dir(),
    reason="abinit, mpirun or abinit-data not installed (apt-get install abinit abinit-data "
    "openmpi-bin)",
)
OPTIONS = RunOptions(nproc=2, timeout_s=600)


def li2o(a: float = 4.61) -> Atoms:
    """Antifluorite Li2O, primitive fcc cell: O on Oh (m-3m) and Li on Td (-43m) sites."""
    cell = 0.5 * a * np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    return Atoms("OLi2", cell=cell, scaled_positions=[[0, 0, 0], [0.25] * 3, [0.75] * 3], pbc=True)


def test_cubic_sites_have_zero_efg_and_a_distortion_does_not(tmp_path):
    # no symmetry used by ABINIT, so the zero comes from the density, not from symmetrisation
    p = PRODUCTION.replace("test-li2o", kmesh=(4, 4, 4), use_symmetry=False)
    cubic = run_structure(li2o(), p, tmp_path / "cubic", OPTIONS)
    assert cubic["status"] == "ok", cubic.get("reason")
    efg = np.asarray(cubic["efg"])
    assert np.abs(efg).max() < 0.01  # V/Å²; LTO Li |Vzz| ~ 0.1-1, O ~ 10-50
    distorted = li2o()
    distorted.positions[1] += [0.06, -0.04, 0.02]
    res = run_structure(distorted, p, tmp_path / "distorted", OPTIONS)
    assert res["status"] == "ok", res.get("reason")
    vzz = np.abs(principal_axes(np.asarray(res["efg"])).vzz)
    assert vzz.max() > 0.1 and vzz.min() > 10 * np.abs(efg).max()


def test_abinit_point_charge_efg_equals_ewald(tmp_path):
    atoms = li2o()
    rng = np.random.default_rng(5)
    atoms.positions += rng.uniform(-0.1, 0.1, size=(3, 3))
    p = PRODUCTION.replace("test-li2o-pc", kmesh=(2, 2, 2), use_symmetry=False)
    res = run_structure(atoms, p, tmp_path / "pc", OPTIONS)
    assert res["status"] == "ok", res.get("reason")
    abinit_pc = np.asarray(res["efg_pointcharge"])
    ours = ewald_efg(atoms, formal_charges(atoms))  # V/Å², Li +1, O -2, no Sternheimer factor
    assert np.abs(ours).max() > 0.5
    # ABINIT prints 6 decimals in atomic units: ±0.5e-6 a.u. = ±4.9e-5 V/Å²
    np.testing.assert_allclose(abinit_pc, ours, atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def rutile_efg(tmp_path_factory) -> tuple[np.ndarray, np.ndarray]:
    """Rutile with the production protocol at 4×4×6: (symbols, EFG V/Å²), run once."""
    a, c, u = 4.594, 2.959, 0.3048  # as /work/shared/dft/rutile-e15.abi
    rutile = crystal(
        ["Ti", "O"], basis=[(0, 0, 0), (u, u, 0)], spacegroup=136, cellpar=[a, a, c, 90, 90, 90]
    )
    p = PRODUCTION.replace("test-rutile", kmesh=(4, 4, 6))
    res = run_structure(rutile, p, tmp_path_factory.mktemp("rutile"), OPTIONS)
    assert res["status"] == "ok", res.get("reason")
    return np.array(rutile.get_chemical_symbols()), np.asarray(res["efg"])


def test_rutile_ti_and_o_quadrupole_couplings(rutile_efg):
    symbols, efg = rutile_efg
    pas = principal_axes(efg)
    eta = eta_from_eigenvalues(pas.eigenvalues)
    ti, o = symbols == "Ti", symbols == "O"
    cq_ti = cq_khz(pas.vzz[ti], "Ti") / 1000
    cq_o = np.abs(cq_khz(pas.vzz[o], "O")) / 1000
    np.testing.assert_allclose(cq_ti, -11.82, rtol=0.01)
    np.testing.assert_allclose(eta[ti], 0.418, atol=0.01)
    np.testing.assert_allclose(cq_o, 2.89, rtol=0.01)
    np.testing.assert_allclose(eta[o], 0.857, atol=0.01)


@pytest.mark.xfail(
    strict=True,
    reason="ABINIT 9.6 with Debian's Ti PAW datasets gives rutile's O EFG 2.1x too large and of "
    "the wrong sign (docs/dft.md §4, §5.4); if this passes, the datasets or ABINIT changed: "
    "redo the all-electron check (tools/dft_elk_check.py) before any production",
)
def test_rutile_o_efg_matches_all_electron_and_experiment(rutile_efg):
    """Published: abs(Vzz) of O in rutile 23.8 V/Å² (exp.), 22.1 (VASP), Elk here 21.85 V/Å²
    with Vzz > 0 along [110] (Choudhary et al., Sci. Data 7, 362 (2020); docs/dft.md §4)."""
    symbols, efg = rutile_efg
    vzz = principal_axes(efg[symbols == "O"]).vzz
    np.testing.assert_allclose(vzz, 21.85, rtol=0.15)
