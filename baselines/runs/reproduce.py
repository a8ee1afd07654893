"""Does a regenerated quick entry reproduce the committed one (``quick --check``)?

The committed quick entries were made on one machine; CI regenerates them on
whatever machine it gets. Same package versions, but another OpenBLAS kernel
(CPU) or thread count sums in another order, and the sparse-GPR normal
equations ``(K_MN K_NM + reg·K_MM) w = K_MN y`` (condition number ~ cond(K)²)
amplify that last-bit noise to ~1e-4 of a prediction (per site up to 0.2 %,
λ-SOAP Ti, and 0.5 %, scalar SOAP GPR Ti ωQ). The check therefore compares

* integers (site counts, parameter counts, fold counts), strings, None exactly;
* fractions over sites (``frac_*``) to within :data:`REPRODUCE_SITES` sites of
  the nucleus (``n`` of the same report block): sites at the 10 kHz threshold
  or at the τ test cross it;
* correlations (``r_*``) to :data:`REPRODUCE_R_ATOL` absolute (r ∈ [−1, 1];
  a relative test is meaningless for r ≈ 0.01);
* fields of the azimuth φ (``*phi*``) and medians (``median_*``) to
  :data:`REPRODUCE_PHI_MEDIAN_RTOL`: φ is undefined for axial tensors (η = 0),
  so near-axial sites move it by degrees, and a median follows the few sites
  in the middle of the distribution;
* the spread of the CV folds (``runs.…std``) relative to the fold mean;
* every other number to :data:`REPRODUCE_RTOL` relative (:data:`REPRODUCE_ATOL`
  absolute below that: round-off fields such as ``max_abs_trace`` ≈ 1e-15 and
  the exact Δ-model's MAEs ≈ 1e-13).

Where the numbers come from: the quick entries regenerated with
OpenBLAS 0.3.31/0.3.30 Haswell kernels on 2 and 1 threads, SkylakeX (AVX-512)
on 2, and Nehalem (no FMA) on 1, compared field by field with the committed
entries (made with Haswell, 2 threads) and with each other. Largest changes:
continuous fields 4.0e-4 relative (scalar SOAP GPR Li ``w1_eta_tilde``; λ-SOAP
3.2e-4, Ti ``w1_cq_tilde``; fold values 2.7e-4), medians 1.3e-3 (λ-SOAP Ti
``median_misorientation_deg``), φ fields 3.0e-3 (λ-SOAP Ti ``w1_phi_deg``),
correlations 1.6e-3 absolute (λ-SOAP Ti ``r_phi``), fold stds 7e-5 of the fold
mean, fractions 8 sites (scalar SOAP GPR Ti ωQ within 10 kHz; λ-SOAP 2); the
pair ridge and the Δ-model move by < 1e-11. The SkylakeX regeneration gives
the numbers of the machine that first reported a failing check to all their digits.

The CV-fold spread (std over 5 folds) of the committed quick entries is 1.7 %
(pair ridge) to 8 % of the fold mean, so no single relative tolerance is both
20x above the measured machine spread and 1/20 of the fold spread; the
continuous one is 5x and ≤ 1/8 (≤ 1/14 for the GPR entries). A real
regression moves the fields by more: one ⁷Li training site dropped from the
quick λ-SOAP SA-GPR changes ``mae_cq_tilde`` by 4.6e-3, ``w1_cq_tilde`` by
3.4e-2, a fold's MAE C̃Q by 3e-2 (scalar SOAP GPR: 2.3e-3, 4.9e-3, 2.2e-2);
799 active environments instead of 800 change ``n_parameters`` and
``mae_theta_deg`` by 3.1e-3 (see ``tests/test_reproduce.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ltoefg import constants as C

#: Relative tolerance of continuous fields (MAEs, W1, V_ij errors, ξ, scores, fold
#: values): 5x the largest measured machine change (4.0e-4), 1/8 of the smallest
#: CV-fold spread (1.7 %, pair ridge; ≤ 1/14 for the GPR entries), below the
#: 2.3e-3-3.4e-2 a dropped training site makes.
REPRODUCE_RTOL = 2e-3
#: Relative tolerance of the φ fields and medians (3.3x the measured 3.0e-3, 7.5x 1.3e-3).
REPRODUCE_PHI_MEDIAN_RTOL = 1e-2
#: Absolute tolerance of correlation coefficients ``r_*`` (3x the measured 1.6e-3).
REPRODUCE_R_ATOL = 5e-3
#: How many sites a ``frac_*`` field may move by (2x the 8 measured).
REPRODUCE_SITES = 16
#: Absolute floor of the comparison of floats (round-off fields).
REPRODUCE_ATOL = 1e-9
#: Prefix of the fields that are fractions of the sites of a nucleus.
FRACTION_PREFIX = "frac_"
#: Prefix of the correlation fields.
CORRELATION_PREFIX = "r_"
#: Prefix of the median fields.
MEDIAN_PREFIX = "median_"
#: Report fields not compared (the version of the package that wrote it).
IGNORED: tuple[str, ...] = (C.RT_VERSION,)


def tolerances() -> str:
    """The tolerances in one line, for the output of ``quick --check``."""
    return (
        f"tolerances: {REPRODUCE_RTOL:g} relative, φ and medians {REPRODUCE_PHI_MEDIAN_RTOL:g}, "
        f"r_* {REPRODUCE_R_ATOL:g} absolute, frac_* {REPRODUCE_SITES} sites; "
        "baselines/runs/reproduce.py"
    )


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _tolerance(key: str, old: float, n_sites: int | None, scale: float | None) -> tuple[float, str]:
    """Allowed |new − old| of one float field, and how it was set (for the message)."""
    if key.startswith(FRACTION_PREFIX) and n_sites:
        return REPRODUCE_SITES / n_sites + 1e-12, f"{REPRODUCE_SITES} sites of {n_sites}"
    if key.startswith(CORRELATION_PREFIX):
        return REPRODUCE_R_ATOL, f"absolute {REPRODUCE_R_ATOL:g}"
    sensitive = "phi" in key or key.startswith(MEDIAN_PREFIX)
    rtol = REPRODUCE_PHI_MEDIAN_RTOL if sensitive else REPRODUCE_RTOL
    if scale is not None:
        tol = max(rtol * max(abs(old), scale), REPRODUCE_ATOL)
        return tol, f"relative {rtol:g} of the fold mean {scale:.4g}"
    return max(rtol * abs(old), REPRODUCE_ATOL), f"relative {rtol:g}"


def compare(
    new: Any,
    old: Any,
    where: str = C.LB_REPORT,
    n_sites: int | None = None,
    scale: float | None = None,
) -> list[str]:
    """Differences between a regenerated and a committed entry field beyond the tolerances.

    Parameters
    ----------
    new, old : Any
        Regenerated and committed value (a report, an entry field, or a leaf of them).
    where : str
        Dotted path of ``old`` in its entry, e.g. ``report.nuclei.Li``.
    n_sites : int, optional
        Sites of the nucleus whose block this is (set from the block's ``n``):
        the unit of the ``frac_*`` tolerance.
    scale : float, optional
        |mean| of the CV folds, for a fold std (set from the sibling ``mean`` block).

    Returns
    -------
    list of str
        One line per field out of tolerance, naming the field (its path names the
        nucleus), the committed and the new value, the difference and the tolerance.
    """
    if isinstance(old, Mapping):
        if not isinstance(new, Mapping):
            return [f"{where}: new {new!r}, committed {old!r}"]
        n = old.get(C.R_N)
        if isinstance(n, int) and not isinstance(n, bool) and n > 0:
            n_sites = n
        diffs: list[str] = []
        for k, value in old.items():
            if k in IGNORED:
                continue
            if k not in new:
                diffs.append(f"{where}.{k}: missing (committed {value!r})")
                continue
            scales = None
            if k == C.RUNS_STD and isinstance(old.get(C.RUNS_MEAN), Mapping):
                scales = old[C.RUNS_MEAN]
            if scales is not None and isinstance(value, Mapping):
                for field, std in value.items():
                    mean = scales.get(field)
                    s = abs(mean) if _number(mean) else None
                    if field not in new[k]:
                        diffs.append(f"{where}.{k}.{field}: missing (committed {std!r})")
                    else:
                        diffs += compare(new[k][field], std, f"{where}.{k}.{field}", n_sites, s)
                continue
            diffs += compare(new[k], value, f"{where}.{k}", n_sites, scale)
        return diffs
    if isinstance(old, list):
        if not isinstance(new, list) or len(new) != len(old):
            return [f"{where}: new {new!r}, committed {old!r}"]
        found: list[str] = []
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            found += compare(a, b, f"{where}[{i}]", n_sites, scale)
        return found
    if isinstance(old, int) and not isinstance(old, bool):
        if not (_number(new) and new == old):
            return [f"{where}: new {new!r}, committed {old!r} (an integer: must be equal)"]
        return []
    if isinstance(old, float):
        if not _number(new) or not math.isfinite(new) or not math.isfinite(old):
            return [] if new == old else [f"{where}: new {new!r}, committed {old!r}"]
        key = where.rsplit(".", 1)[-1]
        tol, why = _tolerance(key, old, n_sites, scale)
        if abs(new - old) > tol:
            return [
                f"{where}: new {new!r}, committed {old!r}, |Δ| {abs(new - old):.3g} "
                f"> tolerance {tol:.3g} ({why})"
            ]
        return []
    if new != old:  # strings, booleans, None
        return [f"{where}: new {new!r}, committed {old!r}"]
    return []
