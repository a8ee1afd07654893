"""Known-answer tests of Δ-learning on the point-charge prior (baselines/models/delta.py, issue 13).

The plumbing check of the issue: on point-charge (pcm) labels the fitted
effective charges are the labeller's own — formal charges (Li +1, Ti +4,
O −2) times the Sternheimer factor (1 − γ∞) of the nucleus (Li 0.729, Ti and
O 1) — and the Δ-model is exact.
"""

from __future__ import annotations

import numpy as np
import pytest

featomic = pytest.importorskip("featomic")

from ase import Atoms  # noqa: E402
from test_baselines_engine import (  # noqa: E402
    SMALL_MODEL,
    lto_like_frames,
    rotated,
    truncated_point_charge_efg,
)

from baselines.engine.features import select_centres  # noqa: E402
from baselines.models.delta import (  # noqa: E402
    PRIOR_SPECIES,
    DeltaTensorModel,
    FieldCache,
    fit_scale_factors,
    prior_efg,
    species_fields,
)
from baselines.models.lode import LodeHypers  # noqa: E402
from baselines.models.soap import load_model  # noqa: E402
from baselines.runs.beyond import apply_values, best_from_record, entry_notes  # noqa: E402
from ltoefg.data.pointcharge import (  # noqa: E402
    ANTISHIELDING_FACTORS,
    FORMAL_CHARGES,
    ewald_efg,
    pcm_efg,
)
from ltoefg.tensors import random_rotations, rotate  # noqa: E402

#: The labeller's effective charges per nucleus: (1 − γ∞[nucleus]) × formal charge[s].
LABELLER = {
    nucleus: np.array([ANTISHIELDING_FACTORS[nucleus] * FORMAL_CHARGES[s] for s in PRIOR_SPECIES])
    for nucleus in ("Li", "Ti", "O")
}


def labels(frames: list[Atoms], centres: np.ndarray) -> np.ndarray:
    return np.stack([pcm_efg(frames[s])[a] for s, a in centres])


@pytest.fixture(scope="module")
def frames() -> list[Atoms]:
    return lto_like_frames(7, seed=31)


def test_labeller_values_are_the_documented_numbers():
    np.testing.assert_allclose(LABELLER["Li"], [0.729, 2.916, -1.458], atol=1e-15)
    np.testing.assert_allclose(LABELLER["Ti"], [1.0, 4.0, -2.0], atol=1e-15)
    np.testing.assert_allclose(LABELLER["O"], [1.0, 4.0, -2.0], atol=1e-15)


def test_species_fields_are_linear_pieces_of_the_ewald_efg(frames):
    at = frames[0]
    fields = species_fields(at)
    assert fields.shape == (len(at), 3, 3, 3)
    q = np.array([FORMAL_CHARGES[s] for s in PRIOR_SPECIES])
    np.testing.assert_allclose(prior_efg(fields, q), ewald_efg(at), atol=1e-9)
    np.testing.assert_allclose(np.trace(fields, axis1=2, axis2=3), 0.0, atol=1e-9)
    np.testing.assert_allclose(fields, np.swapaxes(fields, 2, 3), atol=1e-12)
    # one species alone, by hand
    np.testing.assert_allclose(
        fields[:, 1], ewald_efg(at, charges=(at.numbers == 22).astype(float)), atol=1e-12
    )
    # a species absent from the structure gives a zero field
    assert np.all(species_fields(at, ("Li", "Fe"))[:, 1] == 0.0)


@pytest.mark.parametrize("nucleus", ["Li", "Ti", "O"])
def test_fitted_scale_factors_are_the_labellers(frames, nucleus):
    centres = select_centres(frames[:2], nucleus)
    fields = FieldCache(frames).get(centres)
    factors = fit_scale_factors(fields, labels(frames, centres))
    np.testing.assert_allclose(factors, LABELLER[nucleus], rtol=1e-8, atol=1e-8)
    # scaling the labels scales the factors (the fit is linear)
    np.testing.assert_allclose(
        fit_scale_factors(fields, -3.0 * labels(frames, centres)), -3.0 * LABELLER[nucleus]
    )


def test_field_cache_rows_and_reuse(frames):
    cache = FieldCache(frames)
    centres = np.array([[2, 5], [0, 1], [2, 0], [0, 1]])
    got = cache.get(centres)
    assert sorted(cache._fields) == [0, 2]
    np.testing.assert_array_equal(got[1], got[3])
    np.testing.assert_allclose(got[0], species_fields(frames[2])[5], atol=0)
    before = cache._fields[2]
    cache.get(np.array([[2, 3]]))
    assert cache._fields[2] is before


def test_delta_model_is_exact_on_point_charge_labels(frames):
    centres = select_centres(frames[:4], "Li")
    model = DeltaTensorModel(SMALL_MODEL).fit(frames[:4], centres, labels(frames, centres))
    np.testing.assert_allclose(model.scale_factors_, LABELLER["Li"], rtol=1e-8)
    test_c = select_centres(frames, "Li")
    test_c = test_c[test_c[:, 0] >= 4]
    ref = labels(frames, test_c)
    np.testing.assert_allclose(model.predict(frames, test_c), ref, atol=1e-8 * np.abs(ref).max())


@pytest.fixture(scope="module")
def trained_on_other_labels(frames):
    """Labels outside the prior's span (pcm + a truncated 4 Å point-charge sum)."""
    centres = select_centres(frames[:5], "Ti")
    y = labels(frames, centres) + truncated_point_charge_efg(frames, centres, r_cut=4.0)
    return DeltaTensorModel(SMALL_MODEL).fit(frames[:5], centres, y), centres, y


def test_delta_model_predictions_are_equivariant(frames, trained_on_other_labels):
    model = trained_on_other_labels[0]
    residual = model.predict(frames[6:], "Ti") - model.prior(model.descriptors(frames[6:], "Ti"))
    assert np.abs(residual).max() > 1e-3  # the λ-SOAP part is not trivial here
    test = frames[6]
    pred = model.predict([test], "Ti")
    for r in random_rotations(3, np.random.default_rng(9)):
        pred_rot = model.predict([rotated(test, r)], "Ti")
        expected = rotate(pred, r)
        assert np.abs(pred_rot - expected).max() / np.abs(expected).max() < 1e-8


def test_save_load_round_trip(tmp_path, frames, trained_on_other_labels):
    model = trained_on_other_labels[0]
    path = tmp_path / "delta.npz"
    model.save(path)
    loaded = load_model(path)
    assert type(loaded) is DeltaTensorModel
    np.testing.assert_array_equal(loaded.scale_factors_, model.scale_factors_)
    np.testing.assert_array_equal(loaded.predict(frames, "Ti"), model.predict(frames, "Ti"))


def test_unfitted_model_and_missing_fields_refused(frames, trained_on_other_labels):
    with pytest.raises(RuntimeError, match="not fitted"):
        DeltaTensorModel(SMALL_MODEL).prior(
            DeltaTensorModel(SMALL_MODEL).descriptors(frames[:1], "Ti")
        )
    plain = trained_on_other_labels[0]
    from baselines.models.soap import TensorSoapModel

    with pytest.raises(ValueError, match="prior fields"):
        plain.predict_descriptors(TensorSoapModel(SMALL_MODEL).descriptors(frames[:1], "Ti"))


def test_pipeline_glue_helpers():
    """Design values go to the right hyperparameter set; records round-trip; notes name a_s."""
    h, lode = apply_values(SMALL_MODEL, LodeHypers(), {"smearing": 0.3, "regularisation": 1e-3})
    assert lode.smearing == 0.3 and h.regularisation == 1e-3 and h.cutoff == SMALL_MODEL.cutoff
    record = {"hypers": h.to_dict(), "lode": lode.to_dict()}
    assert best_from_record("lode", record) == {
        "smearing": 0.3,
        "radius": lode.radius,
        "regularisation": 1e-3,
    }
    assert set(best_from_record("delta", record)) == {"cutoff", "sigma", "regularisation"}
    notes = entry_notes("delta", {"Li": {"prior_scale_factors_e": {"Li": 0.729, "Ti": 2.916}}})
    assert "Li (Li 0.729, Ti 2.916)" in notes
    assert entry_notes("lode", {}) == ""
