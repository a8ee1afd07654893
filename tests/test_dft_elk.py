"""The Elk back end against experiment and symmetry (runs Elk; skipped where it is absent).

Every crystal runs once per module (fixtures) through
:func:`ltoefg.dft.runner.run_structure` with the validation protocol
(:data:`ltoefg.dft.protocol.VALIDATION`: the production basis and smearing,
converged on the potential) and a k-mesh suited to its small cell. Known
answers:

- rutile ⁴⁷Ti and ¹⁷O, stishovite ¹⁷O, Li₃N ⁷Li at both sites: abs(Vzz) within
  :data:`ltoefg.dft.validation.REL_TOL` (25 %) of experiment (values and
  sources in :mod:`ltoefg.dft.validation`);
- antifluorite Li₂O: every site has cubic symmetry, so every EFG is zero;
- the sign: Li₂O with one Li moved along [111] off its Td site; its EFG is
  that of the surrounding ions screened by its 1s shell (1 − γ∞ = 0.73 > 0),
  so it has the sign and axis of the package's point-charge EFG of the same
  structure. Elk's own EFG.OUT has the opposite sign (it counts electrons as
  positive), which the parser undoes;
- the EFG-change stop ends a real Elk run through the STOP file.

Threads: ``LTOEFG_TEST_ELK_THREADS`` (default 2). Wall times on 2 shared cores
(1 thread, OpenBLAS) are in docs/dft.md.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ltoefg.data.pointcharge import ewald_efg, formal_charges
from ltoefg.dft import validation as V
from ltoefg.dft.protocol import VALIDATION, EfgStop
from ltoefg.dft.runner import run_structure
from ltoefg.nmr import principal_axes

pytestmark = pytest.mark.skipif(
    shutil.which("elk-lapw") is None,
    reason="elk-lapw is not installed (Debian: apt-get install elk-lapw libopenblas0-openmp)",
)

THREADS = int(os.environ.get("LTOEFG_TEST_ELK_THREADS", "2"))
KMESH = {"rutile": (4, 4, 6), "stishovite": (4, 4, 6), "li3n": (6, 6, 6), "li2o": (4, 4, 4)}


def _run(name: str, atoms, folder: Path, **changes) -> dict:
    p = VALIDATION.replace(f"{VALIDATION.name}-{name}", ngridk=KMESH[name.split("-")[0]], **changes)
    res = run_structure(atoms, p, folder, threads=THREADS)
    assert res["status"] == "ok", res.get("reason")
    return res


@pytest.fixture(scope="module")
def rutile(tmp_path_factory):
    return _run("rutile", V.rutile(), tmp_path_factory.mktemp("rutile"))


@pytest.fixture(scope="module")
def stishovite(tmp_path_factory):
    return _run("stishovite", V.stishovite(), tmp_path_factory.mktemp("stishovite"))


@pytest.fixture(scope="module")
def li3n(tmp_path_factory):
    return _run("li3n", V.li3n(), tmp_path_factory.mktemp("li3n"))


def _check_experiment(res: dict, crystal: str) -> None:
    efg = np.asarray(res["efg"])
    for ref in (r for r in V.EXPERIMENT if r.crystal == crystal):
        vzz = abs(principal_axes(efg[ref.index : ref.index + 1]).vzz[0])
        assert abs(vzz / ref.abs_vzz - 1) < V.REL_TOL, (ref.site, vzz, ref.abs_vzz)


def test_rutile_ti_and_o_against_experiment(rutile):
    _check_experiment(rutile, "rutile")
    vzz = principal_axes(np.asarray(rutile["efg"])).vzz
    # symmetry-equivalent sites agree (Ti × 2, O × 4); PBE gap of rutile ≈ 1.9 eV
    np.testing.assert_allclose(np.abs(vzz[:2]), abs(vzz[0]), rtol=1e-6)
    np.testing.assert_allclose(np.abs(vzz[2:]), abs(vzz[2]), rtol=1e-6)
    assert 1.6 < rutile["gap_ha"] * 27.2114 < 2.2


def test_stishovite_o_against_experiment(stishovite):
    _check_experiment(stishovite, "stishovite")


def test_li3n_both_li_sites_against_experiment(li3n):
    _check_experiment(li3n, "li3n")


def test_provenance_of_a_real_run(li3n):
    assert li3n["elk_version"] == "8.4.30" and li3n["scf_end"] == "converged"
    assert li3n["final_rms_dv"] < VALIDATION.epspot
    assert li3n["linear_algebra"]["libblas"] and li3n["linear_algebra"]["liblapack"]
    assert {s["element"] for s in li3n["species"]} == {"Li", "N"}
    assert li3n["scf_iterations"] == sum(r["iterations"] for r in li3n["runs"]) > 5
    assert li3n["host"]["cpu"] and li3n["threads"] == THREADS


def test_cubic_sites_have_zero_efg(tmp_path):
    res = _run("li2o", V.li2o(), tmp_path)
    assert np.abs(np.asarray(res["efg"])).max() < 1e-3  # V/Å²


def test_sign_follows_the_point_charges_where_they_dominate(tmp_path):
    atoms = V.li2o(displacement=(0.06, 0.06, 0.06))  # Li off Td along [111]: axial EFG
    res = _run("li2o-moved", atoms, tmp_path)
    elk = np.asarray(res["efg"])[1]
    pcm = ewald_efg(atoms, formal_charges(atoms))[1]
    z = np.ones(3) / np.sqrt(3)
    assert abs(z @ pcm @ z) > 0.5  # V/Å²: a clear, axial point-charge EFG along [111]
    # same sign and axis: Elk = c · PCM with 0 < c (screened, c ≈ 0.5)
    c = float(np.sum(elk * pcm) / np.sum(pcm * pcm))
    assert 0.2 < c < 1.0, c
    np.testing.assert_allclose(elk, c * pcm, atol=0.05 * np.abs(pcm).max())


def test_efg_stop_ends_a_real_elk_run(tmp_path):
    stop = EfgStop(window=3, tolerance={"Li": 0.01, "N": 0.05}, consecutive=2)
    p = VALIDATION.replace("elk-efg-stop-test", ngridk=(4, 4, 4), efg_stop=stop, epspot=1e-10)
    res = run_structure(V.li3n(), p, tmp_path, threads=1, poll_s=0.2)
    assert res["status"] == "ok" and res["scf_end"] == "efg-stop", res.get("reason")
    assert "Info(checkstop): STOP file exists" in (tmp_path / "elk.log").read_text()
    assert not (tmp_path / "STOP").exists()
    last = res["efg_change_history"][-1]["max_abs_dv"]
    assert last["Li"] < 0.01 and last["N"] < 0.05
    _check_experiment(res, "li3n")  # stopped on the EFGs, still within tolerance
