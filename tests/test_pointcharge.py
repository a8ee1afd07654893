"""Tests of the Ewald point-charge EFG, energy and pair kernel (SPEC §4.2)."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from ltoefg.data import pointcharge as P
from ltoefg.data import structures as S
from ltoefg.tensors import random_rotations, rotate


@pytest.fixture(scope="module")
def lto():
    structures, _ = S.generate_structures(6, seed=3)
    return structures


def _ideal_spinel(q16d: float = 3.5) -> tuple[Atoms, np.ndarray]:
    """Conventional 56-atom Fd-3m cell; charges with the virtual 16d charge 3.5 (neutral)."""
    atoms, _ = S.cubic_supercell(1)
    w = atoms.arrays["wyckoff"]
    q = np.select([w == "8a", w == "16d"], [1.0, q16d], -2.0)
    return atoms, q


def test_coulomb_constant():
    assert pytest.approx(14.399645, rel=1e-7) == P.K_E  # CODATA e/(4πε0), V·Å
    assert P.ANTISHIELDING_FACTORS == {"Li": pytest.approx(0.729), "Ti": 1.0, "O": 1.0}
    assert P.FORMAL_CHARGES == {"Li": 1.0, "Ti": 4.0, "O": -2.0}


@pytest.mark.parametrize(
    ("name", "madelung"),
    [
        ("rocksalt", 1.747564594633),
        ("cesiumchloride", 1.762674773070),
        ("zincblende", 1.638055053388),
    ],
)
def test_madelung_constants(name, madelung):
    a = 4.0
    atoms = bulk("NaCl" if name != "zincblende" else "ZnS", name, a=a)
    q = np.array([1.0, -1.0])
    nn = {"rocksalt": a / 2, "cesiumchloride": a * np.sqrt(3) / 2, "zincblende": a * np.sqrt(3) / 4}
    energy = P.ewald_energy(atoms, q)  # one ion pair per primitive cell
    assert -energy * nn[name] / P.K_E == pytest.approx(madelung, rel=1e-10)
    # same answer in a larger, non-primitive cell, per ion pair
    big = atoms.repeat((2, 1, 3))
    assert P.ewald_energy(big, np.tile(q, 6)) / 6 == pytest.approx(energy, rel=1e-10)


def test_energy_alpha_independent(lto):
    ref = P.ewald_energy(lto[0])
    for alpha in (0.3, 0.5, 0.8, 1.1):
        assert P.ewald_energy(lto[0], alpha=alpha) == pytest.approx(ref, abs=1e-8)


def test_efg_alpha_independent(lto):
    for atoms in lto[:3]:
        ref = P.ewald_efg(atoms)
        for alpha in (0.25, 0.4, 0.55, 0.8, 1.1):
            assert np.abs(P.ewald_efg(atoms, alpha=alpha) - ref).max() <= 1e-6
        assert np.abs(ref).max() > 1.0  # non-trivial tensors


def test_efg_symmetric_and_traceless(lto):
    for atoms in lto:
        v = P.ewald_efg(atoms)
        assert np.array_equal(v, np.swapaxes(v, 1, 2))
        # no projection is applied for a neutral cell: the trace vanishes by physics
        assert np.abs(np.trace(v, axis1=1, axis2=2)).max() < 1e-9


def test_charged_cell_is_traceless(lto):
    atoms = lto[0]
    q = P.formal_charges(atoms) + 0.1
    v = P.ewald_efg(atoms, q)
    assert np.abs(np.trace(v, axis1=1, axis2=2)).max() < 1e-12
    # the background only shifts the trace: α-independent traceless part
    assert np.abs(P.ewald_efg(atoms, q, alpha=0.9) - v).max() <= 1e-6


def test_rotation_equivariance(lto):
    rng = np.random.Generator(np.random.PCG64(11))
    atoms = lto[2]
    v = P.ewald_efg(atoms)
    for rot in random_rotations(3, rng):
        turned = atoms.copy()
        turned.set_cell(atoms.cell[:] @ rot.T, scale_atoms=False)
        turned.positions = atoms.positions @ rot.T
        np.testing.assert_allclose(P.ewald_efg(turned), rotate(v, rot), rtol=0, atol=1e-10)


def test_translation_and_permutation_invariance(lto):
    atoms = lto[1]
    v = P.ewald_efg(atoms)
    moved = atoms.copy()
    moved.positions += np.array([1.3, -0.7, 4.1])
    np.testing.assert_allclose(P.ewald_efg(moved), v, rtol=0, atol=1e-10)
    perm = np.random.default_rng(0).permutation(len(atoms))
    np.testing.assert_allclose(P.ewald_efg(atoms[perm]), v[perm], rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["rocksalt", "cesiumchloride"])
def test_zero_efg_on_cubic_sites(name):
    atoms = bulk("NaCl", name, a=5.64).repeat((2, 2, 2))
    q = np.tile([1.0, -1.0], 8)
    assert np.abs(P.ewald_efg(atoms, q)).max() < 1e-8
    # and in the conventional (non-primitive) rock-salt cell
    conv = bulk("NaCl", "rocksalt", a=5.64, cubic=True)
    assert np.abs(P.ewald_efg(conv, np.where(conv.numbers == 11, 1.0, -1.0))).max() < 1e-8


def test_ideal_spinel_site_symmetry():
    atoms, q = _ideal_spinel()
    assert abs(q.sum()) < 1e-12
    v = P.ewald_efg(atoms, q)
    w = atoms.arrays["wyckoff"]
    # 8a: -43m site symmetry → zero EFG
    assert np.abs(v[w == "8a"]).max() < 1e-8
    # 16d: -3m → axial (η = 0) with Vzz along a <111> body diagonal
    evals, evecs = np.linalg.eigh(v[w == "16d"])
    order = np.argsort(np.abs(evals), axis=1)
    evals = np.take_along_axis(evals, order, axis=1)
    vzz = evals[:, 2]
    assert np.abs(vzz).min() > 0.1
    eta = (evals[:, 0] - evals[:, 1]) / vzz
    assert np.abs(eta).max() < 1e-8
    assert np.ptp(vzz) < 1e-8  # all 16d sites equivalent
    axes = evecs[np.arange(len(vzz)), :, order[:, 2]]
    cos = np.abs(
        axes @ (np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]).T / np.sqrt(3))
    )
    assert np.all(np.abs(cos.max(axis=1) - 1.0) < 1e-9)
    # the four <111> orientations occur equally often (4 each in the 16 sites)
    assert sorted(np.bincount(cos.argmax(axis=1), minlength=4)) == [4, 4, 4, 4]


def test_ideal_parent_cell_16d_axis_along_c():
    parent = S.parent_cell()
    w = parent.arrays["wyckoff"]
    q = np.select([w == "8a", w == "16d"], [1.0, 3.5], -2.0)
    v = P.ewald_efg(parent, q)
    assert np.abs(v[w == "8a"]).max() < 1e-8
    evals, evecs = np.linalg.eigh(v[w == "16d"])
    # 3 of the 12 16d sites have their 3-fold axis along the hexagonal c (= cubic [111])
    axes = evecs[np.arange(12), :, np.argmax(np.abs(evals), axis=1)]
    assert int(np.sum(np.abs(np.abs(axes[:, 2]) - 1.0) < 1e-9)) == 3


def _direct_sum(atoms: Atoms, q: np.ndarray, sites: list[int], radius: float) -> np.ndarray:
    """EFG at ``sites`` from whole (neutral) cells with |L_n| ≤ radius, plain 1/r⁵ sums."""
    cell = atoms.cell[:]
    pos = atoms.get_positions(wrap=True)
    nmax = np.ceil(radius * np.linalg.norm(np.linalg.inv(cell), axis=0)).astype(int) + 1
    grids = np.meshgrid(*[np.arange(-k, k + 1) for k in nmax], indexing="ij")
    shifts = np.stack([g.ravel() for g in grids], axis=1) @ cell
    shifts = shifts[np.linalg.norm(shifts, axis=1) <= radius]
    src = (pos[None] + shifts[:, None]).reshape(-1, 3)
    qs = np.tile(q, len(shifts))
    out = []
    for i in sites:
        r = pos[i] - src
        r2 = np.einsum("pk,pk->p", r, r)
        keep = r2 > 1e-12
        r, r2, w = r[keep], r2[keep], qs[keep]
        v = 3.0 * np.einsum("p,pa,pb->ab", w / r2**2.5, r, r) - np.eye(3) * np.sum(w / r2**1.5)
        out.append(P.K_E * v)
    return np.array(out)


def test_matches_direct_lattice_sum(lto):
    atoms = lto[1]
    q = P.formal_charges(atoms)
    sites = [0, 7, 20]  # Li 8a, a 16d site, O
    ewald = P.ewald_efg(atoms)[sites]
    coarse = np.abs(_direct_sum(atoms, q, sites, 40.0) - ewald).max()
    fine = np.abs(_direct_sum(atoms, q, sites, 160.0) - ewald).max()
    assert fine < 1e-4 < coarse
    assert np.abs(ewald).max() > 1.0


def test_pcm_efg_applies_sternheimer(lto):
    atoms = lto[0]
    raw = P.ewald_efg(atoms)
    pcm = P.pcm_efg(atoms)
    sym = np.array(atoms.get_chemical_symbols())
    np.testing.assert_allclose(pcm[sym == "Li"], 0.729 * raw[sym == "Li"], rtol=1e-14)
    np.testing.assert_array_equal(pcm[sym != "Li"], raw[sym != "Li"])


def test_potential_matrix_energy(lto):
    atoms = lto[0]
    q = P.formal_charges(atoms)
    phi = P.ewald_potential_matrix(atoms)
    assert np.array_equal(phi, phi.T)
    assert 0.5 * q @ phi @ q == pytest.approx(P.ewald_energy(atoms), abs=1e-8)
    assert np.abs(P.ewald_potential_matrix(atoms, alpha=0.9) - phi).max() < 1e-9
    # a charged subset: the energy of those ions alone (with background)
    idx = np.flatnonzero(atoms.arrays["wyckoff"] == "16d")
    sub = P.ewald_potential_matrix(atoms, idx)
    np.testing.assert_allclose(sub, phi[np.ix_(idx, idx)], rtol=0, atol=1e-9)
    alone = Atoms(atoms.numbers[idx], atoms.positions[idx], cell=atoms.cell, pbc=True)
    assert 0.5 * q[idx] @ sub @ q[idx] == pytest.approx(P.ewald_energy(alone, q[idx]), abs=1e-8)


def test_swap_energy_change_full_matrix(lto):
    atoms = lto[2]
    q = P.formal_charges(atoms)
    phi = P.ewald_potential_matrix(atoms)
    v = phi @ q
    e0 = P.ewald_energy(atoms, q)
    li16 = [i for i in range(6, 18) if q[i] == 1.0]
    ti16 = [i for i in range(6, 18) if q[i] == 4.0]
    for i, j in [(li16[0], ti16[0]), (ti16[3], li16[1]), (ti16[1], ti16[2])]:
        de = P.swap_energy_change(phi, q, v, i, j)
        q2 = q.copy()
        q2[[i, j]] = q[[j, i]]
        assert de == pytest.approx(P.ewald_energy(atoms, q2) - e0, abs=1e-8)
    # O(M) potential update after an accepted swap
    i, j = li16[0], ti16[0]
    dq = q[j] - q[i]
    v2 = v + dq * (phi[:, i] - phi[:, j])
    q2 = q.copy()
    q2[[i, j]] = q[[j, i]]
    np.testing.assert_allclose(v2, phi @ q2, rtol=0, atol=1e-9)


def test_swap_energy_change_16d_only_ideal_spinel():
    atoms, idx = S.cubic_supercell(1)
    rng = np.random.default_rng(5)
    q = np.where(atoms.arrays["wyckoff"] == "8a", 1.0, -2.0)
    q16 = np.full(len(idx), 4.0)
    q16[rng.choice(len(idx), len(idx) // 6 + 1, replace=False)] = 1.0
    # not Li4Ti5O12 for 16 sites, but any charges work for the swap identity
    q[idx] = q16
    phi = P.ewald_potential_matrix(atoms, idx)
    v = phi @ q16
    e0 = P.ewald_energy(atoms, q)
    i = int(np.flatnonzero(q16 == 1.0)[0])
    for j in np.flatnonzero(q16 == 4.0)[:4]:
        q2 = q.copy()
        q2[idx[[i, j]]] = q[idx[[j, i]]]
        de = P.swap_energy_change(phi, q16, v, i, int(j))
        assert de == pytest.approx(P.ewald_energy(atoms, q2) - e0, abs=1e-8)


def test_rejects_bad_input():
    atoms = bulk("NaCl", "rocksalt", a=5.64)
    with pytest.raises(ValueError, match="shape"):
        P.ewald_efg(atoms, [1.0])
    with pytest.raises(ValueError, match="pbc"):
        P.ewald_efg(Atoms("Na", positions=[[0, 0, 0]], cell=np.eye(3) * 3, pbc=False), [1.0])
    with pytest.raises(ValueError, match="formal charge"):
        P.formal_charges(bulk("Cu"))
