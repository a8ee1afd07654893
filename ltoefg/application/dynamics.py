"""Observables of the dynamics from tensors over a trajectory (SAE-NMR, paper §3 Discussion).

Input: the EFG tensors V_i(t) (V/Å²) and ωQ_i(t)/2π (kHz) of sites i (one
nucleus each: a site follows one atom) in frames t = 0 … T−1, spaced Δt
apart — a file of :mod:`ltoefg.application.trajectory_file`, or arrays.

Per site (vectorised over sites):

* the time-averaged tensor V̄_i = (1/T) Σ_t V_i(t) and its observables; its
  ωQ is the **motionally averaged (residual) ωQ** — what SAE-NMR sees when
  the fluctuations are faster than the evolution time t_p. ωQ is linear in the
  tensor (ωQ/2π = 3eQ·n̂ᵀVn̂/(2I(2I−1)h)), so it equals the time mean of
  ωQ_i(t); CQ and η of V̄ are not the means of CQ and η;
* the ωQ time series, its mean and rms fluctuation, and its autocovariance
  C_i(m) = ⟨δω_i(t) δω_i(t+m)⟩_t with δω = ωQ/2π − its time mean (kHz²),
  averaged over the T − m time origins.

Averaged over sites:

* the normalised autocorrelation Σ_i C_i(m) / Σ_i C_i(0);
* the SAE two-time (sin–sin) correlation function

      F₂(t_p, t_m) = ⟨ sin(ωQ_i(t)·t_p) · sin(ωQ_i(t + t_m)·t_p) ⟩_{i, t}

  over all sites and all T − m time origins, with ωQ the angular frequency:
  ωQ·t_p = 2π · (ωQ/2π in kHz) · 10³ s⁻¹ · (t_p in µs) · 10⁻⁶ s. t_m = m·Δt
  (frames, or seconds where Δt is known). F₂(t_p, 0) = ⟨sin²(ωQ t_p)⟩ (the
  static value, for every t_m if nothing moves); if sites keep their own
  mean frequency and only fluctuate around it, F₂ decays to the plateau
  ⟨⟨sin(ωQ_i t_p)⟩_t²⟩_i, and only exchange between sites of different ωQ
  takes it further down.

The formula holds ωQ fixed during each t_p: it is the slow-motion limit, right
when frames are at least t_p apart (e.g. a kinetic Monte Carlo trajectory). MD
frames (fs–ps apart) fluctuate much faster than any t_p (µs): the experiment
then sees each site's frequency averaged over t_p. ``block`` does that
averaging — ωQ over blocks of ``block`` frames (= ωQ of the block-averaged
tensor) before the correlations — choose block·Δt ≳ t_p where the trajectory
is long enough.

Everything is numpy (FFT correlations: O(T log T) per site); several
trajectories (replicas) are pooled by :func:`correlations` and :func:`analyse_files`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ltoefg.application.errors import ApplicationError

__all__ = [
    "DEFAULT_TP_US",
    "Correlations",
    "DynamicsReport",
    "SiteAverages",
    "analyse_files",
    "block_average",
    "correlations",
    "f2_terms",
    "lag_sums",
    "parse_time_s",
    "phase",
    "site_averages",
]

#: Default evolution times t_p, µs.
DEFAULT_TP_US: tuple[float, ...] = (2.0, 5.0, 10.0, 20.0)
#: Sites per block of the FFT correlations (bounds memory: T × block × 16 B).
_SITE_BLOCK = 64

_TIME_UNITS_S = {
    "fs": 1e-15,
    "ps": 1e-12,
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
}


def parse_time_s(text: str) -> float:
    """Seconds of a duration like ``"2 fs"``, ``"1ps"``, ``"0.5 ns"``, ``"10 us"``, ``"1e-12 s"``.

    Raises
    ------
    ApplicationError
        Not a positive number followed by one of fs, ps, ns, us (µs), ms, s.
    """
    m = re.fullmatch(r"\s*([0-9.eE+-]+)\s*(fs|ps|ns|us|µs|ms|s)\s*", text)
    try:
        value = float(m.group(1)) * _TIME_UNITS_S[m.group(2)] if m else float("nan")
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise ApplicationError(
            f"cannot read the time {text!r}: give a positive number and a unit, e.g. '1 ps' "
            "(units fs, ps, ns, us, ms, s)"
        )
    return value


def phase(omega_q_khz: ArrayLike, tp_us: float) -> NDArray[np.float64]:
    """ωQ·t_p in radians: 2π · (ωQ/2π in kHz) · 10³ · (t_p in µs) · 10⁻⁶."""
    return 2.0 * np.pi * np.asarray(omega_q_khz, dtype=np.float64) * float(tp_us) * 1e-3


def block_average(x: ArrayLike, block: int) -> NDArray[np.float64]:
    """Means over consecutive blocks of ``block`` frames (axis 0); drops a partial last block."""
    arr = np.asarray(x, dtype=np.float64)
    block = int(block)
    if block < 1:
        raise ApplicationError(f"the block length must be at least 1 frame, got {block}")
    n = arr.shape[0] // block
    if n == 0:
        raise ApplicationError(
            f"a block of {block} frames is longer than the {arr.shape[0]} frames"
        )
    return arr[: n * block].reshape(n, block, *arr.shape[1:]).mean(axis=1)


def lag_sums(x: NDArray[np.float64], max_lag: int) -> NDArray[np.float64]:
    """Σ_{t=0}^{T−1−m} x_i(t)·x_i(t+m) for m = 0 … max_lag and every column i, shape (L, S).

    By FFT (zero-padded, so no wrap-around), in blocks of sites.
    """
    n_t, n_s = x.shape
    if not 0 <= max_lag < n_t:
        raise ApplicationError(f"the largest lag must be in [0, {n_t - 1}] frames, got {max_lag}")
    size = 1 << int(np.ceil(np.log2(2 * n_t - 1))) if n_t > 1 else 1
    out = np.empty((max_lag + 1, n_s))
    for s in range(0, n_s, _SITE_BLOCK):
        spec = np.fft.rfft(x[:, s : s + _SITE_BLOCK], n=size, axis=0)
        out[:, s : s + _SITE_BLOCK] = np.fft.irfft(spec * spec.conj(), n=size, axis=0)[
            : max_lag + 1
        ]
    return out


@dataclass(frozen=True)
class SiteAverages:
    """Time averages per site.

    Attributes
    ----------
    mean_efg : numpy.ndarray, shape (S, 3, 3)
        Time-averaged tensor, V/Å².
    residual_omega_q_khz : numpy.ndarray, shape (S,)
        ωQ/2π of ``mean_efg`` (= the time mean of ωQ/2π), kHz.
    omega_q_rms_khz : numpy.ndarray, shape (S,)
        rms fluctuation of ωQ/2π about its time mean, kHz.
    n_frames : int
    """

    mean_efg: NDArray[np.float64]
    residual_omega_q_khz: NDArray[np.float64]
    omega_q_rms_khz: NDArray[np.float64]
    n_frames: int


def site_averages(
    efg_sum: NDArray[np.float64],
    omega_q_khz: NDArray[np.float64],
    nucleus: str,
    b0_direction: ArrayLike = (0.0, 0.0, 1.0),
) -> SiteAverages:
    """Time-averaged tensors and residual ωQ from Σ_t V_i(t) and the ωQ series.

    Parameters
    ----------
    efg_sum : numpy.ndarray, shape (S, 3, 3)
        Σ over the T frames of the tensors, V/Å².
    omega_q_khz : numpy.ndarray, shape (T, S)
        ωQ/2π series, kHz.
    nucleus : str
    b0_direction : array_like, shape (3,)
        The field direction the ωQ series was computed for.
    """
    from ltoefg.application.predict import lab_rotation, omega_q_lab_khz

    n_t = omega_q_khz.shape[0]
    mean = np.asarray(efg_sum, dtype=np.float64) / n_t
    residual = omega_q_lab_khz(mean, nucleus, lab_rotation(b0_direction))
    rms = np.sqrt(np.mean((omega_q_khz - omega_q_khz.mean(axis=0)) ** 2, axis=0))
    return SiteAverages(mean, residual, rms, n_t)


def f2_terms(
    omega_q_khz: NDArray[np.float64], tp_us: Sequence[float], max_lag: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Sums of the F₂ products and of the plateau for one trajectory.

    Returns
    -------
    sums : numpy.ndarray, shape (P, L)
        Σ_i Σ_t sin(ωQ_i(t) t_p) sin(ωQ_i(t+m) t_p) for each t_p and lag m.
    plateau : numpy.ndarray, shape (P,)
        Σ_i ⟨sin(ωQ_i t_p)⟩_t² (divide by the number of sites).
    """
    sums = np.empty((len(tp_us), max_lag + 1))
    plateau = np.empty(len(tp_us))
    for p, tp in enumerate(tp_us):
        s = np.sin(phase(omega_q_khz, tp))
        sums[p] = lag_sums(s, max_lag).sum(axis=1)
        plateau[p] = float(np.sum(s.mean(axis=0) ** 2))
    return sums, plateau


@dataclass(frozen=True)
class Correlations:
    """Site- and origin-averaged correlation functions of one or more trajectories.

    Attributes
    ----------
    lags : numpy.ndarray of int, shape (L,)
        t_m in frames (of the block-averaged series).
    acf : numpy.ndarray, shape (L,)
        Σ_i C_i(m) / Σ_i C_i(0): normalised autocorrelation of ωQ (NaN where ωQ is
        constant to round-off).
    acf_sites : numpy.ndarray, shape (L, S)
        C_i(m), kHz², of the sites of all trajectories in order.
    tp_us : numpy.ndarray, shape (P,)
        Evolution times t_p, µs.
    f2 : numpy.ndarray, shape (P, L)
        F₂(t_p, t_m).
    f2_plateau : numpy.ndarray, shape (P,)
        ⟨⟨sin(ωQ_i t_p)⟩_t²⟩_i: the long-t_m limit without exchange between sites.
        From a finite run it is biased upward by the variance of each site's time
        mean (≈ var_t(sin ωQ_i t_p) · 2τ/T for correlation time τ ≪ T), so a short
        run's F₂ can fall below it.
    """

    lags: NDArray[np.int64]
    acf: NDArray[np.float64]
    acf_sites: NDArray[np.float64]
    tp_us: NDArray[np.float64]
    f2: NDArray[np.float64]
    f2_plateau: NDArray[np.float64]


def correlations(
    series: Sequence[NDArray[np.float64]],
    tp_us: Sequence[float] = DEFAULT_TP_US,
    max_lag: int | None = None,
) -> Correlations:
    """ωQ autocorrelation and F₂ over sites and time origins, pooled over trajectories.

    Parameters
    ----------
    series : sequence of numpy.ndarray, each shape (T_r, S_r)
        ωQ/2π series in kHz of each trajectory (replica); sites of different
        replicas are different sites.
    tp_us : sequence of float
        Evolution times t_p, µs.
    max_lag : int, optional
        Largest t_m in frames (default: T_min // 2, where the average has at
        least half the origins).

    Notes
    -----
    Every (site, origin) pair weighs the same: at lag m a replica contributes
    S_r·(T_r − m) products.
    """
    if not series:
        raise ApplicationError("no trajectory to correlate")
    t_min = min(x.shape[0] for x in series)
    lag = t_min // 2 if max_lag is None else int(max_lag)
    if not 0 <= lag < t_min:
        raise ApplicationError(
            f"the largest lag must be in [0, {t_min - 1}] frames for these trajectories, got {lag}"
        )
    lags = np.arange(lag + 1)
    tp = np.asarray(tp_us, dtype=np.float64)
    f2_sum = np.zeros((len(tp), lag + 1))
    plateau_sum = np.zeros(len(tp))
    pairs = np.zeros(lag + 1)
    acf_sites = []
    n_sites = 0
    for x in series:
        n_t, n_s = x.shape
        origins = n_t - lags
        sums, plateau = f2_terms(x, tp, lag)
        f2_sum += sums
        plateau_sum += plateau
        pairs += n_s * origins
        n_sites += n_s
        acf_sites.append(lag_sums(x - x.mean(axis=0), lag) / origins[:, None])
    cov = np.concatenate(acf_sites, axis=1)
    total = cov.sum(axis=1)
    # ωQ constant to round-off (|δω| ≤ 1e-12·max|ωQ|): the normalised ACF is undefined
    scale = max(float(np.abs(x).max()) for x in series)
    if total[0] > n_sites * (1e-12 * scale) ** 2:
        acf = total / total[0]
    else:
        acf = np.full(lag + 1, np.nan)
    return Correlations(
        lags=lags,
        acf=acf,
        acf_sites=cov,
        tp_us=tp,
        f2=f2_sum / pairs,
        f2_plateau=plateau_sum / n_sites,
    )


@dataclass(frozen=True)
class DynamicsReport:
    """Everything :func:`analyse_files` derives from trajectory-prediction files.

    Attributes
    ----------
    files : list of str
    nucleus : str
    b0_direction : numpy.ndarray, shape (3,)
    frame_interval_s : float or None
        Δt between frames of the input, s.
    block : int
        Frames averaged into one point of the correlated series.
    replica : numpy.ndarray of int, shape (S,)
        Index into ``files`` of each site.
    atom_index : numpy.ndarray of int, shape (S,)
    wyckoff : numpy.ndarray of str, shape (S,)
        Empty strings where a file has none.
    averages : SiteAverages
        Over all frames of each replica.
    static_omega_q_khz : numpy.ndarray, shape (Σ T_r·S_r,)
        Every instantaneous ωQ/2π (all frames, all sites), kHz.
    correlations : Correlations
    training_data : dict
        Of the model that made the predictions (for the figure banner).
    """

    files: list[str]
    nucleus: str
    b0_direction: NDArray[np.float64]
    frame_interval_s: float | None
    block: int
    replica: NDArray[np.int64]
    atom_index: NDArray[np.int64]
    wyckoff: NDArray[np.str_]
    averages: SiteAverages
    static_omega_q_khz: NDArray[np.float64]
    correlations: Correlations
    training_data: dict

    @property
    def lag_time_s(self) -> NDArray[np.float64] | None:
        """t_m in s (lags × block × Δt), or None without Δt."""
        if self.frame_interval_s is None:
            return None
        return self.correlations.lags * self.block * self.frame_interval_s


def analyse_files(
    paths: Sequence[str],
    tp_us: Sequence[float] = DEFAULT_TP_US,
    block: int = 1,
    max_lag: int | None = None,
    frame_interval_s: float | None = None,
) -> DynamicsReport:
    """Dynamics observables of one or more complete trajectory-prediction files (replicas).

    Parameters
    ----------
    paths : sequence of path-like
        Files of :mod:`ltoefg.application.trajectory_file`, all of the same
        nucleus, field direction, model and frame interval.
    tp_us : sequence of float
        Evolution times t_p of F₂, µs.
    block : int
        Average ωQ over blocks of this many frames before the correlations.
    max_lag : int, optional
        Largest t_m in (block-averaged) frames; default half the shortest series.
    frame_interval_s : float, optional
        Δt in s; default the one the files record (they must agree).

    Raises
    ------
    ApplicationError
        Missing or incomplete files, or files that do not belong together.
    """
    from ltoefg.application.trajectory_file import read_file

    if not paths:
        raise ApplicationError("give at least one trajectory-prediction file")
    metas = [read_file(p) for p in paths]
    first = metas[0]
    for m in metas[1:]:
        same_field = np.allclose(m.b0_direction, first.b0_direction)
        if m.nucleus != first.nucleus or not same_field:
            raise ApplicationError(
                f"{m.path} is for {m.nucleus} with B0 along {m.b0_direction.tolist()}, "
                f"{first.path} for {first.nucleus} along {first.b0_direction.tolist()}"
            )
        if m.provenance.get("training_data") != first.provenance.get("training_data"):
            raise ApplicationError(f"{m.path} and {first.path} were predicted by different models")
    intervals = {m.frame_interval_s for m in metas}
    if frame_interval_s is None:
        if len(intervals) > 1:
            raise ApplicationError(
                "the files record different frame intervals; give the interval explicitly"
            )
        frame_interval_s = intervals.pop()
    series, sums, static = [], [], []
    for m in metas:
        omega = m.omega_q_khz()
        series.append(block_average(omega, block))
        sums.append((m.efg_sum(), omega))
        static.append(omega.ravel())
    per_site = [site_averages(e, o, first.nucleus, first.b0_direction) for e, o in sums]
    averages = SiteAverages(
        mean_efg=np.concatenate([a.mean_efg for a in per_site]),
        residual_omega_q_khz=np.concatenate([a.residual_omega_q_khz for a in per_site]),
        omega_q_rms_khz=np.concatenate([a.omega_q_rms_khz for a in per_site]),
        n_frames=sum(a.n_frames for a in per_site),
    )
    return DynamicsReport(
        files=[str(m.path) for m in metas],
        nucleus=first.nucleus,
        b0_direction=first.b0_direction,
        frame_interval_s=frame_interval_s,
        block=int(block),
        replica=np.concatenate([np.full(m.n_sites, r) for r, m in enumerate(metas)]),
        atom_index=np.concatenate([m.atom_index for m in metas]),
        wyckoff=np.concatenate(
            [m.wyckoff if m.wyckoff is not None else np.full(m.n_sites, "") for m in metas]
        ),
        averages=averages,
        static_omega_q_khz=np.concatenate(static),
        correlations=correlations(series, tp_us, max_lag),
        training_data=dict(first.provenance.get("training_data") or {}),
    )
