"""SOAP (λ = 0) and λ-SOAP (λ = 2) polynomial kernels, as in SA-GPR / TENSOAP.

With unit-norm λ = 0 power spectra x (see :mod:`baselines.engine.features`)

    k₀(X, X') = (x · x')^ζ,

and with λ = 2 power spectra P(X) (5 × F2 matrices of unit Frobenius norm)

    K₂(X, X') = P(X) P(X')ᵀ · (x · x')^(ζ−1),    a 5 × 5 block per pair,

i.e. the λ = 2 linear kernel scaled by the (ζ−1)-th power of the scalar linear
kernel, which keeps K₂ equivariant, K₂(RX, R'X') = D(R) K₂(X, X') D(R')ᵀ, while
making it non-linear. The (5N, 5M) matrix is laid out environment-major:
row 5 i + μ is component μ (m = μ − 2) of environment i.

Both kernels are dimensionless (features are normalised); k₀(X, X) = 1 and
tr K₂(X, X) = 1. All products are single BLAS matrix products over chunks of
rows, so the memory overhead is one chunk of the output.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "kernel_lambda0",
    "kernel_lambda2",
    "iter_row_chunks",
    "linear_kernel",
]


def iter_row_chunks(n: int, chunk_size: int) -> Iterator[slice]:
    """Slices covering ``range(n)`` in pieces of at most ``chunk_size`` rows."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be ≥ 1")
    for start in range(0, n, chunk_size):
        yield slice(start, min(start + chunk_size, n))


def _power(k: NDArray[np.float64], exponent: float) -> NDArray[np.float64]:
    """k**exponent in place, for integer or real exponents.

    Non-integer powers of negative overlaps are undefined; SOAP power spectra
    with a central-atom density have non-negative overlaps in practice, and
    tiny negative round-off values are clipped to zero.
    """
    if exponent == 1:
        return k
    if exponent == 0:
        k[...] = 1.0
        return k
    if float(exponent).is_integer() and exponent > 0:
        e = int(exponent)
        if e == 2:
            np.multiply(k, k, out=k)
        else:
            np.power(k, e, out=k)
        return k
    np.maximum(k, 0.0, out=k)
    np.power(k, exponent, out=k)
    return k


def linear_kernel(
    x: NDArray[np.float64], y: NDArray[np.float64], chunk_size: int = 4096
) -> NDArray[np.float64]:
    """Plain dot products x yᵀ, shape (N, M), computed in row chunks."""
    out = np.empty((x.shape[0], y.shape[0]))
    for sl in iter_row_chunks(x.shape[0], chunk_size):
        np.matmul(x[sl], y.T, out=out[sl])
    return out


def kernel_lambda0(
    x: NDArray[np.float64], y: NDArray[np.float64], zeta: float, chunk_size: int = 4096
) -> NDArray[np.float64]:
    """Scalar SOAP kernel k₀ = (x · y)^ζ.

    Parameters
    ----------
    x : numpy.ndarray, shape (N, F0)
        Unit-norm λ = 0 power spectra.
    y : numpy.ndarray, shape (M, F0)
    zeta : float
        Kernel exponent ζ (> 0; integer values are exact and fastest).
    chunk_size : int
        Rows of ``x`` per BLAS call.

    Returns
    -------
    numpy.ndarray, shape (N, M)
    """
    if zeta <= 0:
        raise ValueError("zeta must be positive")
    out = np.empty((x.shape[0], y.shape[0]))
    for sl in iter_row_chunks(x.shape[0], chunk_size):
        np.matmul(x[sl], y.T, out=out[sl])
        _power(out[sl], zeta)
    return out


def kernel_lambda2(
    p: NDArray[np.float64],
    q: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    zeta: float,
    chunk_size: int = 1024,
) -> NDArray[np.float64]:
    """λ = 2 SA-GPR kernel K₂ = (P Qᵀ) ⊙ (x · y)^(ζ−1), shape (5N, 5M).

    Parameters
    ----------
    p : numpy.ndarray, shape (N, 5, F2)
        Normalised λ = 2 power spectra of the row environments.
    q : numpy.ndarray, shape (M, 5, F2)
        Same for the column environments.
    x : numpy.ndarray, shape (N, F0)
        Unit-norm λ = 0 power spectra of the row environments.
    y : numpy.ndarray, shape (M, F0)
        Same for the column environments.
    zeta : float
        Kernel exponent ζ ≥ 1 (ζ = 1: purely linear λ = 2 kernel).
    chunk_size : int
        Environments of ``p`` per BLAS call.

    Returns
    -------
    numpy.ndarray, shape (5N, 5M)
        Row 5 i + μ, column 5 j + ν holds K₂(X_i, X_j)[μ, ν].
    """
    if zeta < 1:
        raise ValueError("zeta must be ≥ 1 for the λ = 2 kernel")
    n, m = p.shape[0], q.shape[0]
    if p.shape[1] != 5 or q.shape[1] != 5:
        raise ValueError("λ = 2 features must have shape (n, 5, F2)")
    if x.shape[0] != n or y.shape[0] != m:
        raise ValueError("λ = 0 and λ = 2 features must describe the same environments")
    q2 = q.reshape(5 * m, -1)
    out = np.empty((5 * n, 5 * m))
    for sl in iter_row_chunks(n, chunk_size):
        rows = slice(5 * sl.start, 5 * sl.stop)
        block = out[rows]
        np.matmul(p[sl].reshape(-1, p.shape[2]), q2.T, out=block)
        if zeta != 1:
            scale = _power(x[sl] @ y.T, zeta - 1.0)
            block.reshape(sl.stop - sl.start, 5, m, 5)[...] *= scale[:, None, :, None]
    return out
