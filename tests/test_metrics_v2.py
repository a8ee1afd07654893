"""Metrics v2 (SPEC §2 "Signs (v2)", §3, §3.1; issue 9): known answers that v1 got wrong.

* ωQ is continuous along a path of tensors through η = 1, where Vzz changes
  sign; the v1 per-site flip (kept as :func:`ltoefg.nmr.omega_q_khz_v1` for this
  contrast only) jumps by 2|ωQ| on the same path.
* ``mae_vij`` / ``rmse_vij`` are the plain Eq. 6 errors of P(V_pred) − P(V_ref).
* ``mean_xi_reassigned`` is ξ after the eigenvalue reassignment.
* No report value is NaN or inf, also where an input is constant.
* ``sign_vzz`` of an observables prediction fixes the sign of the derived ωQ.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ltoefg import constants as C
from ltoefg import metrics, nmr
from ltoefg.tensors import random_rotations, symmetric_traceless

MU, SIGMA = 1.0, 0.3


def eta_one_path(n: int = 201, half_width: float = 0.05, seed: int = 4) -> np.ndarray:
    """Tensors R·diag(−t, −1 + t/2, 1 + t/2)·Rᵀ for t ∈ [−w, w] in one random lab frame.

    At t = 0 the PAS is (0, −1, 1): η = 1 and |Vyy| = |Vzz|. For t < 0 the
    eigenvalue −1 + t/2 is the largest in magnitude (Vzz < 0), for t > 0 it is
    1 + t/2 (Vzz > 0): Vzz changes sign while the tensor moves smoothly.
    """
    frame = random_rotations(1, np.random.default_rng(seed))[0]
    ts = np.linspace(-half_width, half_width, n)
    return np.array([frame @ np.diag([-t, -1.0 + t / 2, 1.0 + t / 2]) @ frame.T for t in ts])


@pytest.mark.parametrize("nucleus", ["Li", "Ti", "O"])
def test_omega_q_is_continuous_through_eta_one(nucleus: str) -> None:
    path = eta_one_path()
    pas = nmr.principal_axes(path)
    assert pas.vzz[0] < 0 < pas.vzz[-1]  # the path really crosses the sign change
    assert nmr.eta_from_eigenvalues(pas.eigenvalues).max() == pytest.approx(1.0)
    lab = nmr.omega_q_khz(path, nucleus)
    via_angles = nmr.observables(path, nucleus, MU, SIGMA)["omega_q_khz"].to_numpy()
    np.testing.assert_allclose(via_angles, lab, rtol=1e-9, atol=1e-9)
    # continuity: ωQ is linear in the tensor, so consecutive steps are all alike
    # (the path is linear in t) and small
    steps = np.diff(lab)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-6, atol=1e-9)
    assert np.abs(steps).max() < 0.01 * np.abs(lab).max()
    # the v1 flip on the same path jumps by 2|ωQ| at the sign change of Vzz
    v1 = nmr.omega_q_khz_v1(path, nucleus)
    jump = np.abs(np.diff(v1)).max()
    k = int(np.argmax(np.abs(np.diff(v1))))
    assert pas.vzz[k] < 0 < pas.vzz[k + 1]
    assert jump == pytest.approx(np.abs(lab[k]) + np.abs(lab[k + 1]), rel=1e-9)
    assert jump > 50 * np.abs(steps).max()


def test_omega_q_error_of_a_near_eta_one_prediction_is_small() -> None:
    """A prediction a hair away from the reference across η = 1 has a hair of ωQ error."""
    path = eta_one_path(n=11)
    ref, pred = path[4:5], path[6:7]  # Vzz < 0 and Vzz > 0, tensors 0.01 apart
    rep = metrics.report(ref, pred, "Li", MU, SIGMA)
    expected = abs(nmr.omega_q_khz(pred, "Li")[0] - nmr.omega_q_khz(ref, "Li")[0])
    assert rep[C.R_MAE_OMEGA_Q_KHZ] == pytest.approx(expected, rel=1e-9)
    assert rep[C.R_MAE_OMEGA_Q_KHZ] < 1.0  # kHz
    # v1: the flip turns a 0.01 V/Å² tensor difference into |ωQ_ref| + |ωQ_pred|
    v1 = abs(nmr.omega_q_khz_v1(pred, "Li")[0] - nmr.omega_q_khz_v1(ref, "Li")[0])
    lab_ref, lab_pred = nmr.omega_q_khz(ref, "Li")[0], nmr.omega_q_khz(pred, "Li")[0]
    assert v1 == pytest.approx(abs(lab_ref) + abs(lab_pred), rel=1e-9)
    assert v1 > 50 * rep[C.R_MAE_OMEGA_Q_KHZ]


def test_mae_vij_is_the_plain_eq6_mae_on_a_sign_changing_pair() -> None:
    # reference Vzz = +1.00 (η = 0.98); prediction Vzz = −1.00: the v1 sign flip
    # compared +P(ref) with −P(pred) and reported ≈ 0.44 V/Å² here
    ref = np.diag([-0.01, -0.99, 1.00])[None]
    pred = np.diag([0.01, -1.00, 0.99])[None]
    mae, rmse = metrics.element_errors(ref, pred)
    assert mae == pytest.approx((0.02 + 0.01 + 0.01) / 9, rel=1e-12)
    assert rmse == pytest.approx(np.sqrt((0.02**2 + 0.01**2 + 0.01**2) / 9), rel=1e-12)
    rep = metrics.report(ref, pred, "O", MU, SIGMA)
    assert rep[C.R_MAE_VIJ] == pytest.approx(mae, rel=1e-12)
    assert rep[C.R_RMSE_VIJ] == pytest.approx(rmse, rel=1e-12)


def test_mae_vij_equals_eq6_written_out(rng: np.random.Generator) -> None:
    ref = symmetric_traceless(rng.normal(size=(50, 3, 3)))
    pred = ref + 0.3 * rng.normal(size=(50, 3, 3))  # not symmetric, not traceless
    p_ref, p_pred = symmetric_traceless(ref), symmetric_traceless(pred)
    total = sum(
        abs(p_pred[n, i, j] - p_ref[n, i, j]) for n in range(50) for i in range(3) for j in range(3)
    )
    rep = metrics.report(ref, pred, "Li", MU, SIGMA)
    assert rep[C.R_MAE_VIJ] == pytest.approx(total / (9 * 50), rel=1e-12)


def test_mean_xi_reassigned_on_swapped_axes() -> None:
    frames = random_rotations(30, np.random.default_rng(2))
    ref = np.array([f @ np.diag([-0.02, -0.97, 0.99]) @ f.T for f in frames])
    pred = np.array([f @ np.diag([0.02, -0.99, 0.97]) @ f.T for f in frames])  # y/z labels swap
    rep = metrics.report(ref, pred, "Li", MU, SIGMA)
    assert rep[C.R_MEAN_XI] == pytest.approx(np.cos(np.radians(45.0)), abs=1e-9)  # 90° off
    assert rep[C.R_MEAN_XI_REASSIGNED] == pytest.approx(1.0, abs=1e-9)
    assert rep[C.R_SCORE] == pytest.approx(
        np.mean([rep[C.R_MAE_CQ_TILDE], rep[C.R_MAE_ETA_TILDE], 1 - np.cos(np.radians(45.0))])
    )  # the score keeps the raw ξ
    far = metrics.report(ref, pred, "Li", MU, SIGMA, tau=0.0)  # no relabelling allowed
    assert far[C.R_MEAN_XI_REASSIGNED] == pytest.approx(far[C.R_MEAN_XI], abs=1e-12)


@pytest.mark.parametrize("which", ["reference", "prediction", "both"])
def test_constant_input_gives_null_correlations_and_no_nan(which: str) -> None:
    rng = np.random.default_rng(8)
    varied = symmetric_traceless(rng.normal(size=(40, 3, 3)))
    constant = np.repeat(np.diag([-0.2, -0.8, 1.0])[None], 40, axis=0)
    ref = constant if which in ("reference", "both") else varied
    pred = constant if which in ("prediction", "both") else varied
    rep = metrics.report(ref, pred, "Ti", MU, SIGMA)
    for key in (C.R_R_CQ_TILDE, C.R_R_ETA_TILDE, C.R_R_THETA, C.R_R_PHI, C.R_R_OMEGA_Q):
        assert rep[key] is None, key
    json.dumps(rep, allow_nan=False)
    assert all(v is None or np.isfinite(v) for v in rep.values())


def test_zero_reference_tensors_give_no_nan() -> None:
    """Cubic sites (V = 0) on both sides: every number finite, correlations null."""
    rep = metrics.report(np.zeros((5, 3, 3)), np.zeros((5, 3, 3)), "O", MU, SIGMA)
    json.dumps(rep, allow_nan=False)
    assert rep[C.R_R_OMEGA_Q] is None and rep[C.R_MAE_OMEGA_Q_KHZ] == 0.0


def test_pearson_of_huge_values_is_finite_or_null() -> None:
    x = np.array([1e308, -1e308, 1e308, 5e307])
    r = metrics.pearson_r(x, x)
    assert r is None or r == pytest.approx(1.0)
    assert metrics.pearson_r(np.arange(5.0), -np.arange(5.0)) == pytest.approx(-1.0)


def test_sign_vzz_fixes_derived_omega_q(rng: np.random.Generator) -> None:
    ref = symmetric_traceless(rng.normal(size=(400, 3, 3)))
    obs = nmr.observable_arrays(ref, "Li", MU, SIGMA)
    pred = {k: obs[k] for k in C.PRED_OBSERVABLES_REQUIRED}
    negative = obs[C.OBS_VZZ] < 0
    assert 0.2 < negative.mean() < 0.8
    # without sign_vzz: Vzz > 0 assumed, so every Vzz < 0 site gets −ωQ (error 2|ωQ|)
    rep = metrics.report_observables(ref, pred, "Li", MU, SIGMA)
    expected = np.mean(np.where(negative, 2 * np.abs(obs[C.OBS_OMEGA_Q_KHZ]), 0.0))
    assert rep[C.R_MAE_OMEGA_Q_KHZ] == pytest.approx(expected, rel=1e-9)
    assert metrics.omega_q_source(pred) == C.OMEGA_Q_DERIVED_ASSUMED
    # with sign_vzz: exact
    pred[C.PRED_SIGN_VZZ] = np.where(negative, -1.0, 1.0)
    rep = metrics.report_observables(ref, pred, "Li", MU, SIGMA)
    assert rep[C.R_MAE_OMEGA_Q_KHZ] == pytest.approx(0.0, abs=1e-9)
    assert metrics.omega_q_source(pred) == C.OMEGA_Q_DERIVED_SIGNED
    pred[C.OBS_OMEGA_Q_KHZ] = obs[C.OBS_OMEGA_Q_KHZ] + 1.0
    assert metrics.omega_q_source(pred) == C.OMEGA_Q_SUBMITTED
    rep = metrics.report_observables(ref, pred, "Li", MU, SIGMA)
    assert rep[C.R_MAE_OMEGA_Q_KHZ] == pytest.approx(1.0)  # a submitted ωQ wins


def test_reproduce_issue_9_vij_inflation_on_sign_changing_sites(rng: np.random.Generator) -> None:
    """Near-η = 1 sites whose predicted Vzz changes sign: v1's s·P(V) error ≫ plain Eq. 6."""
    frames = random_rotations(200, rng)
    ref = np.array([f @ np.diag([-0.01, -0.99, 1.0]) @ f.T for f in frames])
    noise = symmetric_traceless(rng.normal(scale=0.02, size=ref.shape))
    pred = ref + noise
    flipped = np.sign(nmr.principal_axes(pred).vzz) != np.sign(nmr.principal_axes(ref).vzz)
    assert flipped.any()
    mae, _ = metrics.element_errors(ref, pred)
    assert mae == pytest.approx(np.abs(noise).mean(), rel=1e-9)
    s_ref = np.sign(nmr.principal_axes(ref).vzz)[:, None, None]
    s_pred = np.sign(nmr.principal_axes(pred).vzz)[:, None, None]
    v1 = np.abs(s_pred * pred - s_ref * ref).mean()
    assert v1 > 3 * mae
