"""Sparse Gaussian-process regression (projected process / subset of regressors).

Both regressors work on *features* (not on precomputed kernels), so that the
(N × M) kernel between the N training and M active environments is only ever
held one chunk of rows at a time:

* the active set is M environments chosen by farthest-point sampling (FPS) on
  the unit-norm λ = 0 SOAP features (:func:`farthest_point_sampling`,
  deterministic for a given seed);
* the weights solve the projected-process normal equations

      (K_MN K_NM + reg · K_MM + jitter · 1) w = K_MN y,

  accumulated chunk by chunk over the training set (BLAS ``dsyrk``), then
  solved by Cholesky (LAPACK ``dpotrf``/``dpotrs``); if the matrix is not
  numerically positive definite (SOAP normal matrices are rank deficient to
  round-off), Cholesky is retried with small relative diagonal shifts
  (:data:`JITTER_ESCALATION`), then a least-squares solve is used, with a
  warning either way;
* if M ≥ N (``n_active=None``, or at least the training-set size) the exact GPR
  (kernel ridge) solution (K_NN + reg · 1) w = y is used instead — the same
  w in exact arithmetic for invertible K, and cheaper (N³/3 instead of N·M²).

``reg`` is dimensionless: the kernels are normalised (k(X, X) = 1), so it is
the ratio of noise variance to kernel (signal) variance, the same meaning in
both the sparse and the exact path. The prediction is y(X) = K_XM w (+ mean).

Target standardisation: for scalars the training mean is subtracted before the
fit and added back on prediction (the solution is linear in y, so scaling
would change nothing). For λ = 2 targets no mean is subtracted: a constant
5-vector is not equivariant, so an equivariant model cannot have one.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import blas, lapack

from baselines.engine.kernels import _power, iter_row_chunks, kernel_lambda0, kernel_lambda2

__all__ = [
    "JITTER_ESCALATION",
    "ScalarSparseGPR",
    "TensorSparseGPR",
    "farthest_point_sampling",
]


def farthest_point_sampling(
    x: NDArray[np.float64], n_select: int, seed: int = 0, start: int | None = None
) -> NDArray[np.int64]:
    """Farthest-point sampling of rows of ``x`` (Euclidean distance).

    Starts from row ``start`` (or one drawn by ``numpy.random.default_rng(seed)``),
    then repeatedly adds the row whose distance to the selected set is largest
    (ties: the lowest index). For unit-norm SOAP features, d² = 2 − 2 k₀^(ζ=1),
    i.e. the kernel-induced distance of the linear kernel.

    Parameters
    ----------
    x : numpy.ndarray, shape (N, F)
    n_select : int
        Number of rows to select, 1 ≤ n_select ≤ N.
    seed : int
        Seed of the start point (ignored when ``start`` is given).
    start : int, optional
        Index of the first selected row.

    Returns
    -------
    numpy.ndarray, shape (n_select,), int64
        Distinct row indices in selection order. Once every distinct row is
        selected, exact duplicates follow in index order.
    """
    n = x.shape[0]
    if not 1 <= n_select <= n:
        raise ValueError(f"n_select must be in [1, {n}], got {n_select}")
    if start is None:
        start = int(np.random.default_rng(seed).integers(n))
    if not 0 <= start < n:
        raise ValueError("start out of range")
    sq = np.einsum("ij,ij->i", x, x)
    selected = np.empty(n_select, dtype=np.int64)
    selected[0] = start
    dmin = sq + sq[start] - 2.0 * (x @ x[start])
    dmin[start] = -np.inf
    for k in range(1, n_select):
        i = int(np.argmax(dmin))
        selected[k] = i
        d = sq + sq[i] - 2.0 * (x @ x[i])
        np.minimum(dmin, d, out=dmin)
        dmin[selected[: k + 1]] = -np.inf
    return selected


# ---------------------------------------------------------------------------
# dense SPD solve helpers (work in place on Fortran-ordered arrays)


def _mirror_upper_to_lower(a: NDArray[np.float64], block: int = 1024) -> None:
    """Copy the upper triangle of square ``a`` onto its lower triangle, in blocks."""
    n = a.shape[0]
    for r in range(0, n, block):
        r1 = min(r + block, n)
        a[r:r1, :r] = a[:r, r:r1].T
        diag_block = a[r:r1, r:r1]
        lower = np.tril_indices(r1 - r, -1)
        diag_block[lower] = diag_block.T[lower]


def _mirror_lower_to_upper(a: NDArray[np.float64], block: int = 1024) -> None:
    _mirror_upper_to_lower(a.T, block)


#: Relative diagonal shifts (× mean diagonal) tried in turn when Cholesky fails.
JITTER_ESCALATION: tuple[float, ...] = (1e-13, 1e-11, 1e-9)


def _spd_solve_inplace(
    a: NDArray[np.float64], b: NDArray[np.float64]
) -> tuple[NDArray[np.float64], float]:
    """Solve a x = b for symmetric ``a`` (both triangles filled), destroying ``a``'s upper half.

    ``a`` must be F-contiguous (a transposed C-contiguous symmetric matrix is).
    Cholesky first. Normal matrices of SOAP kernels are numerically rank
    deficient (their smallest eigenvalues sit at round-off level of the
    largest), so if Cholesky fails the upper triangle is restored from the
    lower one and it is retried with a diagonal shift of
    :data:`JITTER_ESCALATION` × mean diagonal (a warning names shifts above the
    first, which is routine and far below any useful regularisation); a
    pivoted-QR least-squares solve (``gelsy``) is the last resort.

    Returns the solution and the relative shift used (0: none, inf: least squares).
    """
    if not a.flags.f_contiguous:
        raise ValueError("internal: matrix must be Fortran-contiguous")
    diag = a.diagonal().copy()
    scale = max(float(np.abs(diag).mean()), np.finfo(float).tiny)
    for shift in (0.0, *JITTER_ESCALATION):
        if shift:
            _mirror_lower_to_upper(a)
            a[np.diag_indices_from(a)] = diag + shift * scale
        c, info = lapack.dpotrf(a, lower=0, clean=0, overwrite_a=1)
        if info == 0:
            if shift > JITTER_ESCALATION[0]:
                warnings.warn(
                    f"GPR normal matrix not numerically positive definite; solved with a "
                    f"relative diagonal shift of {shift:g}",
                    RuntimeWarning,
                    stacklevel=3,
                )
            x, info2 = lapack.dpotrs(c, b, lower=0)
            if info2 != 0:
                raise RuntimeError(f"dpotrs failed (info={info2})")
            return x, shift
    _mirror_lower_to_upper(a)
    a[np.diag_indices_from(a)] = diag
    warnings.warn(
        "GPR normal matrix is not numerically positive definite; using a least-squares "
        "solve (increase the regularisation to avoid this)",
        RuntimeWarning,
        stacklevel=3,
    )
    return scipy.linalg.lstsq(a, b, lapack_driver="gelsy", check_finite=False)[0], np.inf


def _add_jitter(a: NDArray[np.float64], jitter: float) -> None:
    if jitter > 0:
        a[np.diag_indices_from(a)] += jitter


# ---------------------------------------------------------------------------


class _GPRBase:
    """Shared hyperparameters and active-set selection."""

    def __init__(
        self,
        zeta: float = 2.0,
        regularisation: float = 1e-3,
        n_active: int | None = None,
        seed: int = 0,
        jitter: float = 1e-12,
        chunk_size: int = 2048,
    ) -> None:
        if regularisation < 0 or jitter < 0:
            raise ValueError("regularisation and jitter must be ≥ 0")
        if n_active is not None and n_active < 1:
            raise ValueError("n_active must be ≥ 1 or None")
        self.zeta = float(zeta)
        self.regularisation = float(regularisation)
        self.n_active = n_active
        self.seed = int(seed)
        self.jitter = float(jitter)
        self.chunk_size = int(chunk_size)
        self.active_indices_: NDArray[np.int64] | None = None
        self.exact_: bool | None = None
        self.shift_: float = 0.0

    def _choose_active(
        self, x0: NDArray[np.float64], active: ArrayLike | None
    ) -> NDArray[np.int64]:
        n = x0.shape[0]
        if active is not None:
            idx = np.asarray(active, dtype=np.int64)
            if idx.ndim != 1 or len(np.unique(idx)) != len(idx) or idx.min() < 0 or idx.max() >= n:
                raise ValueError("active must be distinct row indices of the training set")
            return idx
        if self.n_active is None or self.n_active >= n:
            return np.arange(n, dtype=np.int64)
        return farthest_point_sampling(x0, self.n_active, seed=self.seed)

    def _check_fitted(self) -> None:
        if self.exact_ is None:
            raise RuntimeError("the model is not fitted")


class ScalarSparseGPR(_GPRBase):
    """Sparse GPR of scalar targets on the SOAP kernel k₀ = (x·x')^ζ.

    Several targets (columns of ``y``) share the kernel, the active set and the
    factorisation, and are solved as multiple right-hand sides.

    Parameters
    ----------
    zeta : float
        Kernel exponent ζ.
    regularisation : float
        Dimensionless noise-to-signal variance ratio ``reg`` (see module doc).
    n_active : int or None
        Number of FPS active environments M; None (or ≥ N) gives the exact GPR.
    seed : int
        Seed of the FPS start point.
    jitter : float
        Diagonal jitter added to the matrix that is factorised, in kernel units
        (k(X, X) = 1); only a guard against round-off, keep it ≪ reg.
    chunk_size : int
        Training environments per kernel chunk.

    Attributes
    ----------
    active_x_ : numpy.ndarray, shape (M, F0)
        λ = 0 features of the active environments.
    weights_ : numpy.ndarray, shape (M,) or (M, T)
    y_mean_ : numpy.ndarray, shape () or (T,)
        Training mean, in the unit of y.
    active_indices_ : numpy.ndarray, shape (M,)
        Rows of the training set used as active environments.
    exact_ : bool
        Whether the exact (M = N) solver was used.
    shift_ : float
        Relative diagonal shift the solver needed (0: none; inf: least squares).
    """

    def fit(
        self, x0: NDArray[np.float64], y: ArrayLike, active: ArrayLike | None = None
    ) -> ScalarSparseGPR:
        """Fit on unit-norm λ = 0 features ``x0`` (N, F0) and targets ``y`` (N,) or (N, T).

        ``active`` optionally fixes the active rows (otherwise FPS / all rows).
        """
        x0 = np.asarray(x0, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if y.shape[0] != x0.shape[0] or y.ndim not in (1, 2):
            raise ValueError("y must have shape (N,) or (N, T) with N rows of x0")
        if not np.all(np.isfinite(y)):
            raise ValueError("targets contain NaN or inf")
        y2 = y.reshape(y.shape[0], -1)
        self.y_mean_ = y2.mean(axis=0)
        yc = y2 - self.y_mean_
        idx = self._choose_active(x0, active)
        self.active_indices_ = idx
        self.active_x_ = x0[idx].copy()
        n, m = x0.shape[0], idx.size
        self.exact_ = m == n and active is None
        if self.exact_:
            k = kernel_lambda0(x0, x0, self.zeta, self.chunk_size)
            k[np.diag_indices_from(k)] += self.regularisation
            _add_jitter(k, self.jitter)
            w, self.shift_ = _spd_solve_inplace(k.T, yc.copy())
        else:
            a = np.zeros((m, m), order="F")
            b = np.zeros((m, yc.shape[1]))
            for sl in iter_row_chunks(n, self.chunk_size):
                k_nm = kernel_lambda0(x0[sl], self.active_x_, self.zeta, self.chunk_size)
                blas.dsyrk(1.0, k_nm.T, beta=1.0, c=a, trans=0, lower=0, overwrite_c=1)
                b += k_nm.T @ yc[sl]
            k_mm = kernel_lambda0(self.active_x_, self.active_x_, self.zeta, self.chunk_size)
            a += self.regularisation * k_mm
            del k_mm
            _mirror_upper_to_lower(a)
            _add_jitter(a, self.jitter)
            w, self.shift_ = _spd_solve_inplace(a, b)
        self.weights_ = w[:, 0] if y.ndim == 1 else w
        if y.ndim == 1:
            self.y_mean_ = self.y_mean_[0]
        return self

    def predict(self, x0: NDArray[np.float64]) -> NDArray[np.float64]:
        """Predictions for unit-norm λ = 0 features (N, F0): shape (N,) or (N, T)."""
        self._check_fitted()
        x0 = np.asarray(x0, dtype=np.float64)
        out = np.empty((x0.shape[0],) + self.weights_.shape[1:])
        for sl in iter_row_chunks(x0.shape[0], self.chunk_size):
            out[sl] = kernel_lambda0(x0[sl], self.active_x_, self.zeta) @ self.weights_
        return out + self.y_mean_


class TensorSparseGPR(_GPRBase):
    """Sparse SA-GPR of λ = 2 (5-component) targets on the λ-SOAP kernel.

    Kernel K₂(X, X') = P Pᵀ · (x·x')^(ζ−1) (see :mod:`baselines.engine.kernels`);
    predictions are exactly equivariant: rotating an environment rotates the
    predicted 5-vector by the same Wigner matrix. No target mean is used.

    Parameters are those of :class:`ScalarSparseGPR` (ζ ≥ 1 here).

    Attributes
    ----------
    active_x0_ : numpy.ndarray, shape (M, F0)
    active_x2_ : numpy.ndarray, shape (M, 5, F2)
    weights_ : numpy.ndarray, shape (5 M,)
        Weight 5 j + ν belongs to component ν of active environment j.
    active_indices_, exact_, shift_ : as for :class:`ScalarSparseGPR`.
    """

    def fit(
        self,
        x0: NDArray[np.float64],
        x2: NDArray[np.float64],
        y: ArrayLike,
        active: ArrayLike | None = None,
    ) -> TensorSparseGPR:
        """Fit on features ``x0`` (N, F0), ``x2`` (N, 5, F2) and 5-vectors ``y`` (N, 5)."""
        x0 = np.asarray(x0, dtype=np.float64)
        x2 = np.asarray(x2, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        n = x0.shape[0]
        if x2.shape[:2] != (n, 5) or y.shape != (n, 5):
            raise ValueError("need x2 of shape (N, 5, F2) and y of shape (N, 5)")
        if not np.all(np.isfinite(y)):
            raise ValueError("targets contain NaN or inf")
        idx = self._choose_active(x0, active)
        self.active_indices_ = idx
        self.active_x0_ = x0[idx].copy()
        self.active_x2_ = x2[idx].copy()
        m = idx.size
        yf = y.reshape(-1, 1)
        self.exact_ = m == n and active is None
        if self.exact_:
            k = self._symmetric_kernel(x0, x2)
            k[np.diag_indices_from(k)] += self.regularisation
            _add_jitter(k, self.jitter)
            w, self.shift_ = _spd_solve_inplace(k.T, yf.copy())
        else:
            a = np.zeros((5 * m, 5 * m), order="F")
            b = np.zeros((5 * m, 1))
            rows = max(1, self.chunk_size // 5)
            for sl in iter_row_chunks(n, rows):
                k_nm = kernel_lambda2(
                    x2[sl], self.active_x2_, x0[sl], self.active_x0_, self.zeta, rows
                )
                blas.dsyrk(1.0, k_nm.T, beta=1.0, c=a, trans=0, lower=0, overwrite_c=1)
                b += k_nm.T @ yf[5 * sl.start : 5 * sl.stop]
                del k_nm
            k_mm = self._symmetric_kernel(self.active_x0_, self.active_x2_)
            a += self.regularisation * k_mm
            del k_mm
            _mirror_upper_to_lower(a)
            _add_jitter(a, self.jitter)
            w, self.shift_ = _spd_solve_inplace(a, b)
        self.weights_ = w[:, 0]
        return self

    def _symmetric_kernel(
        self, x0: NDArray[np.float64], x2: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """K₂ of a set with itself, computing only the upper block triangle (then mirrored)."""
        n = x0.shape[0]
        f2 = x2.shape[2]
        flat = x2.reshape(5 * n, f2)
        out = np.empty((5 * n, 5 * n))
        rows = max(1, self.chunk_size // 5)
        for sl in iter_row_chunks(n, rows):
            r = slice(5 * sl.start, 5 * sl.stop)
            c = slice(5 * sl.start, 5 * n)
            block = flat[r] @ flat[c].T  # contiguous (5 rows, 5 (n - start))
            if self.zeta != 1:
                scale = _power(x0[sl] @ x0[sl.start :].T, self.zeta - 1.0)
                block.reshape(sl.stop - sl.start, 5, n - sl.start, 5)[...] *= scale[
                    :, None, :, None
                ]
            out[r, c] = block
            del block
        _mirror_upper_to_lower(out)
        return out

    def predict(self, x0: NDArray[np.float64], x2: NDArray[np.float64]) -> NDArray[np.float64]:
        """Predicted λ = 2 components, shape (N, 5), from features (N, F0), (N, 5, F2)."""
        self._check_fitted()
        x0 = np.asarray(x0, dtype=np.float64)
        x2 = np.asarray(x2, dtype=np.float64)
        n = x0.shape[0]
        out = np.empty(5 * n)
        rows = max(1, self.chunk_size // 5)
        for sl in iter_row_chunks(n, rows):
            k = kernel_lambda2(x2[sl], self.active_x2_, x0[sl], self.active_x0_, self.zeta, rows)
            out[5 * sl.start : 5 * sl.stop] = k @ self.weights_
        return out.reshape(n, 5)
