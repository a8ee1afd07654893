"""Compare sets of EFG tensors per nucleus: convergence errors and PCM-vs-DFT statistics.

All tensors are in V/Å² and projected to their symmetric traceless part
(:func:`ltoefg.tensors.symmetric_traceless`) before comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ltoefg import constants as C
from ltoefg.nmr import eta_from_eigenvalues, principal_axes
from ltoefg.tensors import symmetric_traceless

__all__ = ["pcm_vs_dft", "tensor_change", "tensor_change_table", "vzz_axis_angle_deg"]


def tensor_change(
    efg: ArrayLike, ref: ArrayLike, sigma_vzz: float | None = None
) -> dict[str, float]:
    """How far tensors are from reference tensors of the same sites.

    Parameters
    ----------
    efg, ref : array_like, shape (N, 3, 3)
        Tensors and reference tensors, V/Å².
    sigma_vzz : float, optional
        σ(|Vzz|) of the nucleus (V/Å²) to express the element MAE relative to it.

    Returns
    -------
    dict
        ``rel_change``: ‖ΔV‖_F summed in quadrature over sites over the same of
        the reference (fraction); ``mae_vij``: mean |ΔV_ij| over the 9 elements
        (V/Å², the ML element metric); ``max_abs_dvzz``: largest |ΔVzz| (V/Å²);
        ``mae_vij_over_sigma``: ``mae_vij / sigma_vzz`` (if given).
    """
    a = symmetric_traceless(np.asarray(efg, float))
    b = symmetric_traceless(np.asarray(ref, float))
    d = a - b
    out = {
        "rel_change": float(np.sqrt((d**2).sum() / (b**2).sum())),
        "mae_vij": float(np.abs(d).mean()),
        "max_abs_dvzz": float(np.abs(principal_axes(a).vzz - principal_axes(b).vzz).max()),
    }
    if sigma_vzz is not None:
        out["mae_vij_over_sigma"] = out["mae_vij"] / sigma_vzz
    return out


def _results_efg(results: Mapping[int, Mapping[str, Any]], ids: Sequence[int]) -> NDArray:
    return np.concatenate([np.asarray(results[s]["efg"], float) for s in ids])


def tensor_change_table(
    results: Mapping[str, Mapping[int, Mapping[str, Any]]],
    reference: str,
    structures: Sequence[int],
    symbols: ArrayLike,
) -> str:
    """Markdown table: change of every setting's tensors against the reference setting.

    Parameters
    ----------
    results : mapping
        setting name -> structure id -> result dict (``efg`` in V/Å²).
    reference : str
        Name of the reference setting (the densest one).
    structures : sequence of int
        Structures compared (all settings must have them; others are skipped).
    symbols : array_like of str
        Chemical symbols of all sites of ``structures``, concatenated.
    """
    symbols = np.asarray(symbols)
    ref = _results_efg(results[reference], structures)
    sigma = {n: float(np.abs(principal_axes(ref[symbols == n]).vzz).std()) for n in C.NUCLEI}
    head = "| setting | SCF steps | wall s | " + " | ".join(
        f"{n} Δ‖V‖ % | {n} MAE V/Å² (% σ)" for n in C.NUCLEI
    )
    lines = [head + " |", "|" + "---|" * (3 + 2 * len(C.NUCLEI))]
    for name, per in results.items():
        if not all(s in per and per[s].get("status") == "ok" for s in structures):
            continue
        efg = _results_efg(per, structures)
        steps = "/".join(str(per[s].get("scf_steps_total", "?")) for s in structures)
        wall = "/".join(f"{per[s].get('wall_time_s_total', 0):.0f}" for s in structures)
        cells = []
        for n in C.NUCLEI:
            m = symbols == n
            ch = tensor_change(efg[m], ref[m], sigma[n])
            cells.append(f"{100 * ch['rel_change']:.2f}")
            cells.append(f"{ch['mae_vij']:.3f} ({100 * ch['mae_vij_over_sigma']:.1f})")
        lines.append(f"| {name} | {steps} | {wall} | " + " | ".join(cells) + " |")
    sig = ", ".join(f"{n} {sigma[n]:.2f}" for n in C.NUCLEI)
    lines.append("")
    lines.append(f"σ(|Vzz|) of the reference setting over these structures (V/Å²): {sig}.")
    return "\n".join(lines)


def vzz_axis_angle_deg(a: ArrayLike, b: ArrayLike) -> NDArray[np.float64]:
    """Angle between the Vzz axes of two sets of tensors, degrees in [0, 90].

    Parameters
    ----------
    a, b : array_like, shape (N, 3, 3)
    """
    za = principal_axes(a).frames[:, :, 2]
    zb = principal_axes(b).frames[:, :, 2]
    cos = np.clip(np.abs(np.einsum("ni,ni->n", za, zb)), 0.0, 1.0)
    return np.degrees(np.arccos(cos))


def _pearson(x: NDArray, y: NDArray) -> float | None:
    if x.size < 2 or np.std(x) == 0 or np.std(y) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def pcm_vs_dft(pcm: ArrayLike, dft: ArrayLike) -> dict[str, float | int | None]:
    """How well point-charge tensors track DFT tensors of the same sites.

    Parameters
    ----------
    pcm, dft : array_like, shape (N, 3, 3)
        Point-charge and DFT tensors of the same sites, V/Å².

    Returns
    -------
    dict
        ``n``; ``r_vzz`` (Pearson r of signed Vzz); ``r_eta``;
        ``median_angle_deg`` (median angle between the Vzz axes);
        ``slope`` (least-squares slope of DFT Vzz on PCM Vzz, with intercept);
        ``r_tensor`` (Pearson r over all traceless tensor elements);
        ``mean_abs_vzz_pcm``, ``mean_abs_vzz_dft`` (V/Å²).
    """
    p, d = principal_axes(pcm), principal_axes(dft)
    vp, vd = p.vzz, d.vzz
    slope = float(np.polyfit(vp, vd, 1)[0]) if vp.size > 1 and np.std(vp) > 0 else None
    return {
        "n": int(vp.size),
        "r_vzz": _pearson(vp, vd),
        "r_eta": _pearson(eta_from_eigenvalues(p.eigenvalues), eta_from_eigenvalues(d.eigenvalues)),
        "median_angle_deg": float(np.median(vzz_axis_angle_deg(pcm, dft))),
        "slope": slope,
        "r_tensor": _pearson(
            symmetric_traceless(np.asarray(pcm, float)).ravel(),
            symmetric_traceless(np.asarray(dft, float)).ravel(),
        ),
        "mean_abs_vzz_pcm": float(np.abs(vp).mean()),
        "mean_abs_vzz_dft": float(np.abs(vd).mean()),
    }
