"""Known-answer tests of λ-SOAP + LODE (baselines/models/lode.py, issue 13).

Structures are built here (the LTO-like cells of test_baselines_engine, and a
sparse triclinic cell), labels are Ewald point-charge EFGs, so nothing depends
on a released data set.
"""

from __future__ import annotations

import numpy as np
import pytest

featomic = pytest.importorskip("featomic")

from ase import Atoms  # noqa: E402
from test_baselines_engine import SMALL_MODEL, lto_like_frames, rotated  # noqa: E402

from baselines.engine.features import select_centres  # noqa: E402
from baselines.models.lode import (  # noqa: E402
    LodeHypers,
    LodeTensorModel,
    join_features,
    lode_coefficients,
    lode_scale,
)
from baselines.models.soap import TensorSoapModel, load_model  # noqa: E402
from ltoefg.data.pointcharge import ewald_efg, pcm_efg  # noqa: E402
from ltoefg.tensors import random_rotations, rotate, to_spherical  # noqa: E402

SMALL_LODE = LodeHypers(smearing=0.5, radius=2.0, n_max=3)
SPECIES = (3, 8, 22)


def sparse_cell() -> Atoms:
    """5 charges in a triclinic 11–13 Å cell, ≥ 3.4 Å apart (no cubic symmetry)."""
    cell = np.array([[11.0, 0.0, 0.0], [1.5, 12.0, 0.0], [0.7, -1.1, 13.0]])
    frac = [[0.1, 0.1, 0.1], [0.6, 0.5, 0.45], [0.15, 0.62, 0.6], [0.6, 0.1, 0.7], [0.2, 0.3, 0.95]]
    return Atoms(numbers=[3, 8, 22, 8, 3], scaled_positions=frac, cell=cell, pbc=True)


def pcm_labels(frames: list[Atoms], centres: np.ndarray) -> np.ndarray:
    """pcm labels (formal charges × Sternheimer factor, full Ewald sum) of ``centres``."""
    return np.stack([pcm_efg(frames[s])[a] for s, a in centres])


@pytest.fixture(scope="module")
def frames() -> list[Atoms]:
    return lto_like_frames(7, seed=23)


@pytest.fixture(scope="module")
def trained(frames):
    centres = select_centres(frames[:5], "Li")
    model = LodeTensorModel(SMALL_MODEL, SMALL_LODE).fit(
        frames[:5], centres, pcm_labels(frames, centres)
    )
    return model, centres


def test_lode_lambda2_is_the_species_point_charge_efg_far_from_the_charges():
    """Charges ≥ 3.4 Å away, σ 0.3 Å, radius 1 Å: L_{s,n} = c_n · E_s, c_n alike for all s."""
    at = sparse_cell()
    hyp = LodeHypers(smearing=0.3, radius=1.0, n_max=3)
    lode = lode_coefficients([at], np.array([[0, i] for i in range(len(at))]), hyp)
    assert lode.shape == (5, 5, 9)
    ratios = np.zeros((3, 3))
    for k, z in enumerate(SPECIES):
        y = to_spherical(ewald_efg(at, charges=(at.numbers == z).astype(float)))
        for n in range(3):
            block = lode[:, :, 3 * k + n]
            ratios[k, n] = np.sum(block * y) / np.sum(y * y)
            assert np.abs(block - ratios[k, n] * y).max() < 1e-3 * np.abs(block).max()
    # one proportionality constant per radial function, whatever the species
    np.testing.assert_allclose(ratios, np.broadcast_to(ratios[0], (3, 3)), rtol=1e-3)
    assert np.all(np.abs(ratios) > 1e-3)


def test_lode_rows_follow_centres_across_batches(frames):
    centres = select_centres(frames[:3], "O")
    order = np.r_[np.arange(len(centres))[::-1], 5]
    a = lode_coefficients(frames[:3], centres, SMALL_LODE, batch_size=1)
    b = lode_coefficients(frames[:3], centres[order], SMALL_LODE, batch_size=2)
    np.testing.assert_allclose(b, a[order], atol=1e-14)
    assert np.abs(a).max() > 0


def test_joined_features_have_unit_mean_trace(frames):
    x2 = np.random.default_rng(1).normal(size=(6, 5, 4))
    x2 /= np.linalg.norm(x2.reshape(6, -1), axis=1)[:, None, None]
    lode = lode_coefficients(frames[:1], select_centres(frames[:1], "Li")[:6], SMALL_LODE)
    joined = join_features(x2, lode, lode_scale(lode), weight=0.7)
    assert joined.shape == (6, 5, 4 + 9)
    traces = np.einsum("imf,imf->i", joined, joined)
    assert traces.mean() == pytest.approx(1.0, abs=1e-12)
    c1 = 1 / np.sqrt(1 + 0.49)
    np.testing.assert_allclose(joined[:, :, :4], c1 * x2, atol=1e-15)
    assert lode_scale(np.zeros((3, 5, 9))) == 0.0


def test_lode_model_predictions_are_equivariant(frames, trained):
    model, _ = trained
    test = frames[6]
    pred = model.predict([test], "Li")
    assert np.abs(pred).max() > 0
    for r in random_rotations(3, np.random.default_rng(7)):
        pred_rot = model.predict([rotated(test, r)], "Li")
        expected = rotate(pred, r)
        assert np.abs(pred_rot - expected).max() / np.abs(expected).max() < 1e-8


def test_lode_beats_lambda_soap_on_full_point_charge_labels(frames, trained):
    """The 1/r³ tail beyond the cutoff is what λ-SOAP misses and LODE sees."""
    lode_model, centres = trained
    soap_model = TensorSoapModel(SMALL_MODEL).fit(frames[:5], centres, pcm_labels(frames, centres))
    test_c = select_centres(frames, "Li")
    test_c = test_c[test_c[:, 0] >= 5]
    ref = pcm_labels(frames, test_c)

    def rmse(model):
        return np.sqrt(np.mean((model.predict(frames, test_c) - ref) ** 2))

    assert rmse(lode_model) < 0.5 * rmse(soap_model)


def test_save_load_round_trip(tmp_path, frames, trained):
    model, _ = trained
    path = tmp_path / "lode.npz"
    model.save(path)
    loaded = load_model(path)
    assert type(loaded) is LodeTensorModel
    assert loaded.lode == SMALL_LODE and loaded.hypers == SMALL_MODEL
    assert loaded.lode_scale_ == model.lode_scale_ > 0
    np.testing.assert_array_equal(loaded.predict(frames, "Li"), model.predict(frames, "Li"))
    assert LodeTensorModel.load(path).lode == SMALL_LODE


def test_lode_hypers_round_trip_and_validation():
    h = LodeHypers(smearing=0.4, radius=2.5, n_max=4, weight=2.0, k_cutoff=9.0)
    assert LodeHypers.from_dict(h.to_dict()) == h
    assert h.n_features == 12
    assert h.featomic_hypers()["k_cutoff"] == 9.0
    with pytest.raises(ValueError, match="unknown"):
        LodeHypers.from_dict({"smear": 0.4})
    with pytest.raises(ValueError):
        LodeHypers(smearing=0.0)
    with pytest.raises(ValueError):
        LodeHypers(species=(8, 3))


def test_model_refuses_descriptors_without_lode(frames, trained):
    model, centres = trained
    plain = TensorSoapModel(SMALL_MODEL).descriptors(frames[:1], "Li")
    with pytest.raises(ValueError, match="LODE"):
        model.predict_descriptors(plain)
