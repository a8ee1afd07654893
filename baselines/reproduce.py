"""Does a regenerated quick entry reproduce the committed one (``quick --check``)?

The committed quick entries were made on one machine; CI regenerates them on
whatever machine it gets. Same package versions, different CPUs and OpenBLAS
kernels (or thread counts) sum in a different order, so every float moves in
its last bits, the sparse GPR solves amplify that, and a site sitting at the
10 kHz threshold of ``frac_omega_q_within_10khz`` can cross it. The check
therefore compares

* integers (site counts, parameter counts, fold counts) and strings exactly;
* fractions over sites (``frac_*``) to within :data:`REPRODUCE_SITES` sites of
  the nucleus (``n`` of the same report block);
* the spread of the CV folds (``runs.…std``) relative to the mean it spreads
  around (a 1e-5 change of the fold values is a 1e-4 change of a std that is
  7 % of the mean);
* every other number to :data:`REPRODUCE_RTOL` relative (:data:`REPRODUCE_ATOL`
  absolute below that: fields that are round-off themselves, like
  ``max_abs_trace`` ≈ 1e-15).

Where the numbers come from (issue 19; measured by regenerating the quick entries
with OpenBLAS Haswell and SkylakeX kernels, 1 and 2 threads, and on a second
machine): continuous fields moved by at most ~1e-5 relative (the other machine
5e-6: Li ``mae_cq_tilde`` 0.1727119 against 0.1727110) and fractions by one
site. The CV-fold spread (std over the 5 folds) of the scores and MAEs is 2-10 %
of their mean, 200-1000x the tolerance, and a real regression (one training site
dropped, one active environment less) moves the λ-SOAP report by 1e-3 relative
or more (see ``tests/test_reproduce.py``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ltoefg import constants as C

#: Relative tolerance of continuous fields: 10x the largest relative change
#: measured between BLAS settings and machines (~1e-5), 1/200 of the CV-fold spread.
REPRODUCE_RTOL = 1e-4
#: Absolute floor of the continuous comparison (round-off fields such as ``max_abs_trace``).
REPRODUCE_ATOL = 1e-9
#: How many sites a ``frac_*`` field may move by (one was measured between machines).
REPRODUCE_SITES = 2
#: Prefix of the fields that are fractions of the sites of a nucleus.
FRACTION_PREFIX = "frac_"
#: Report fields not compared (the version of the package that wrote it).
IGNORED: tuple[str, ...] = (C.RT_VERSION,)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _tolerance(key: str, old: float, n_sites: int | None, scale: float | None) -> tuple[float, str]:
    """Allowed |new − old| of one float field, and how it was set (for the message)."""
    if key.startswith(FRACTION_PREFIX) and n_sites:
        return REPRODUCE_SITES / n_sites + 1e-12, f"{REPRODUCE_SITES} sites of {n_sites}"
    if scale is not None:
        tol = max(REPRODUCE_RTOL * max(abs(old), scale), REPRODUCE_ATOL)
        return tol, f"relative {REPRODUCE_RTOL:g} of the fold mean {scale:.4g}"
    return max(REPRODUCE_RTOL * abs(old), REPRODUCE_ATOL), f"relative {REPRODUCE_RTOL:g}"


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
