"""Monte-Carlo generator of the 1512-atom LTO models (ltoefg.application.large_models)."""

from __future__ import annotations

import numpy as np
import pytest

from ltoefg.application import large_models as lm
from ltoefg.data import pointcharge as pc
from ltoefg.data.structures import cubic_supercell, parent_cell


@pytest.fixture(scope="module")
def rattled_host():
    """The 42-atom R-3m cell, rattled: the fixed-charge potential differs between 16d sites."""
    host = parent_cell()
    rng = np.random.default_rng(7)
    host.positions += rng.normal(scale=0.08, size=host.positions.shape)
    idx16 = np.flatnonzero(host.arrays["wyckoff"] == "16d")
    return host, idx16, lm.SwapEnergyModel.from_host(host, idx16)


def _with_li(host, idx16, li_local):
    at = host.copy()
    num = at.numbers.copy()
    num[idx16] = 22
    num[idx16[np.asarray(li_local)]] = 3
    at.numbers = num
    return at


def _charges(n, li_local):
    q = np.full(n, 4.0)
    q[np.asarray(li_local)] = 1.0
    return q


def test_energy_decomposition_matches_full_ewald(rattled_host):
    host, idx16, model = rattled_host
    assert np.ptp(model.v_ext) > 0.1  # the external-potential term really is exercised
    for li in [(0, 1), (3, 10), (5, 6)]:
        e_model = model.energy(_charges(12, li))
        e_full = pc.ewald_energy(_with_li(host, idx16, li))
        assert e_model == pytest.approx(e_full, abs=1e-7)


def test_swap_delta_matches_full_ewald_difference(rattled_host):
    host, idx16, model = rattled_host
    li = [2, 9]
    q = _charges(12, li)
    u = model.potential(q)
    e0 = pc.ewald_energy(_with_li(host, idx16, li))
    for i, j in [(2, 0), (9, 11), (2, 5)]:
        de = model.swap_delta(q, u, i, j)
        new = [j if s == i else s for s in li]
        e1 = pc.ewald_energy(_with_li(host, idx16, new))
        assert de == pytest.approx(e1 - e0, abs=1e-7)


def test_cubic_host_external_potential_is_uniform():
    """Every 16d site of the ideal spinel is equivalent: v_ext drops out of ΔE."""
    host, idx16 = cubic_supercell(1)
    model = lm.SwapEnergyModel.from_host(host, idx16)
    assert np.ptp(model.v_ext) < 1e-9


def test_li_count():
    assert lm.li_count_16d(432) == 72
    with pytest.raises(ValueError, match="multiple of 6"):
        lm.li_count_16d(16)


def test_host_permutations_are_the_space_group():
    perms = lm.host_permutations(3)
    assert perms.shape == (5184, 432)
    assert len(np.unique(perms, axis=0)) == 5184
    assert np.all(np.sort(perms, axis=1) == np.arange(432))  # permutations
    host, idx16 = cubic_supercell(3)
    d = host.get_all_distances(mic=True)[np.ix_(idx16, idx16)]
    for k in (0, 1, 1000, 5183):
        p = perms[k]
        assert np.allclose(d[np.ix_(p, p)], d, atol=1e-8)


def test_canonical_form_is_invariant():
    perms = lm.host_permutations(3)
    rng = np.random.default_rng(3)
    li = rng.choice(432, size=72, replace=False)
    ref = lm.canonical_li_sites(li, perms)
    for k in rng.integers(len(perms), size=5):
        assert np.array_equal(lm.canonical_li_sites(perms[k][li], perms), ref)
    assert np.array_equal(lm.canonical_li_sites(li, None), np.sort(li))


def test_chain_preserves_composition_energy_and_is_deterministic(rattled_host):
    _, _, model = rattled_host
    kts = np.geomspace(5.0, 0.05, 300)
    energies = []

    def record(sweep, is_li, energy):
        assert is_li.sum() == 2
        q = np.where(is_li, 1.0, 4.0)
        assert energy == pytest.approx(model.energy(q), abs=1e-9)
        energies.append(energy)

    occ1, e1, acc = lm.run_chain(model, 2, kts, np.random.default_rng(11), record)
    occ2, e2, _ = lm.run_chain(model, 2, kts, np.random.default_rng(11))
    assert occ1.sum() == 2 and np.array_equal(occ1, occ2) and e1 == e2
    assert 0 < acc < 1
    # annealing a 12-site cell to kT = 0.05 eV finds the best of the 66 placements
    all_e = [model.energy(_charges(12, (i, j))) for i in range(12) for j in range(i + 1, 12)]
    assert e1 == pytest.approx(min(all_e), abs=1e-9)


def test_select_distinct():
    C = lm._Candidate
    cands = [
        C(1.0, b"a", np.zeros(1, int), 0, 0),
        C(0.5, b"b", np.zeros(1, int), 0, 1),
        C(0.7, b"b", np.zeros(1, int), 1, 0),  # same structure found by chain 1
        C(0.9, b"c", np.zeros(1, int), 1, 1),
        C(2.0, b"d", np.zeros(1, int), 2, 0),
    ]
    got = lm.select_distinct(cands, 3, max_per_chain=None)
    assert [c.key for c in got] == [b"b", b"c", b"a"]
    got = lm.select_distinct(cands, 3, max_per_chain=1)
    assert [(c.key, c.chain) for c in got] == [(b"b", 0), (b"c", 1), (b"d", 2)]


SMALL = lm.AnnealSchedule(
    kt_start_ev=20.0, kt_sample_ev=0.5, n_anneal_sweeps=20, n_sample_sweeps=10, n_chains=3
)


@pytest.fixture(scope="module")
def small_run():
    return lm.generate_lto_models(n_keep=5, schedule=SMALL, seed=5, max_per_chain=None)


def test_generated_models(small_run):
    models = small_run
    assert len(models.structures) == 5
    e = models.energies_ev
    assert np.all(np.diff(e) >= 0)  # sorted, lowest first
    perms = lm.host_permutations(3)
    keys = set()
    for k, at in enumerate(models.structures):
        assert len(at) == 1512
        sym = np.array(at.get_chemical_symbols())
        assert (sym == "Li").sum() == 288 and (sym == "Ti").sum() == 360
        assert (sym == "O").sum() == 864
        w = at.arrays["wyckoff"]
        assert np.all(sym[w == "8a"] == "Li") and np.all(sym[w == "32e"] == "O")
        assert (sym[w == "16d"] == "Li").sum() == 72
        assert at.info["structure"] == k and at.info["energy_ev"] == e[k]
        li_local = np.flatnonzero(sym[w == "16d"] == "Li")
        keys.add(lm.canonical_li_sites(li_local, perms).tobytes())
    assert len(keys) == 5  # pairwise symmetry-inequivalent
    # the stored energy is the full Ewald energy of the written structure
    assert pc.ewald_energy(models.structures[0]) == pytest.approx(e[0], abs=1e-6)


def test_generation_is_deterministic_and_job_independent(small_run):
    again = lm.generate_lto_models(n_keep=5, schedule=SMALL, seed=5, max_per_chain=None, n_jobs=2)
    assert np.array_equal(again.energies_ev, small_run.energies_ev)
    for a, b in zip(again.structures, small_run.structures, strict=True):
        assert np.array_equal(a.numbers, b.numbers)
    other = lm.generate_lto_models(n_keep=5, schedule=SMALL, seed=6, max_per_chain=None)
    assert not np.array_equal(other.energies_ev, small_run.energies_ev)


def test_write_and_read(small_run, tmp_path):
    xyz, meta = lm.write_models(small_run, tmp_path)
    back = lm.read_models(xyz)
    assert len(back) == 5
    for a, b in zip(back, small_run.structures, strict=True):
        assert np.array_equal(a.numbers, b.numbers)
        assert np.allclose(a.positions, b.positions)
        assert list(a.arrays["wyckoff"]) == list(b.arrays["wyckoff"])
        assert a.info["energy_ev"] == pytest.approx(b.info["energy_ev"], abs=1e-9)
    assert meta.exists()


def test_too_few_distinct_is_an_error():
    tiny = lm.AnnealSchedule(n_anneal_sweeps=1, n_sample_sweeps=1, n_chains=2)
    with pytest.raises(RuntimeError, match="distinct"):
        lm.generate_lto_models(n_keep=3, schedule=tiny, seed=1, max_per_chain=1)


def _scalar_reference_chain(model, n_li, kts, rng):
    """Plain one-proposal-at-a-time Metropolis with the same random-number order."""
    m = len(model.indices)
    li = np.sort(rng.choice(m, size=n_li, replace=False))
    is_li = np.zeros(m, dtype=bool)
    is_li[li] = True
    ti = np.flatnonzero(~is_li)
    for kt in kts:
        q = np.where(is_li, 1.0, 4.0)
        u = model.potential(q)
        pl, pt = rng.integers(n_li, size=m), rng.integers(m - n_li, size=m)
        thr = -np.log1p(-rng.random(m)) * kt
        for a, b, t in zip(pl, pt, thr, strict=True):
            i, j = li[a], ti[b]
            q = np.where(is_li, 1.0, 4.0)
            if model.swap_delta(q, u, i, j) < t:
                u = u + 3.0 * (model.phi[:, i] - model.phi[:, j])
                li[a], ti[b] = j, i
                is_li[i], is_li[j] = False, True
    return is_li


def test_windowed_chain_equals_scalar_metropolis():
    model = lm._cubic_host_model(3, 8.36, 0.2625)
    kts = np.geomspace(10.0, 0.3, 6)
    ref = _scalar_reference_chain(model, 72, kts, np.random.default_rng(2))
    got, _, _ = lm.run_chain(model, 72, kts, np.random.default_rng(2))
    assert np.array_equal(got, ref)


def test_rattle_option(small_run):
    shaken = lm.generate_lto_models(
        n_keep=5, schedule=SMALL, seed=5, max_per_chain=None, rattle_angstrom=0.05
    )
    for a, b in zip(shaken.structures, small_run.structures, strict=True):
        assert np.array_equal(a.numbers, b.numbers)
        d = a.positions - b.positions
        assert 0.045 < d.std() < 0.055 and a.info["rattle_angstrom"] == 0.05
