"""Observable-targeted metrics for predicted EFG tensors (SPEC §3) and the per-nucleus report.

Everything is vectorised over sites. The public entry points are
:func:`report` (tensor predictions) and :func:`report_observables` (scalar
models that predict C̃Q, η̃, θ, φ and optionally ωQ); both return a dict with
exactly the keys of :data:`ltoefg.constants.NUCLEUS_REPORT_KEYS`.

Sign convention (SPEC §2 "Signs (v2)"): C̃Q, η̃, θ, φ and ξ see only |Vzz| and
the axes, so they are invariant under V → −V. ωQ and the element errors use the
tensor as it is, sign included: ωQ comes from the signed lab-frame element
(:func:`ltoefg.nmr.omega_q_khz`) and ``mae_vij``/``rmse_vij`` are the plain
errors of P(V_pred) − P(V_ref) (the paper's Eq. 6). No value of a report is NaN
or inf: undefined correlations are None.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import wasserstein_distance

from ltoefg import constants as C
from ltoefg import nmr
from ltoefg.tensors import abs_trace, asymmetry, symmetric_traceless

#: The 6 relabellings of the (x, y, z) principal axes; identity first.
AXIS_PERMUTATIONS: tuple[tuple[int, int, int], ...] = tuple(itertools.permutations(range(3)))

# sign patterns s such that tr(D M) = s · diag(M) for the four proper axis flips D
_D2_SIGNS = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)


def quaternion_dot(
    frames_ref: NDArray[np.float64], frames_pred: NDArray[np.float64]
) -> NDArray[np.float64]:
    """D2-invariant quaternion dot ξ between two sets of PAS frames.

    ξ = max over D ∈ {1, diag(1,−1,−1), diag(−1,1,−1), diag(−1,−1,1)} of
    |q(R_ref) · q(R_pred D)|. With M = R_predᵀ R_ref the four dots are the
    absolute components of the quaternion of M, so
    ξ = ½ √(1 + max_D tr(D M)), which needs only diag(M).

    Parameters
    ----------
    frames_ref, frames_pred : numpy.ndarray, shape (N, 3, 3)
        Proper frames with the principal axes as columns.

    Returns
    -------
    numpy.ndarray, shape (N,)
        ξ ∈ [1/2, 1]; 1 is perfect alignment.
    """
    diag = np.einsum("nik,nik->nk", frames_pred, frames_ref)
    best = (diag @ _D2_SIGNS.T).max(axis=1)
    return np.clip(0.5 * np.sqrt(np.clip(1.0 + best, 0.0, None)), 0.5, 1.0)


def misorientation_deg(xi: ArrayLike) -> NDArray[np.float64]:
    """Misorientation angle 2·arccos(ξ) in degrees, ∈ [0°, 120°]."""
    return np.degrees(2.0 * np.arccos(np.clip(np.asarray(xi, dtype=np.float64), -1.0, 1.0)))


def theta_error(theta_ref: ArrayLike, theta_pred: ArrayLike) -> NDArray[np.float64]:
    """|Δθ| in radians."""
    return np.abs(np.asarray(theta_pred) - np.asarray(theta_ref))


def phi_error(phi_ref: ArrayLike, phi_pred: ArrayLike) -> NDArray[np.float64]:
    """Periodic φ error min(|Δφ|, π − |Δφ|) in radians (φ has period π)."""
    d = np.mod(np.abs(np.asarray(phi_pred) - np.asarray(phi_ref)), np.pi)
    return np.minimum(d, np.pi - d)


def _near_degenerate(abs_eig: NDArray[np.float64], tol: NDArray[np.float64]) -> NDArray[np.bool_]:
    """(N, 3, 3) mask: |eigenvalue| i and j differ by less than tol (per site)."""
    return np.abs(abs_eig[:, :, None] - abs_eig[:, None, :]) < tol[:, None, None]


def reassign_axes(
    pas_ref: nmr.PAS, pas_pred: nmr.PAS, tau: float = C.DEFAULT_TAU
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Eigenvalue-reassignment correction of the predicted PAS frames.

    Where two |eigenvalues| of the reference or of the prediction differ by less
    than ``tau·|Vzz_ref|``, the predicted axes involved may be relabelled. Among
    the allowed relabellings (all 6 permutations are scored at once; a permutation
    is allowed if every axis it moves is swapped with a near-degenerate partner),
    the one with the smallest misorientation to the reference frame is chosen;
    the identity wins ties.

    Parameters
    ----------
    pas_ref, pas_pred : PAS
        Principal axis systems of reference and prediction (N sites).
    tau : float
        Tolerance as a fraction of |Vzz_ref|.

    Returns
    -------
    frames : numpy.ndarray, shape (N, 3, 3)
        Relabelled, proper, sign-fixed predicted frames.
    relabelled : numpy.ndarray of bool, shape (N,)
        Sites whose labels were changed.
    """
    tol = tau * np.abs(pas_ref.vzz)
    swappable = _near_degenerate(np.abs(pas_ref.eigenvalues), tol) | _near_degenerate(
        np.abs(pas_pred.eigenvalues), tol
    )
    n = pas_ref.frames.shape[0]
    scores = np.empty((n, len(AXIS_PERMUTATIONS)))
    candidates = np.empty((len(AXIS_PERMUTATIONS), n, 3, 3))
    axes = np.arange(3)
    for k, perm in enumerate(AXIS_PERMUTATIONS):
        p = np.asarray(perm)
        moved = axes[p != axes]
        allowed = np.all(swappable[:, moved, p[moved]], axis=1) if moved.size else np.ones(n, bool)
        frames = nmr.fix_frame_signs(pas_pred.frames[:, :, p])
        candidates[k] = frames
        xi = quaternion_dot(pas_ref.frames, frames)
        # identity wins ties: other labellings must be better by more than round-off
        scores[:, k] = np.where(allowed, xi - (1e-12 if k else 0.0), -np.inf)
    best = np.argmax(scores, axis=1)
    return candidates[best, np.arange(n)], best != 0


def pearson_r(x: ArrayLike, y: ArrayLike) -> float | None:
    """Pearson correlation coefficient in [−1, 1], or None where it is undefined.

    Undefined: fewer than two values, either side constant (zero spread), or a
    non-finite result (values so large that the moments overflow).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    with np.errstate(all="ignore"):
        if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
            return None
        dx, dy = x - x.mean(), y - y.mean()
        dx, dy = dx / np.abs(dx).max(), dy / np.abs(dy).max()  # scaled: no overflow
        denom = np.sqrt(np.dot(dx, dx) * np.dot(dy, dy))
        r = np.dot(dx, dy) / denom if denom > 0 else np.nan
    if not np.isfinite(r):
        return None
    return float(np.clip(r, -1.0, 1.0))


def wasserstein_1(ref: ArrayLike, pred: ArrayLike) -> float:
    """1-Wasserstein distance between the empirical distributions (same unit as input)."""
    return float(wasserstein_distance(np.asarray(ref, float), np.asarray(pred, float)))


def element_errors(ref_efg: ArrayLike, pred_efg: ArrayLike) -> tuple[float, float]:
    """MAE and RMSE over the 9 Cartesian elements of P(V_pred) − P(V_ref), V/Å².

    The paper's Eq. 6 on the symmetric traceless parts, no sign flip:
    MAE = Σ_n Σ_ij |ΔV_ij| / (9N), RMSE = √(Σ_n Σ_ij ΔV_ij² / (9N)).

    Parameters
    ----------
    ref_efg, pred_efg : array_like, shape (N, 3, 3)
        Reference and predicted tensors, V/Å².
    """
    diff = symmetric_traceless(pred_efg) - symmetric_traceless(ref_efg)
    return float(np.mean(np.abs(diff))), float(np.sqrt(np.mean(diff**2)))


def score(mae_cq_tilde: float, mae_eta_tilde: float, mae_xi: float | None) -> float | None:
    """The paper's tensor objective: mean(MAE C̃Q, MAE η̃, mean(1 − ξ)); None without ξ."""
    if mae_xi is None:
        return None
    return float(np.mean([mae_cq_tilde, mae_eta_tilde, mae_xi]))


def _scalar_block(
    ref: Mapping[str, NDArray[np.float64]], pred: Mapping[str, NDArray[np.float64]]
) -> dict[str, float | None]:
    """The keys shared by tensor and observable reports."""
    d_omega = np.abs(pred[C.OBS_OMEGA_Q_KHZ] - ref[C.OBS_OMEGA_Q_KHZ])
    deg = np.degrees
    return {
        C.R_N: int(ref[C.OBS_CQ_TILDE].size),
        C.R_MAE_CQ_TILDE: float(np.mean(np.abs(pred[C.OBS_CQ_TILDE] - ref[C.OBS_CQ_TILDE]))),
        C.R_MAE_ETA_TILDE: float(np.mean(np.abs(pred[C.OBS_ETA_TILDE] - ref[C.OBS_ETA_TILDE]))),
        C.R_MAE_THETA_DEG: float(deg(np.mean(theta_error(ref[C.OBS_THETA], pred[C.OBS_THETA])))),
        C.R_MAE_PHI_DEG: float(deg(np.mean(phi_error(ref[C.OBS_PHI], pred[C.OBS_PHI])))),
        C.R_MAE_OMEGA_Q_KHZ: float(np.mean(d_omega)),
        C.R_FRAC_OMEGA_Q_WITHIN: float(np.mean(d_omega <= C.OMEGA_Q_THRESHOLD_KHZ)),
        C.R_R_CQ_TILDE: pearson_r(ref[C.OBS_CQ_TILDE], pred[C.OBS_CQ_TILDE]),
        C.R_R_ETA_TILDE: pearson_r(ref[C.OBS_ETA_TILDE], pred[C.OBS_ETA_TILDE]),
        C.R_R_THETA: pearson_r(ref[C.OBS_THETA], pred[C.OBS_THETA]),
        C.R_R_PHI: pearson_r(ref[C.OBS_PHI], pred[C.OBS_PHI]),
        C.R_R_OMEGA_Q: pearson_r(ref[C.OBS_OMEGA_Q_KHZ], pred[C.OBS_OMEGA_Q_KHZ]),
        C.R_W1_CQ_TILDE: wasserstein_1(ref[C.OBS_CQ_TILDE], pred[C.OBS_CQ_TILDE]),
        C.R_W1_ETA_TILDE: wasserstein_1(ref[C.OBS_ETA_TILDE], pred[C.OBS_ETA_TILDE]),
        C.R_W1_THETA_DEG: wasserstein_1(deg(ref[C.OBS_THETA]), deg(pred[C.OBS_THETA])),
        C.R_W1_PHI_DEG: wasserstein_1(deg(ref[C.OBS_PHI]), deg(pred[C.OBS_PHI])),
        C.R_W1_OMEGA_Q_KHZ: wasserstein_1(ref[C.OBS_OMEGA_Q_KHZ], pred[C.OBS_OMEGA_Q_KHZ]),
    }


def _check_pair(ref: NDArray[np.float64], pred: NDArray[np.float64]) -> None:
    if ref.shape != pred.shape:
        raise ValueError(f"reference and prediction shapes differ: {ref.shape} vs {pred.shape}")
    if ref.shape[0] == 0:
        raise ValueError("no sites to score")
    if not (np.isfinite(ref).all() and np.isfinite(pred).all()):
        raise ValueError("reference and prediction must be finite (no NaN or inf)")


def report(
    ref_efg: ArrayLike,
    pred_efg: ArrayLike,
    nucleus: str,
    mu: float,
    sigma: float,
    tau: float = C.DEFAULT_TAU,
) -> dict[str, float | int | None]:
    """Per-nucleus report of a tensor prediction (keys of SPEC §6.3).

    Parameters
    ----------
    ref_efg, pred_efg : array_like, shape (N, 3, 3)
        Reference and predicted EFG tensors of the same sites, V/Å², lab frame.
        The prediction is projected to its symmetric traceless part before
        scoring; ``max_asymmetry`` and ``max_abs_trace`` say how far it was.
    nucleus : str
        ``"Li"``, ``"Ti"`` or ``"O"``.
    mu, sigma : float
        Frozen data-set mean and population std of |Vzz| for the nucleus, V/Å².
    tau : float
        Eigenvalue-reassignment tolerance (fraction of |Vzz_ref|).

    Returns
    -------
    dict
        Angles in degrees, ωQ in kHz, Vij errors in V/Å², fractions in [0, 1].
    """
    ref_raw = np.asarray(ref_efg, dtype=np.float64)
    pred_raw = np.asarray(pred_efg, dtype=np.float64)
    _check_pair(ref_raw, pred_raw)
    ref_t = symmetric_traceless(ref_raw)
    pred_t = symmetric_traceless(pred_raw)
    pas_ref = nmr.principal_axes(ref_t)
    pas_pred = nmr.principal_axes(pred_t)
    ref_obs = nmr.observable_arrays(ref_t, nucleus, mu, sigma, pas=pas_ref)
    pred_obs = nmr.observable_arrays(pred_t, nucleus, mu, sigma, pas=pas_pred)
    out = _scalar_block(ref_obs, pred_obs)

    xi = quaternion_dot(pas_ref.frames, pas_pred.frames)
    frames, relabelled = reassign_axes(pas_ref, pas_pred, tau)
    theta_c, phi_c = nmr.angles(frames)
    mae_vij, rmse_vij = element_errors(ref_t, pred_t)
    mae_xi = float(np.mean(1.0 - xi))
    out.update(
        {
            C.R_MAE_THETA_DEG_REASSIGNED: float(
                np.degrees(np.mean(theta_error(ref_obs[C.OBS_THETA], theta_c)))
            ),
            C.R_MAE_PHI_DEG_REASSIGNED: float(
                np.degrees(np.mean(phi_error(ref_obs[C.OBS_PHI], phi_c)))
            ),
            C.R_FRAC_REASSIGNED: float(np.mean(relabelled)),
            C.R_MEAN_XI: float(np.mean(xi)),
            C.R_MAE_XI: mae_xi,
            C.R_MEAN_XI_REASSIGNED: float(np.mean(quaternion_dot(pas_ref.frames, frames))),
            C.R_MEDIAN_MISORIENTATION_DEG: float(np.median(misorientation_deg(xi))),
            C.R_MAE_VIJ: mae_vij,
            C.R_RMSE_VIJ: rmse_vij,
            C.R_MAX_ASYMMETRY: float(asymmetry(pred_raw).max()),
            C.R_MAX_ABS_TRACE: float(abs_trace(pred_raw).max()),
            C.R_SCORE: score(out[C.R_MAE_CQ_TILDE], out[C.R_MAE_ETA_TILDE], mae_xi),
        }
    )
    return {key: out[key] for key in C.NUCLEUS_REPORT_KEYS}


def omega_q_from_metrics(
    cq_tilde: ArrayLike,
    eta_tilde: ArrayLike,
    theta: ArrayLike,
    phi: ArrayLike,
    nucleus: str,
    mu: float,
    sigma: float,
    sign_vzz: ArrayLike | None = None,
) -> NDArray[np.float64]:
    """ωQ/2π in kHz from the scaled observables: |Vzz| = μ + σ·C̃Q, η|Vzz| = μ·η̃.

    Parameters
    ----------
    cq_tilde, eta_tilde : array_like
        Scaled observables (dimensionless).
    theta, phi : array_like
        Angles of B0 in the PAS, radians.
    nucleus : str
    mu, sigma : float
        Frozen |Vzz| statistics of the nucleus, V/Å².
    sign_vzz : array_like, optional
        sign(Vzz), ±1 per site. The four observables do not fix it; without it
        Vzz > 0 is assumed, which gives ωQ the wrong sign where Vzz < 0.
    """
    vzz_abs = mu + sigma * np.asarray(cq_tilde, dtype=np.float64)
    eta_vzz = mu * np.asarray(eta_tilde, dtype=np.float64)
    sign = 1.0 if sign_vzz is None else np.asarray(sign_vzz, dtype=np.float64)
    return nmr.omega_q_khz_from_angles(vzz_abs, eta_vzz, theta, phi, nucleus, sign)


def omega_q_source(pred: Mapping[str, ArrayLike]) -> str:
    """Where the ωQ of an observables prediction comes from (one of ``C.OMEGA_Q_SOURCES``)."""
    if pred.get(C.OBS_OMEGA_Q_KHZ) is not None:
        return C.OMEGA_Q_SUBMITTED
    if pred.get(C.PRED_SIGN_VZZ) is not None:
        return C.OMEGA_Q_DERIVED_SIGNED
    return C.OMEGA_Q_DERIVED_ASSUMED


def predicted_omega_q(
    pred: Mapping[str, ArrayLike], nucleus: str, mu: float, sigma: float
) -> NDArray[np.float64]:
    """The ωQ/2π (kHz) of an observables prediction: as submitted, or derived.

    Parameters
    ----------
    pred : mapping
        ``cq_tilde``, ``eta_tilde``, ``theta``, ``phi`` (radians) and optionally
        ``omega_q_khz`` (kHz) and ``sign_vzz`` (±1), each (N,).
    nucleus, mu, sigma
        As in :func:`omega_q_from_metrics`.
    """
    if pred.get(C.OBS_OMEGA_Q_KHZ) is not None:
        return np.asarray(pred[C.OBS_OMEGA_Q_KHZ], dtype=np.float64)
    return omega_q_from_metrics(
        pred[C.OBS_CQ_TILDE],
        pred[C.OBS_ETA_TILDE],
        pred[C.OBS_THETA],
        pred[C.OBS_PHI],
        nucleus,
        mu,
        sigma,
        pred.get(C.PRED_SIGN_VZZ),
    )


def report_observables(
    ref_efg: ArrayLike,
    pred: Mapping[str, ArrayLike],
    nucleus: str,
    mu: float,
    sigma: float,
) -> dict[str, float | int | None]:
    """Per-nucleus report of an observables-only prediction (scalar models).

    Parameters
    ----------
    ref_efg : array_like, shape (N, 3, 3)
        Reference EFG tensors, V/Å².
    pred : mapping
        ``cq_tilde``, ``eta_tilde``, ``theta``, ``phi`` (radians), each (N,), and
        optionally ``omega_q_khz`` (kHz) and ``sign_vzz`` (±1); where ωQ is absent
        it is derived from the other four with :func:`omega_q_from_metrics`
        (Vzz > 0 assumed unless ``sign_vzz`` is given).
    nucleus, mu, sigma
        As in :func:`report`.

    Returns
    -------
    dict
        The keys of SPEC §6.3; the tensor-only keys
        (:data:`ltoefg.constants.TENSOR_ONLY_KEYS`) are None.
    """
    ref_raw = np.asarray(ref_efg, dtype=np.float64)
    names = (*C.PRED_OBSERVABLES_REQUIRED, *C.PRED_OBSERVABLES_OPTIONAL)
    arrays = {k: np.asarray(pred[k], dtype=np.float64) for k in names if pred.get(k) is not None}
    for k in C.PRED_OBSERVABLES_REQUIRED:
        if k not in arrays:
            raise ValueError(f"the prediction lacks {k!r}")
    for v in arrays.values():
        _check_pair(ref_raw[:, 0, 0], v)
    arrays[C.OBS_OMEGA_Q_KHZ] = predicted_omega_q(arrays, nucleus, mu, sigma)
    ref_obs = nmr.observable_arrays(ref_raw, nucleus, mu, sigma)
    out: dict[str, float | int | None] = dict(_scalar_block(ref_obs, arrays))
    out.update({key: None for key in C.TENSOR_ONLY_KEYS})
    return {key: out[key] for key in C.NUCLEUS_REPORT_KEYS}
