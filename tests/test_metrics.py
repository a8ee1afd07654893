"""Known answers for ltoefg.metrics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ltoefg import constants as C
from ltoefg import metrics, nmr
from ltoefg.tensors import random_rotations

MU, SIGMA = 1.2, 0.4


def random_efg(rng: np.random.Generator, n: int) -> np.ndarray:
    a = rng.normal(size=(n, 3, 3))
    return (
        0.5 * (a + np.swapaxes(a, 1, 2))
        - np.trace(a, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    )


def test_identical_prediction_scores_zero(rng: np.random.Generator) -> None:
    ref = random_efg(rng, 400)
    rep = metrics.report(ref, ref.copy(), "Li", MU, SIGMA)
    assert list(rep) == list(C.NUCLEUS_REPORT_KEYS)
    for key in (
        C.R_MAE_CQ_TILDE, C.R_MAE_ETA_TILDE, C.R_MAE_THETA_DEG, C.R_MAE_PHI_DEG,
        C.R_MAE_THETA_DEG_REASSIGNED, C.R_MAE_PHI_DEG_REASSIGNED, C.R_FRAC_REASSIGNED,
        C.R_MAE_XI, C.R_MAE_OMEGA_Q_KHZ, C.R_MAE_VIJ, C.R_RMSE_VIJ, C.R_W1_CQ_TILDE,
        C.R_W1_OMEGA_Q_KHZ, C.R_SCORE,
    ):  # fmt: skip
        assert rep[key] == pytest.approx(0.0, abs=1e-7), key
    assert rep[C.R_MEAN_XI] == pytest.approx(1.0, abs=1e-12)
    assert rep[C.R_MEDIAN_MISORIENTATION_DEG] == pytest.approx(0.0, abs=1e-4)
    assert rep[C.R_FRAC_OMEGA_Q_WITHIN] == 1.0
    assert rep[C.R_R_CQ_TILDE] == pytest.approx(1.0)
    assert rep[C.R_N] == 400


def test_xi_ignores_eigenvector_sign_choices(rng: np.random.Generator) -> None:
    frames = nmr.principal_axes(random_efg(rng, 300)).frames
    flips = rng.choice([-1.0, 1.0], size=(300, 1, 3))
    other = frames * flips
    other[np.linalg.det(other) < 0, :, 0] *= -1  # another solver's proper frame of the same axes
    np.testing.assert_allclose(metrics.quaternion_dot(frames, other), 1.0, atol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, 2])
@pytest.mark.parametrize("alpha_deg", [3.0, 17.0, 45.0, 80.0])
def test_rotation_about_pas_axis_gives_that_misorientation(
    rng: np.random.Generator, axis: int, alpha_deg: float
) -> None:
    ref = random_efg(rng, 50)
    pas = nmr.principal_axes(ref)
    # rotation by α about each site's own PAS axis: R_pred = R_ref · Rot_axis(α)
    local = Rotation.from_rotvec(np.eye(3)[axis] * np.radians(alpha_deg)).as_matrix()
    frames_pred = pas.frames @ local
    pred = frames_pred @ (pas.eigenvalues[:, :, None] * np.swapaxes(frames_pred, 1, 2))
    xi = metrics.quaternion_dot(pas.frames, nmr.principal_axes(pred).frames)
    np.testing.assert_allclose(metrics.misorientation_deg(xi), alpha_deg, atol=1e-6)
    rep = metrics.report(ref, pred, "O", MU, SIGMA)
    assert rep[C.R_MEDIAN_MISORIENTATION_DEG] == pytest.approx(alpha_deg, abs=1e-6)
    assert rep[C.R_MAE_CQ_TILDE] == pytest.approx(0.0, abs=1e-12)
    assert rep[C.R_MAE_ETA_TILDE] == pytest.approx(0.0, abs=1e-12)


#: Keys that use the tensor with its sign (SPEC §2 "Signs (v2)"): ωQ and the element errors.
SIGNED_KEYS = {
    C.R_MAE_OMEGA_Q_KHZ,
    C.R_FRAC_OMEGA_Q_WITHIN,
    C.R_R_OMEGA_Q,
    C.R_W1_OMEGA_Q_KHZ,
    C.R_MAE_VIJ,
    C.R_RMSE_VIJ,
}


def test_negation_changes_only_the_signed_metrics(rng: np.random.Generator) -> None:
    ref = random_efg(rng, 300)
    pred = ref + 0.1 * random_efg(rng, 300)
    a = metrics.report(ref, pred, "Li", MU, SIGMA)
    b = metrics.report(ref, -pred, "Li", MU, SIGMA)
    both = metrics.report(-ref, -pred, "Li", MU, SIGMA)
    for key in C.NUCLEUS_REPORT_KEYS:
        assert both[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), key
        if key not in SIGNED_KEYS:
            assert b[key] == pytest.approx(a[key], rel=1e-9, abs=1e-12), key
    # −pred is a different tensor: its element error is |P(−V) − P(V_ref)|, not zero-ish
    assert b[C.R_MAE_VIJ] > 5 * a[C.R_MAE_VIJ]
    assert b[C.R_MAE_OMEGA_Q_KHZ] > 5 * a[C.R_MAE_OMEGA_Q_KHZ]
    assert b[C.R_R_OMEGA_Q] < 0 < a[C.R_R_OMEGA_Q]


def test_phi_error_is_periodic() -> None:
    assert metrics.phi_error(np.radians(-89.0), np.radians(89.0)) == pytest.approx(np.radians(2.0))
    assert metrics.phi_error(np.radians(10.0), np.radians(40.0)) == pytest.approx(np.radians(30.0))
    assert metrics.theta_error(0.1, 0.4) == pytest.approx(0.3)


def _with_frame(frame: np.ndarray, eig: tuple[float, float, float]) -> np.ndarray:
    return frame @ np.diag(eig) @ frame.T


def test_reassignment_fixes_swapped_near_degenerate_axes(rng: np.random.Generator) -> None:
    frames = random_rotations(40, rng)
    # reference: |Vyy| = 0.97, |Vzz| = 0.99 (within τ|Vzz| = 0.099)
    ref = np.array([_with_frame(f, (-0.02, -0.97, 0.99)) for f in frames])
    # prediction: same axes, but noise made |V along ref y| the largest → labels y/z swap
    pred = np.array([_with_frame(f, (0.02, -0.99, 0.97)) for f in frames])
    rep = metrics.report(ref, pred, "Li", MU, SIGMA)
    assert rep[C.R_FRAC_REASSIGNED] == 1.0
    assert rep[C.R_MEDIAN_MISORIENTATION_DEG] == pytest.approx(90.0, abs=1e-6)
    assert rep[C.R_MAE_THETA_DEG_REASSIGNED] == pytest.approx(0.0, abs=1e-6)
    assert rep[C.R_MAE_PHI_DEG_REASSIGNED] == pytest.approx(0.0, abs=1e-6)
    assert rep[C.R_MAE_THETA_DEG] + rep[C.R_MAE_PHI_DEG] > 10.0


def test_reassignment_leaves_good_or_non_degenerate_sites_alone(rng: np.random.Generator) -> None:
    frames = random_rotations(40, rng)
    near = np.array([_with_frame(f, (-0.02, -0.97, 0.99)) for f in frames])
    rep = metrics.report(near, near.copy(), "Li", MU, SIGMA)
    assert rep[C.R_FRAC_REASSIGNED] == 0.0
    # well-separated eigenvalues, prediction rotated by 30°: no relabelling allowed
    ref = np.array([_with_frame(f, (-0.2, -0.8, 1.0)) for f in frames])
    turn = Rotation.from_rotvec([0.0, 0.0, np.radians(30.0)]).as_matrix()
    pred = np.array([_with_frame(f @ turn, (-0.2, -0.8, 1.0)) for f in frames])
    rep = metrics.report(ref, pred, "Li", MU, SIGMA)
    assert rep[C.R_FRAC_REASSIGNED] == 0.0
    assert rep[C.R_MAE_THETA_DEG_REASSIGNED] == rep[C.R_MAE_THETA_DEG]
    assert rep[C.R_MAE_PHI_DEG_REASSIGNED] == rep[C.R_MAE_PHI_DEG]


def test_reassignment_tolerance_is_a_parameter(rng: np.random.Generator) -> None:
    frames = random_rotations(10, rng)
    ref = np.array([_with_frame(f, (-0.02, -0.97, 0.99)) for f in frames])
    pred = np.array([_with_frame(f, (0.02, -0.99, 0.97)) for f in frames])
    # τ = 0.01: |0.97 − 0.99| = 0.02 > 0.0099 → no relabelling
    assert metrics.report(ref, pred, "Li", MU, SIGMA, tau=0.01)[C.R_FRAC_REASSIGNED] == 0.0


def test_element_errors_known_value() -> None:
    ref = np.diag([-1.0, -1.0, 2.0])[None]
    pred = np.diag([-1.5, -0.5, 2.0])[None]
    mae, rmse = metrics.element_errors(ref, pred)
    assert mae == pytest.approx(1.0 / 9.0)
    assert rmse == pytest.approx(np.sqrt(0.5 / 9.0))


def test_observables_submission_from_reference_scores_zero(rng: np.random.Generator) -> None:
    ref = random_efg(rng, 300)
    obs = nmr.observables(ref, "Ti", MU, SIGMA)
    pred = {k: obs[k].to_numpy() for k in C.PRED_OBSERVABLES_REQUIRED}
    pred[C.PRED_SIGN_VZZ] = np.sign(obs["vzz"].to_numpy())
    rep = metrics.report_observables(ref, pred, "Ti", MU, SIGMA)
    for key in (C.R_MAE_CQ_TILDE, C.R_MAE_ETA_TILDE, C.R_MAE_THETA_DEG, C.R_MAE_PHI_DEG):
        assert rep[key] == pytest.approx(0.0, abs=1e-12)
    # ωQ derived from C̃Q, η̃, θ, φ and sign(Vzz) reproduces the reference
    assert rep[C.R_MAE_OMEGA_Q_KHZ] == pytest.approx(0.0, abs=1e-8)
    assert rep[C.R_FRAC_OMEGA_Q_WITHIN] == 1.0
    for key in C.TENSOR_ONLY_KEYS:
        assert rep[key] is None, key
    pred[C.OBS_OMEGA_Q_KHZ] = obs[C.OBS_OMEGA_Q_KHZ].to_numpy() + 20.0
    rep = metrics.report_observables(ref, pred, "Ti", MU, SIGMA)
    assert rep[C.R_MAE_OMEGA_Q_KHZ] == pytest.approx(20.0)
    assert rep[C.R_FRAC_OMEGA_Q_WITHIN] == 0.0


def test_wasserstein_of_shifted_distribution() -> None:
    x = np.linspace(0, 1, 101)
    assert metrics.wasserstein_1(x, x + 0.25) == pytest.approx(0.25)


def test_pearson_undefined_is_none() -> None:
    assert metrics.pearson_r(np.ones(5), np.arange(5.0)) is None


def test_score_is_mean_of_three() -> None:
    assert metrics.score(0.3, 0.6, 0.0) == pytest.approx(0.3)
    assert metrics.score(0.3, 0.6, None) is None


def test_shape_mismatch_is_refused(rng: np.random.Generator) -> None:
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.report(random_efg(rng, 3), random_efg(rng, 4), "Li", MU, SIGMA)
