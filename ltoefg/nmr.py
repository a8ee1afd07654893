"""NMR observables of EFG tensors: principal axis system, CQ, η, angles, quaternions, ωQ.

Conventions (SPEC §2–3), all vectorised over sites:

* Tensors are in V/Å² and are first projected to their symmetric traceless part.
* Principal axis system (PAS): eigenpairs ordered |Vxx| ≤ |Vyy| ≤ |Vzz| (the
  "NQR" order; ties keep the ascending-eigenvalue order of ``numpy.linalg.eigh``).
  The frame R = [e_x e_y e_z] holds the eigenvectors as **columns** and is proper
  (det R = +1).
* Angles of B0 ∥ lab ẑ in the PAS: with b = Rᵀẑ, eigenvector signs are fixed so
  that b_z ≥ 0 and b_x ≥ 0 (flipping two axes at a time keeps R proper);
  θ = arccos(b_z) ∈ [0, π/2], φ = atan2(b_y, b_x) ∈ [−π/2, π/2].
* CQ = e·Q·Vzz/h (kHz, signed), η = (Vxx − Vyy)/Vzz ∈ [0, 1] (0 where Vzz = 0).
* ωQ/2π = 3·e·Q·V_ẑẑ / (2I(2I − 1)·h) with Q and the lab-frame element
  V_ẑẑ = ẑᵀP(V)ẑ = (Vzz/2)(3cos²θ − 1 + η sin²θ cos 2φ) both signed (SPEC §3.1
  v2), in kHz: the offset of the ±3/2 ↔ ±1/2 satellites from the central line.
  No per-site sign(Vzz) flip, so ωQ is a continuous function of the tensor (also
  where Vzz changes sign at η = 1); :func:`omega_q_khz_v1` keeps the v1 flip for
  comparison only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.constants as sc
from numpy.typing import ArrayLike, NDArray

from ltoefg import constants as C
from ltoefg.tensors import symmetric_traceless


@dataclass(frozen=True)
class Isotope:
    """A quadrupolar isotope.

    Attributes
    ----------
    name : str
        Isotope label, e.g. ``"7Li"``.
    spin : float
        Nuclear spin I.
    quadrupole_mb : float
        Nuclear electric quadrupole moment Q in millibarn (1 mb = 1e-31 m²).
    """

    name: str
    spin: float
    quadrupole_mb: float


#: Isotopes of the LTO nuclei. Spins and quadrupole moments are the values Soprano
#: ships (``soprano/data/isotope_data.json``), which come from P. Pyykkö,
#: "Year-2017 nuclear quadrupole moments", Mol. Phys. 116, 1328 (2018).
ISOTOPES: dict[str, Isotope] = {
    "Li": Isotope("7Li", 1.5, -40.1),
    "Ti": Isotope("47Ti", 2.5, 302.0),
    "O": Isotope("17O", 2.5, -25.58),
}

#: CQ in kHz per (V/Å² · mb): e · (1 mb = 1e-31 m²) · (1 V/Å² = 1e20 V/m²) / h / 1e3.
CQ_KHZ_PER_V_A2_MB: float = sc.e * 1e-31 * 1e20 / sc.h / 1e3


def isotope(nucleus: str) -> Isotope:
    """The :class:`Isotope` of ``nucleus`` (``"Li"``, ``"Ti"`` or ``"O"``)."""
    try:
        return ISOTOPES[nucleus]
    except KeyError:
        known = ", ".join(ISOTOPES)
        raise ValueError(f"unknown nucleus {nucleus!r}; known nuclei: {known}") from None


@dataclass(frozen=True)
class PAS:
    """Principal axis systems of N tensors.

    Attributes
    ----------
    eigenvalues : numpy.ndarray, shape (N, 3)
        (Vxx, Vyy, Vzz) with |Vxx| ≤ |Vyy| ≤ |Vzz|, V/Å².
    frames : numpy.ndarray, shape (N, 3, 3)
        Proper rotation matrices whose columns are e_x, e_y, e_z, sign-fixed so
        that B0 = ẑ has non-negative PAS components along e_x and e_z.
    """

    eigenvalues: NDArray[np.float64]
    frames: NDArray[np.float64]

    @property
    def vzz(self) -> NDArray[np.float64]:
        """Vzz, the largest-magnitude eigenvalue (signed), V/Å²."""
        return self.eigenvalues[:, 2]


def _batch(efg: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(efg, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (3, 3):
        raise ValueError(f"expected EFG tensors of shape (N, 3, 3), got {arr.shape}")
    return arr


def _det3(m: NDArray[np.float64]) -> NDArray[np.float64]:
    """Determinants of (N, 3, 3) matrices by the triple product (faster than LU for 3×3)."""
    return np.einsum("ni,ni->n", np.cross(m[:, :, 0], m[:, :, 1]), m[:, :, 2])


def fix_frame_signs(frames: NDArray[np.float64]) -> NDArray[np.float64]:
    """Make frames proper and fix eigenvector signs so that b = Rᵀẑ has b_z, b_x ≥ 0.

    Parameters
    ----------
    frames : numpy.ndarray, shape (N, 3, 3)
        Orthogonal matrices with eigenvectors as columns (proper or improper).

    Returns
    -------
    numpy.ndarray, shape (N, 3, 3)
        Proper frames spanning the same axes; only column signs change.
    """
    r = np.array(frames, dtype=np.float64, copy=True)
    # make proper by flipping e_y (any single axis would do; the pair flips below fix the rest)
    improper = _det3(r) < 0
    r[improper, :, 1] *= -1.0
    # b_z < 0: flip e_z and e_y together (keeps det)
    flip = r[:, 2, 2] < 0
    r[flip, :, 2] *= -1.0
    r[flip, :, 1] *= -1.0
    # b_x < 0: flip e_x and e_y together
    flip = r[:, 2, 0] < 0
    r[flip, :, 0] *= -1.0
    r[flip, :, 1] *= -1.0
    return r


def principal_axes(efg: ArrayLike) -> PAS:
    """Principal axis systems of EFG tensors in |Vxx| ≤ |Vyy| ≤ |Vzz| order.

    Parameters
    ----------
    efg : array_like, shape (N, 3, 3) or (3, 3)
        EFG tensors, V/Å². They are projected to their symmetric traceless part.

    Returns
    -------
    PAS
        Eigenvalues (V/Å²) and proper, sign-fixed frames.
    """
    tensors = symmetric_traceless(_batch(efg))
    values, vectors = np.linalg.eigh(tensors)
    order = np.argsort(np.abs(values), axis=1, kind="stable")
    values = np.take_along_axis(values, order, axis=1)
    vectors = np.take_along_axis(vectors, order[:, None, :], axis=2)
    return PAS(eigenvalues=values, frames=fix_frame_signs(vectors))


def eta_from_eigenvalues(eigenvalues: NDArray[np.float64]) -> NDArray[np.float64]:
    """Asymmetry η = (Vxx − Vyy)/Vzz ∈ [0, 1]; 0 where Vzz = 0. Shape (N,)."""
    vxx, vyy, vzz = eigenvalues[:, 0], eigenvalues[:, 1], eigenvalues[:, 2]
    eta = np.divide(vxx - vyy, vzz, out=np.zeros_like(vzz), where=vzz != 0)
    return np.clip(eta, 0.0, 1.0)


def cq_khz(vzz: ArrayLike, nucleus: str) -> NDArray[np.float64]:
    """Quadrupolar coupling constant CQ = e·Q·Vzz/h in kHz (signed).

    Parameters
    ----------
    vzz : array_like
        Vzz in V/Å².
    nucleus : str
        ``"Li"``, ``"Ti"`` or ``"O"``.
    """
    return np.asarray(vzz, dtype=np.float64) * isotope(nucleus).quadrupole_mb * CQ_KHZ_PER_V_A2_MB


def omega_q_prefactor_khz(nucleus: str) -> float:
    """3·e·Q / (2I(2I − 1)·h) in kHz per V/Å², Q signed (multiplies V_ẑẑ to give ωQ/2π).

    For ⁷Li (Q < 0) it is negative: ωQ/2π = (CQ/4)(3cos²θ − 1 + η sin²θ cos 2φ)
    with the signed CQ = e·Q·Vzz/h.
    """
    iso = isotope(nucleus)
    two_i = 2.0 * iso.spin
    return 3.0 * iso.quadrupole_mb * CQ_KHZ_PER_V_A2_MB / (two_i * (two_i - 1.0))


def angles(frames: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Polar θ ∈ [0, π/2] and azimuthal φ ∈ [−π/2, π/2] of B0 ∥ ẑ in the PAS (radians).

    Parameters
    ----------
    frames : numpy.ndarray, shape (N, 3, 3)
        PAS frames (columns e_x, e_y, e_z); signs are fixed here, so any
        eigenvector sign choice gives the same angles.
    """
    r = fix_frame_signs(frames)
    b = r[:, 2, :]  # b = Rᵀ ẑ = third row of R
    theta = np.arccos(np.clip(b[:, 2], -1.0, 1.0))
    phi = np.arctan2(b[:, 1], b[:, 0])
    return theta, phi


def lab_vzz_from_angles(
    vzz_abs: ArrayLike,
    eta_vzz: ArrayLike,
    theta: ArrayLike,
    phi: ArrayLike,
    sign_vzz: ArrayLike = 1.0,
) -> NDArray[np.float64]:
    """Lab-frame element V_ẑẑ = s·½(|Vzz|(3cos²θ − 1) + η|Vzz| sin²θ cos 2φ), V/Å².

    Parameters
    ----------
    vzz_abs : array_like
        |Vzz|, V/Å².
    eta_vzz : array_like
        η·|Vzz| = (Vxx − Vyy)·sign(Vzz), V/Å².
    theta, phi : array_like
        Angles of B0 in the PAS, radians.
    sign_vzz : array_like
        s = sign(Vzz), ±1 per site (default +1: Vzz > 0 assumed). θ, φ, |Vzz| and
        η do not determine it; the tensor does.
    """
    cos_t = np.cos(theta)
    sin2_t = 1.0 - cos_t**2
    unsigned = 0.5 * (
        np.asarray(vzz_abs) * (3.0 * cos_t**2 - 1.0)
        + np.asarray(eta_vzz) * sin2_t * np.cos(2.0 * np.asarray(phi))
    )
    return np.asarray(sign_vzz, dtype=np.float64) * unsigned


def omega_q_khz_from_angles(
    vzz_abs: ArrayLike,
    eta_vzz: ArrayLike,
    theta: ArrayLike,
    phi: ArrayLike,
    nucleus: str,
    sign_vzz: ArrayLike = 1.0,
) -> NDArray[np.float64]:
    """First-order satellite quadrupolar frequency ωQ/2π in kHz from PAS quantities.

    See :func:`lab_vzz_from_angles` for the arguments (|Vzz| and η|Vzz| in V/Å²,
    angles in radians, ``sign_vzz`` ±1 with default +1).
    """
    return omega_q_prefactor_khz(nucleus) * lab_vzz_from_angles(
        vzz_abs, eta_vzz, theta, phi, sign_vzz
    )


def omega_q_khz(efg: ArrayLike, nucleus: str) -> NDArray[np.float64]:
    """ωQ/2π in kHz from the signed lab-frame element: 3eQ·ẑᵀP(V)ẑ / (2I(2I − 1)h).

    Continuous in the tensor (SPEC §3.1 v2): no per-site sign flip.

    Parameters
    ----------
    efg : array_like, shape (N, 3, 3)
        EFG tensors in the lab frame (B0 ∥ ẑ), V/Å².
    nucleus : str
    """
    tensors = symmetric_traceless(_batch(efg))
    return omega_q_prefactor_khz(nucleus) * tensors[:, 2, 2]


def omega_q_khz_v1(efg: ArrayLike, nucleus: str) -> NDArray[np.float64]:
    """Legacy (report version 1) ωQ/2π in kHz: 3e|Q|·sign(Vzz)·V_ẑẑ / (2I(2I − 1)h).

    Kept only to document the contrast with :func:`omega_q_khz`: the per-site
    flip s = sign(Vzz) (the paper's "Vzz positive" data convention) makes this
    jump by 2|ωQ| where Vzz changes sign at η = 1. Not used by any metric.
    """
    tensors = symmetric_traceless(_batch(efg))
    sign = np.where(principal_axes(tensors).vzz < 0, -1.0, 1.0)
    return abs(omega_q_prefactor_khz(nucleus)) * sign * tensors[:, 2, 2]


def quaternions(frames: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit quaternions (w, x, y, z) of proper frames, shape (N, 4), w ≥ 0.

    Uses :class:`scipy.spatial.transform.Rotation`. Note that a PAS frame is only
    defined up to the D2 sign flips of its axes; compare orientations with
    :func:`ltoefg.metrics.quaternion_dot`, which accounts for them.
    """
    from scipy.spatial.transform import Rotation

    q = Rotation.from_matrix(frames).as_quat(scalar_first=True)
    return np.where(q[:, :1] < 0, -q, q)


def observables(
    efg: ArrayLike,
    nucleus: str,
    mu: float,
    sigma: float,
) -> pd.DataFrame:
    """All per-site NMR observables of EFG tensors as a DataFrame.

    Parameters
    ----------
    efg : array_like, shape (N, 3, 3)
        EFG tensors in the lab frame, V/Å².
    nucleus : str
        ``"Li"``, ``"Ti"`` or ``"O"`` (selects the isotope for CQ and ωQ).
    mu, sigma : float
        Mean and population standard deviation of |Vzz| of that nucleus in the
        data set (V/Å²), frozen in the data file (:meth:`ltoefg.Dataset.stats`).

    Returns
    -------
    pandas.DataFrame
        Columns ``vzz`` (V/Å², signed), ``eta``, ``cq_khz`` (signed), ``cq_tilde``,
        ``eta_tilde``, ``theta``, ``phi`` (radians), ``omega_q_khz`` and the
        quaternion ``q_w, q_x, q_y, q_z``.
    """
    return pd.DataFrame(
        observable_arrays(efg, nucleus, mu, sigma), columns=list(C.OBSERVABLE_COLUMNS)
    )


def observable_arrays(
    efg: ArrayLike, nucleus: str, mu: float, sigma: float, pas: PAS | None = None
) -> dict[str, NDArray[np.float64]]:
    """The columns of :func:`observables` as a dict of arrays.

    Parameters
    ----------
    efg, nucleus, mu, sigma
        As in :func:`observables`.
    pas : PAS, optional
        The principal axes of ``efg`` if already computed (saves one eigen-solve).
    """
    if not (np.isfinite(mu) and np.isfinite(sigma) and mu > 0 and sigma > 0):
        raise ValueError(f"mu and sigma must be positive and finite, got mu={mu}, sigma={sigma}")
    if pas is None:
        pas = principal_axes(efg)
    vzz = pas.vzz
    vzz_abs = np.abs(vzz)
    sign = np.where(vzz < 0, -1.0, 1.0)
    eta_vzz = (pas.eigenvalues[:, 0] - pas.eigenvalues[:, 1]) * sign
    theta, phi = angles(pas.frames)
    q = quaternions(pas.frames)
    out = {
        C.OBS_VZZ: vzz,
        C.OBS_ETA: eta_from_eigenvalues(pas.eigenvalues),
        C.OBS_CQ_KHZ: cq_khz(vzz, nucleus),
        C.OBS_CQ_TILDE: (vzz_abs - mu) / sigma,
        C.OBS_ETA_TILDE: eta_vzz / mu,
        C.OBS_THETA: theta,
        C.OBS_PHI: phi,
        C.OBS_OMEGA_Q_KHZ: omega_q_khz_from_angles(vzz_abs, eta_vzz, theta, phi, nucleus, sign),
    }
    for i, name in enumerate(C.OBS_QUATERNION):
        out[name] = q[:, i]
    return out
