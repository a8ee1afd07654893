"""Known-answer tests of the baselines' ML engine (features, kernels, sparse GPR, models).

Data are built here (LiTi2O4-like spinel cells with Li on some 16d sites,
rattled, and a truncated point-charge EFG as an exactly equivariant target),
so the tests do not depend on the data set.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# ``baselines`` runs from a checkout; ``python -m pytest`` puts the checkout on sys.path,
# a bare ``pytest`` does not.
_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

featomic = pytest.importorskip("featomic")
metatensor = pytest.importorskip("metatensor")

from ase import Atoms  # noqa: E402
from ase.build import make_supercell  # noqa: E402
from ase.spacegroup import crystal  # noqa: E402

from baselines.engine.features import (  # noqa: E402
    SoapHypers,
    compute_descriptors,
    lambda_soap,
    select_centres,
    soap_power_spectrum,
)
from baselines.engine.kernels import kernel_lambda0, kernel_lambda2  # noqa: E402
from baselines.engine.sparse_gpr import (  # noqa: E402
    ScalarSparseGPR,
    TensorSparseGPR,
    farthest_point_sampling,
)
from baselines.models.soap import (  # noqa: E402
    FORMAT_VERSION,
    Hypers,
    ScalarSoapModel,
    TensorSoapModel,
    load_model,
)
from ltoefg.tensors import random_rotations, rotate, to_spherical  # noqa: E402

SMALL = SoapHypers(cutoff=4.0, sigma=0.5, n_max=3, l_max=3)
SMALL_MODEL = Hypers(cutoff=4.0, sigma=0.5, n_max=3, l_max=3, zeta=2.0, regularisation=1e-6)


def _spinel_hex(a: float = 8.36, x: float = 0.2625) -> Atoms:
    """42-atom hexagonal (R-3m) setting of the LiTi2O4 spinel primitive cell."""
    prim = crystal(
        ["Li", "Ti", "O"],
        basis=[(0.125, 0.125, 0.125), (0.5, 0.5, 0.5), (x, x, x)],
        spacegroup=227,
        setting=2,
        cellpar=[a, a, a, 90, 90, 90],
        primitive_cell=True,
    )
    return make_supercell(prim, np.array([[1, -1, 0], [0, 1, -1], [1, 1, 1]]))


def lto_like_frames(n: int, seed: int) -> list[Atoms]:
    """``n`` rattled and strained 42-atom cells with 2 of 12 Ti (16d) replaced by Li."""
    rng = np.random.default_rng(seed)
    base = _spinel_hex()
    ti = np.flatnonzero(base.numbers == 22)
    frames = []
    for _ in range(n):
        at = base.copy()
        at.numbers[rng.choice(ti, 2, replace=False)] = 3
        strain = np.eye(3) * (1 + rng.normal(0, 0.01)) + rng.normal(0, 0.005, (3, 3))
        at.set_cell(at.cell[:] @ strain, scale_atoms=True)
        at.positions += rng.normal(0, 0.08, at.positions.shape)
        frames.append(at)
    return frames


def truncated_point_charge_efg(
    frames: list[Atoms], centres: np.ndarray, r_cut: float = 6.0
) -> np.ndarray:
    """Σ_j q_j (3 r rᵀ − r² 1)/r⁵ over neighbours within ``r_cut`` (formal charges), (n, 3, 3)."""
    charges = {3: 1.0, 8: -2.0, 22: 4.0}
    out = np.zeros((len(centres), 3, 3))
    for k, (s, a) in enumerate(centres):
        at = frames[s]
        cell = at.cell[:]
        n_img = np.ceil(r_cut * np.linalg.norm(np.linalg.inv(cell), axis=0)).astype(int) + 1
        grid = np.stack(
            np.meshgrid(*[np.arange(-m, m + 1) for m in n_img], indexing="ij"), -1
        ).reshape(-1, 3)
        shifts = grid @ cell
        d = (at.positions[None, :, :] + shifts[:, None, :] - at.positions[a]).reshape(-1, 3)
        q = np.tile([charges[z] for z in at.numbers], len(shifts))
        r2 = (d * d).sum(1)
        keep = (r2 > 1e-12) & (r2 < r_cut**2)
        d, q, r2 = d[keep], q[keep], r2[keep]
        t = 3 * d[:, :, None] * d[:, None, :] - r2[:, None, None] * np.eye(3)
        out[k] = (q[:, None, None] * t / r2[:, None, None] ** 2.5).sum(0)
    return out


def rotated(at: Atoms, r: np.ndarray) -> Atoms:
    """Copy of ``at`` with cell and positions rotated by ``r`` (x → R x)."""
    new = at.copy()
    new.set_cell(at.cell[:] @ r.T, scale_atoms=False)
    new.positions = at.positions @ r.T
    return new


@pytest.fixture(scope="module")
def frames() -> list[Atoms]:
    return lto_like_frames(6, seed=11)


# --------------------------------------------------------------------------- features


def test_featomic_m_order_is_to_spherical_order():
    # a single neighbour: the l = 2 density coefficients are ∝ Y_2m(r̂) ∝ to_spherical(r̂ r̂ᵀ)
    from metatensor import Labels

    rng = np.random.default_rng(3)
    r = rng.normal(size=3)
    r *= 2.0 / np.linalg.norm(r)
    at = Atoms("LiO", positions=[[0, 0, 0], r], pbc=False)
    se = featomic.SphericalExpansion(**SoapHypers(l_max=2, n_max=2).featomic_hypers())
    keys = Labels(["o3_lambda", "center_type", "neighbor_type"], np.array([[2, 3, 8]]))
    block = se.compute(at, selected_keys=keys).block(0)
    assert block.components[0].values[:, 0].tolist() == [-2, -1, 0, 1, 2]
    v = np.asarray(block.values)[0, :, 0]
    t = to_spherical(np.outer(r, r))
    np.testing.assert_allclose(v / np.linalg.norm(v), t / np.linalg.norm(t), atol=1e-12)


def test_descriptor_shapes_norms_and_row_order(frames):
    d = compute_descriptors(frames, "Li", SMALL)
    n = 8 * len(frames)
    assert d.centres.shape == (n, 2) and len(d) == n
    assert np.all(d.numbers == 3)
    np.testing.assert_array_equal(d.centres, select_centres(frames, 3))
    assert d.x0.shape[0] == n and d.x2.shape[:2] == (n, 5)
    np.testing.assert_allclose(np.linalg.norm(d.x0, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(d.x2.reshape(n, -1), axis=1), 1.0, atol=1e-12)
    # explicit centres in another order, other batch size, with a duplicate
    order = np.r_[np.arange(n)[::-1], 3]
    x0, c0 = soap_power_spectrum(frames, d.centres[order], SMALL, batch_size=2)
    x2, _ = lambda_soap(frames, d.centres[order], SMALL, batch_size=1)
    np.testing.assert_array_equal(c0, d.centres[order])
    np.testing.assert_allclose(x0, d.x0[order], atol=1e-14)
    np.testing.assert_allclose(x2, d.x2[order], atol=1e-14)


def test_feature_reduction_preserves_sagpr_dot_products(frames):
    """Our reduced features give the full SOAP overlap over all ordered channel pairs."""
    from featomic.clebsch_gordan import EquivariantPowerSpectrum
    from metatensor import Labels

    kw = SMALL.featomic_hypers()
    samples = Labels(["system", "atom"], np.array([[0, 0], [0, 1], [1, 0]], dtype=np.int32))
    eps = EquivariantPowerSpectrum(featomic.SphericalExpansion(**kw), neighbor_types=[3, 8, 22])
    out = {}
    for lam in (0, 2):
        keys = Labels(["o3_lambda", "o3_sigma"], np.array([[lam, 1]], dtype=np.int32))
        tm = eps.compute(
            frames[:2], selected_keys=keys, selected_samples=samples, neighbors_to_properties=True
        )
        block = tm.block(center_type=3)
        v = np.asarray(block.values)
        props = block.properties
        l1 = np.asarray(props.column("l_1"))
        l2 = np.asarray(props.column("l_2"))
        # l1 = l2: swapping (a, n1) <-> (b, n2) gives identical features (CG symmetry)
        index = {tuple(p): i for i, p in enumerate(np.asarray(props.values))}
        for i, p in enumerate(np.asarray(props.values)):
            if p[0] == p[1]:
                j = index[(p[1], p[0], p[4], p[5], p[2], p[3])]
                np.testing.assert_allclose(v[..., i], v[..., j], atol=1e-14)
        weight = np.where(l1 == l2, 1.0, 2.0)  # the dropped (l2, l1) block equals (l1, l2)
        gram = np.einsum("imf,jmf,f->ij", v, v, weight)
        norm = np.sqrt(np.diag(gram))
        out[lam] = gram / np.outer(norm, norm)
    d = compute_descriptors(frames[:2], np.array([[0, 0], [0, 1], [1, 0]]), SMALL)
    np.testing.assert_allclose(d.x0 @ d.x0.T, out[0], atol=1e-12)
    np.testing.assert_allclose(np.einsum("imf,jmf->ij", d.x2, d.x2), out[2], atol=1e-12)


def test_unknown_species_and_bad_centres_refused(frames):
    bad = frames[0].copy()
    bad.numbers[0] = 26
    with pytest.raises(ValueError, match="species"):
        compute_descriptors([bad], "Ti", SMALL)
    with pytest.raises(ValueError, match="out of range"):
        compute_descriptors(frames, np.array([[0, 99]]), SMALL)


# --------------------------------------------------------------------------- kernels


def test_kernels_against_explicit_sums(frames):
    d = compute_descriptors(frames[:2], "Li", SMALL)
    x0, x2 = d.x0, d.x2
    k0 = kernel_lambda0(x0, x0[:5], zeta=3.0, chunk_size=4)
    np.testing.assert_allclose(k0, (x0 @ x0[:5].T) ** 3, rtol=1e-13)
    np.testing.assert_allclose(np.diag(kernel_lambda0(x0, x0, 2.0)), 1.0, atol=1e-12)
    k2 = kernel_lambda2(x2, x2[:5], x0, x0[:5], zeta=2.0, chunk_size=3)
    assert k2.shape == (5 * len(d), 25)
    for i in (0, 7):
        for j in (0, 4):
            ref = x2[i] @ x2[j].T * (x0[i] @ x0[j])
            np.testing.assert_allclose(k2[5 * i : 5 * i + 5, 5 * j : 5 * j + 5], ref, atol=1e-14)
    # SA-GPR normalisation: tr K2(X, X) = 1
    full = kernel_lambda2(x2, x2, x0, x0, zeta=2.0)
    traces = np.einsum("imim->i", full.reshape(len(d), 5, len(d), 5))
    np.testing.assert_allclose(traces, 1.0, atol=1e-12)


# --------------------------------------------------------------------------- sparse GPR


def test_fps_known_answer_deterministic_and_distinct():
    x = np.array([[0.0], [1.0], [2.0], [10.0], [6.0], [2.0]])
    np.testing.assert_array_equal(farthest_point_sampling(x, 4, start=0), [0, 3, 4, 2])
    rng = np.random.default_rng(5)
    y = rng.normal(size=(200, 7))
    a = farthest_point_sampling(y, 50, seed=3)
    b = farthest_point_sampling(y, 50, seed=3)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a)) == 50
    assert a[0] == np.random.default_rng(3).integers(200)
    # all rows, including the duplicate, are returned once
    assert sorted(farthest_point_sampling(x, 6, seed=0).tolist()) == list(range(6))


def test_scalar_gpr_reproduces_noise_free_kernel_target(frames):
    d = compute_descriptors(frames, "Ti", SMALL, lambdas=(0,))
    rng = np.random.default_rng(0)
    alpha = rng.normal(size=len(d))
    y = kernel_lambda0(d.x0, d.x0, 2.0) @ alpha + 3.0
    exact = ScalarSparseGPR(zeta=2.0, regularisation=1e-10, n_active=None).fit(d.x0, y)
    assert exact.exact_
    np.testing.assert_allclose(exact.predict(d.x0), y, atol=1e-6 * np.abs(y).max())
    # projected-process path with M = N (all rows passed as the active set); its normal
    # equations square the condition number of K (here ~1e7), hence the looser tolerance
    pp = ScalarSparseGPR(zeta=2.0, regularisation=1e-10).fit(d.x0, y, active=np.arange(len(d)))
    assert not pp.exact_
    np.testing.assert_allclose(pp.predict(d.x0), y, atol=1e-4 * np.abs(y).max())
    # sparse (M < N): a target in the span of the M active kernel columns is recovered
    # (made zero-mean, as the scalar model subtracts the training mean)
    act = farthest_point_sampling(d.x0, 12, seed=1)
    k_nm = kernel_lambda0(d.x0, d.x0[act], 2.0)
    colmean = k_nm.mean(axis=0)
    beta = alpha[:12] - colmean * (colmean @ alpha[:12]) / (colmean @ colmean)
    y_s = k_nm @ beta
    assert abs(y_s.mean()) < 1e-12
    sp = ScalarSparseGPR(zeta=2.0, regularisation=1e-12, n_active=12, seed=1).fit(d.x0, y_s)
    np.testing.assert_array_equal(sp.active_indices_, act)
    np.testing.assert_allclose(sp.predict(d.x0), y_s, atol=1e-6 * np.abs(y_s).max())
    # several targets at once equal separate fits
    two = ScalarSparseGPR(zeta=2.0, regularisation=1e-3, n_active=20).fit(
        d.x0, np.column_stack([y, y_s])
    )
    one = ScalarSparseGPR(zeta=2.0, regularisation=1e-3, n_active=20).fit(d.x0, y_s)
    np.testing.assert_allclose(two.predict(d.x0)[:, 1], one.predict(d.x0), atol=1e-9)


def test_tensor_gpr_reproduces_noise_free_kernel_target(frames):
    d = compute_descriptors(frames[:3], "Li", SMALL)
    rng = np.random.default_rng(1)
    n = len(d)
    k = kernel_lambda2(d.x2, d.x2, d.x0, d.x0, zeta=2.0)
    y = (k @ rng.normal(size=5 * n)).reshape(n, 5)
    exact = TensorSparseGPR(zeta=2.0, regularisation=1e-10).fit(d.x0, d.x2, y)
    assert exact.exact_
    np.testing.assert_allclose(exact.predict(d.x0, d.x2), y, atol=1e-6 * np.abs(y).max())
    pp = TensorSparseGPR(zeta=2.0, regularisation=1e-10).fit(d.x0, d.x2, y, active=np.arange(n))
    assert not pp.exact_
    np.testing.assert_allclose(pp.predict(d.x0, d.x2), y, atol=1e-4 * np.abs(y).max())
    act = farthest_point_sampling(d.x0, 6, seed=2)
    y_s = (k[:, (5 * act[:, None] + np.arange(5)).ravel()] @ rng.normal(size=30)).reshape(n, 5)
    sp = TensorSparseGPR(zeta=2.0, regularisation=1e-12, n_active=6, seed=2).fit(d.x0, d.x2, y_s)
    np.testing.assert_allclose(sp.predict(d.x0, d.x2), y_s, atol=1e-6 * np.abs(y_s).max())


# --------------------------------------------------------------------------- models


@pytest.fixture(scope="module")
def trained(frames):
    centres = select_centres(frames[:5], "Li")
    efg = truncated_point_charge_efg(frames, centres)
    tensor = TensorSoapModel(SMALL_MODEL).fit(frames[:5], centres, efg)
    y = to_spherical(efg)
    scalar = ScalarSoapModel(SMALL_MODEL).fit(
        frames[:5], centres, {"norm": np.linalg.norm(y, axis=1), "m0": y[:, 2]}
    )
    return tensor, scalar, centres, efg


def test_tensor_model_fits_training_data_and_generalises(frames, trained):
    tensor, _, centres, efg = trained
    np.testing.assert_allclose(
        tensor.predict(frames[:5], centres), efg, atol=1e-2 * np.abs(efg).max()
    )
    test_c = select_centres(frames[5:], "Li")
    test_c[:, 0] += 5
    ref = truncated_point_charge_efg(frames, test_c)
    pred = tensor.predict(frames, test_c)
    # not a benchmark: only that 40 training sites beat predicting zero
    assert np.sqrt(((pred - ref) ** 2).mean()) < np.sqrt((ref**2).mean())


def test_tensor_predictions_are_equivariant(frames, trained):
    tensor, _, _, _ = trained
    test = frames[5]
    pred = tensor.predict([test], "Li")
    rng = np.random.default_rng(7)
    for r in random_rotations(3, rng):
        pred_rot = tensor.predict([rotated(test, r)], "Li")
        expected = rotate(pred, r)
        err = np.abs(pred_rot - expected).max() / np.abs(expected).max()
        assert err < 1e-8


def test_scalar_predictions_are_invariant(frames, trained):
    _, scalar, _, _ = trained
    test = frames[5]
    pred = scalar.predict([test], "Li")
    assert set(pred) == {"norm", "m0"}
    for r in random_rotations(3, np.random.default_rng(8)):
        pred_rot = scalar.predict([rotated(test, r)], "Li")
        for key, value in pred.items():
            assert np.abs(pred_rot[key] - value).max() <= 1e-8 * np.abs(value).max()


def test_equivariance_of_the_synthetic_target(frames):
    r = random_rotations(1, np.random.default_rng(2))[0]
    c = select_centres(frames[:1], "Li")
    a = truncated_point_charge_efg(frames[:1], c)
    b = truncated_point_charge_efg([rotated(frames[0], r)], c)
    np.testing.assert_allclose(b, rotate(a, r), atol=1e-10)


def test_save_load_round_trip(tmp_path, frames, trained):
    tensor, scalar, _, _ = trained
    for model in (tensor, scalar):
        path = tmp_path / f"{type(model).__name__}.npz"
        model.save(path)
        loaded = type(model).load(path)
        assert loaded.hypers == model.hypers
        again = load_model(path)
        assert type(again) is type(model)
        if isinstance(model, TensorSoapModel):
            np.testing.assert_array_equal(loaded.predict(frames, "Li"), model.predict(frames, "Li"))
        else:
            p, q = loaded.predict(frames, "Li"), model.predict(frames, "Li")
            assert list(p) == list(q)
            for key in p:
                np.testing.assert_array_equal(p[key], q[key])
    with pytest.raises(ValueError, match="not a ScalarSoapModel"):
        ScalarSoapModel.load(tmp_path / "TensorSoapModel.npz")
    with pytest.raises(ValueError, match="trained on centres of species"):
        tensor.predict(frames, "Ti")


def test_wrong_format_version_refused(tmp_path, trained):
    tensor = trained[0]
    path = tmp_path / "model.npz"
    tensor.save(path)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["format_version"] = np.array(FORMAT_VERSION + 1)
    bad = tmp_path / "future.npz"
    with open(bad, "wb") as fh:
        np.savez(fh, **arrays)
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}"):
        load_model(bad)
    np.save(tmp_path / "junk.npy", np.zeros(3))
    with open(tmp_path / "junk.npz", "wb") as fh:
        np.savez(fh, a=np.zeros(3))
    with pytest.raises(ValueError, match="not an ltoefg baselines model"):
        load_model(tmp_path / "junk.npz")


def test_hypers_round_trip_and_validation():
    h = Hypers(cutoff=4.5, n_active=None)
    assert Hypers.from_dict(h.to_dict()) == h
    with pytest.raises(ValueError, match="unknown"):
        Hypers.from_dict({"cutof": 4.0})
    with pytest.raises(ValueError):
        Hypers(sigma=-1.0)


def test_cubic_site_has_zero_lambda2_features_and_zero_predicted_efg(trained):
    """Li on 8a of the ideal spinel has Td symmetry: no λ = 2 signal, EFG exactly 0."""
    tensor = trained[0]
    x = 0.2625
    ideal = crystal(
        ["Li", "Ti", "O"],
        basis=[(0.125, 0.125, 0.125), (0.5, 0.5, 0.5), (x, x, x)],
        spacegroup=227,
        setting=2,
        cellpar=[8.36, 8.36, 8.36, 90, 90, 90],
    )
    x2, _ = lambda_soap([ideal], "Li", SMALL)
    assert np.all(x2 == 0.0)
    assert np.all(tensor.predict([ideal], "Li") == 0.0)
    # and the reference target agrees
    c = select_centres([ideal], "Li")
    assert np.abs(truncated_point_charge_efg([ideal], c)).max() < 1e-10


def test_singular_normal_matrix_is_solved_with_a_diagonal_shift(frames):
    """Duplicated active environments make K_MM singular: Cholesky is retried with a shift."""
    d = compute_descriptors(frames[:2], "Li", SMALL)
    x0 = np.concatenate([d.x0, d.x0])
    x2 = np.concatenate([d.x2, d.x2])
    rng = np.random.default_rng(4)
    k = kernel_lambda2(x2, d.x2, x0, d.x0, zeta=2.0)
    y = (k @ rng.normal(size=5 * len(d))).reshape(-1, 5)
    gpr = TensorSparseGPR(zeta=2.0, regularisation=0.0, jitter=0.0)
    gpr.fit(x0, x2, y, active=np.arange(len(x0)))
    assert 0 < gpr.shift_ < np.inf
    np.testing.assert_allclose(gpr.predict(d.x0, d.x2), y[: len(d)], atol=1e-4 * np.abs(y).max())
