"""Rank-2 tensor algebra: symmetric-traceless projection, real spherical λ=2 form, rotations.

All functions are vectorised over a leading site axis: tensors have shape
``(N, 3, 3)`` (a single ``(3, 3)`` tensor is accepted and returned unbatched).
Units are whatever the input carries (V/Å² for EFGs).

Real spherical convention (SPEC §2), components m = −2 … 2, orthonormal, the
order featomic and TENSOAP use::

    [√2·Txy, √2·Tyz, (2Tzz − Txx − Tyy)/√6, √2·Txz, (Txx − Tyy)/√2]

and the λ = 0 part of a general symmetric T is −tr(T)/√3.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

_SQRT2 = np.sqrt(2.0)
_SQRT3 = np.sqrt(3.0)
_SQRT6 = np.sqrt(6.0)


def _as_batch(tensor: ArrayLike) -> tuple[NDArray[np.float64], bool]:
    arr = np.asarray(tensor, dtype=np.float64)
    if arr.shape[-2:] != (3, 3):
        raise ValueError(f"expected tensors of shape (..., 3, 3), got {arr.shape}")
    single = arr.ndim == 2
    return (arr[None] if single else arr), single


def symmetric_traceless(tensor: ArrayLike) -> NDArray[np.float64]:
    """Project tensors onto their symmetric, traceless part.

    P(V) = (V + Vᵀ)/2 − tr(V)/3 · 1.

    Parameters
    ----------
    tensor : array_like, shape (N, 3, 3) or (3, 3)
        Tensors in any unit.

    Returns
    -------
    numpy.ndarray
        The projected tensors, same shape and unit.
    """
    arr, single = _as_batch(tensor)
    sym = 0.5 * (arr + np.swapaxes(arr, -1, -2))
    trace = np.trace(sym, axis1=-2, axis2=-1)
    sym = sym - (trace / 3.0)[..., None, None] * np.eye(3)
    return sym[0] if single else sym


def asymmetry(tensor: ArrayLike) -> NDArray[np.float64]:
    """Largest |Vij − Vji| of each tensor (same unit as the input), shape (N,)."""
    arr, _ = _as_batch(tensor)
    return np.abs(arr - np.swapaxes(arr, -1, -2)).max(axis=(-2, -1))


def abs_trace(tensor: ArrayLike) -> NDArray[np.float64]:
    """|tr V| of each tensor (same unit as the input), shape (N,)."""
    arr, _ = _as_batch(tensor)
    return np.abs(np.trace(arr, axis1=-2, axis2=-1))


def to_spherical(tensor: ArrayLike) -> NDArray[np.float64]:
    """Real spherical λ=2 components of the symmetric-traceless part of tensors.

    Parameters
    ----------
    tensor : array_like, shape (N, 3, 3) or (3, 3)

    Returns
    -------
    numpy.ndarray, shape (N, 5) or (5,)
        Components m = −2 … 2 in the order of the module docstring.
    """
    arr, single = _as_batch(tensor)
    t = 0.5 * (arr + np.swapaxes(arr, -1, -2))
    out = np.stack(
        [
            _SQRT2 * t[:, 0, 1],
            _SQRT2 * t[:, 1, 2],
            (2.0 * t[:, 2, 2] - t[:, 0, 0] - t[:, 1, 1]) / _SQRT6,
            _SQRT2 * t[:, 0, 2],
            (t[:, 0, 0] - t[:, 1, 1]) / _SQRT2,
        ],
        axis=-1,
    )
    return out[0] if single else out


def from_spherical(components: ArrayLike) -> NDArray[np.float64]:
    """Symmetric traceless Cartesian tensors from real spherical λ=2 components.

    Exact inverse of :func:`to_spherical` on symmetric traceless tensors.

    Parameters
    ----------
    components : array_like, shape (N, 5) or (5,)

    Returns
    -------
    numpy.ndarray, shape (N, 3, 3) or (3, 3)
    """
    c = np.asarray(components, dtype=np.float64)
    single = c.ndim == 1
    if single:
        c = c[None]
    if c.shape[-1] != 5:
        raise ValueError(f"expected 5 spherical components, got shape {c.shape}")
    xy = c[:, 0] / _SQRT2
    yz = c[:, 1] / _SQRT2
    xz = c[:, 3] / _SQRT2
    zz = c[:, 2] * 2.0 / _SQRT6
    xx_minus_yy = c[:, 4] * _SQRT2
    # xx + yy = -zz (traceless)
    xx = 0.5 * (-zz + xx_minus_yy)
    yy = 0.5 * (-zz - xx_minus_yy)
    out = np.empty((c.shape[0], 3, 3))
    out[:, 0, 0], out[:, 1, 1], out[:, 2, 2] = xx, yy, zz
    out[:, 0, 1] = out[:, 1, 0] = xy
    out[:, 1, 2] = out[:, 2, 1] = yz
    out[:, 0, 2] = out[:, 2, 0] = xz
    return out[0] if single else out


def isotropic_component(tensor: ArrayLike) -> NDArray[np.float64]:
    """λ = 0 real spherical component −tr(T)/√3, shape (N,)."""
    arr, single = _as_batch(tensor)
    out = -np.trace(arr, axis1=-2, axis2=-1) / _SQRT3
    return out[0] if single else out


def rotate(tensor: ArrayLike, rotation: ArrayLike) -> NDArray[np.float64]:
    """Rotate rank-2 tensors: T' = R T Rᵀ.

    Parameters
    ----------
    tensor : array_like, shape (N, 3, 3) or (3, 3)
    rotation : array_like, shape (3, 3) or (N, 3, 3)
        Orthogonal matrices (one for all tensors, or one per tensor).
    """
    arr, single = _as_batch(tensor)
    rot = np.asarray(rotation, dtype=np.float64)
    out = rot @ arr @ np.swapaxes(rot, -1, -2)
    return out[0] if single else out


def random_rotations(n: int, rng: np.random.Generator) -> NDArray[np.float64]:
    """``n`` uniformly distributed proper rotation matrices, shape (n, 3, 3).

    Uses :meth:`scipy.spatial.transform.Rotation.random` driven by ``rng``.
    """
    from scipy.spatial.transform import Rotation

    return Rotation.random(n, random_state=rng).as_matrix()
