"""Classification of Li sites by their predicted ωQ (paper §3, Fig. 6a).

The paper histograms the predicted quadrupolar frequencies ωQ of all Li sites
of the 20 large LTO models, "first identif[ies] the 5 most prominent peaks in
the histogram, and select[s] the surrounding regions down to a minimum
threshold of 10 counts per bin, and enforce[s] that no two regions could
overlap". This module does exactly that, with the details the paper leaves
open fixed as follows:

1. **Histogram.** Bins of width ``bin_width_khz`` on a grid anchored at 0 kHz
   (edges are integer multiples of the width), covering all values; counts as
   :func:`numpy.histogram` (left-closed bins, the last one closed).
2. **Peaks.** :func:`scipy.signal.find_peaks` on the counts padded with one
   empty bin on each side (so a peak in the first or last bin is found), with
   its topographic prominence. Only peaks with at least ``min_count`` counts
   can carry a region; of those the ``n_regions`` most prominent are kept (ties:
   the higher peak, then the lower ωQ). Plateaus count as one peak (scipy's
   middle bin).
3. **Regions.** Each kept peak grows left and right bin by bin while the
   counts stay ≥ ``min_count``. If two kept peaks lie in the same run of
   above-threshold bins, the run is split at the lowest bin between them
   (the valley); the valley bin goes to the higher of the two peaks (ties: the
   left one), so regions never overlap and each kept peak keeps its own region.
4. **Labels.** Region indices are 0 … K−1 in order of increasing ωQ; a site
   gets the index of the region its bin belongs to, −1 otherwise
   (unclassified; grey in the plot).

Everything is numpy/scipy; :func:`plot_classification` imports matplotlib only
when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_BIN_WIDTH_KHZ",
    "DEFAULT_MIN_COUNT",
    "DEFAULT_N_REGIONS",
    "REGION_COLOURS",
    "UNCLASSIFIED",
    "Classification",
    "Region",
    "classify_omega_q",
    "plot_classification",
]

#: Default histogram bin width, kHz.
DEFAULT_BIN_WIDTH_KHZ = 2.0
#: Number of regions (the paper's 5 most prominent peaks).
DEFAULT_N_REGIONS = 5
#: Regions are grown down to this many counts per bin (the paper's 10).
DEFAULT_MIN_COUNT = 10
#: Label of sites outside every region.
UNCLASSIFIED = -1
#: Colours of the regions in the plot (colour-blind-safe Okabe–Ito palette);
#: unclassified bins are grey.
REGION_COLOURS: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#F0E442",
    "#000000",
)


class Region(NamedTuple):
    """One ωQ region: ``lo ≤ ωQ < hi`` (kHz) around the histogram peak at ``peak``.

    ``lo`` and ``hi`` are bin edges; ``peak`` is the centre of the peak bin.
    """

    lo: float
    hi: float
    peak: float


@dataclass(frozen=True)
class Classification:
    """Result of :func:`classify_omega_q`.

    Attributes
    ----------
    labels : numpy.ndarray of int, shape (N,)
        Region index per site (0 … K−1, increasing ωQ), −1 = unclassified.
    regions : list of Region
        (lo, hi, peak) in kHz, in label order.
    bins : numpy.ndarray, shape (B + 1,)
        Histogram bin edges, kHz.
    counts : numpy.ndarray of int, shape (B,)
        Sites per bin.
    bin_labels : numpy.ndarray of int, shape (B,)
        Region index of every bin (−1 = none).
    prominences : numpy.ndarray, shape (K,)
        Prominence (counts) of each region's peak, in label order.
    min_count : int
        The growth threshold used (counts per bin).
    """

    labels: NDArray[np.int64]
    regions: list[Region]
    bins: NDArray[np.float64]
    counts: NDArray[np.int64]
    bin_labels: NDArray[np.int64]
    prominences: NDArray[np.float64]
    min_count: int

    @property
    def sizes(self) -> NDArray[np.int64]:
        """Number of sites in each region, shape (K,)."""
        return np.bincount(self.labels[self.labels >= 0], minlength=len(self.regions))

    @property
    def fraction_classified(self) -> float:
        """Fraction of sites that belong to a region."""
        return float(np.mean(self.labels >= 0)) if self.labels.size else 0.0


def _edges(values: NDArray[np.float64], width: float) -> NDArray[np.float64]:
    lo = np.floor(values.min() / width)
    hi = np.floor(values.max() / width) + 1.0  # the max lies inside the last bin
    return np.arange(lo, hi + 0.5) * width


def _select_peaks(
    counts: NDArray[np.int64], n_regions: int, min_count: int
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Indices (bins) and prominences of the kept peaks."""
    from scipy.signal import find_peaks

    padded = np.concatenate([[0], counts, [0]]).astype(np.float64)
    peaks, props = find_peaks(padded, prominence=0.0)
    peaks = peaks - 1
    prom = np.asarray(props["prominences"], dtype=np.float64)
    ok = counts[peaks] >= min_count
    peaks, prom = peaks[ok], prom[ok]
    # most prominent first; ties: higher count, then lower ωQ
    order = np.lexsort((peaks, -counts[peaks], -prom))[:n_regions]
    return peaks[order], prom[order]


def _grow(counts: NDArray[np.int64], peaks: NDArray[np.int64], min_count: int) -> NDArray[np.int64]:
    """Bin → index into ``peaks`` (−1 = none): runs ≥ min_count split at valleys."""
    n = len(counts)
    owner = np.full(n, -1, dtype=np.int64)
    above = counts >= min_count
    by_position = np.argsort(peaks, kind="stable")
    # runs of above-threshold bins: [start, stop)
    for k_idx, k in enumerate(by_position):
        p = int(peaks[k])
        lo = p
        while lo > 0 and above[lo - 1]:
            lo -= 1
        hi = p + 1
        while hi < n and above[hi]:
            hi += 1
        # neighbouring kept peaks inside the same run split it at the valley
        if k_idx > 0:
            left = int(peaks[by_position[k_idx - 1]])
            if left >= lo:
                lo = _valley_split(counts, left, p, left_is_higher=counts[left] >= counts[p])
        if k_idx + 1 < len(by_position):
            right = int(peaks[by_position[k_idx + 1]])
            if right < hi:
                hi = _valley_split(counts, p, right, left_is_higher=counts[p] >= counts[right])
        owner[lo:hi] = k
    return owner


def _valley_split(counts: NDArray[np.int64], left: int, right: int, left_is_higher: bool) -> int:
    """First bin of the right-hand region when peaks ``left`` < ``right`` share a run.

    The valley is the lowest bin strictly between the peaks (the leftmost of
    equal minima); it goes to the higher peak (ties: the left one).
    """
    if right - left < 2:
        return right
    valley = left + 1 + int(np.argmin(counts[left + 1 : right]))
    return valley + 1 if left_is_higher else valley


def classify_omega_q(
    values_khz: ArrayLike,
    bin_width_khz: float = DEFAULT_BIN_WIDTH_KHZ,
    n_regions: int = DEFAULT_N_REGIONS,
    min_count: int = DEFAULT_MIN_COUNT,
) -> Classification:
    """Classify sites into the ``n_regions`` most prominent ωQ histogram peaks.

    Parameters
    ----------
    values_khz : array_like, shape (N,)
        ωQ/2π of the sites, kHz (:func:`ltoefg.nmr.omega_q_khz`). NaN values
        are allowed and labelled −1 (they do not enter the histogram).
    bin_width_khz : float
        Histogram bin width, kHz (edges at integer multiples of it).
    n_regions : int
        Maximum number of regions (fewer if the histogram has fewer peaks
        with ≥ ``min_count`` counts).
    min_count : int
        Regions are grown down to bins with at least this many counts.

    Returns
    -------
    Classification
        See the module docstring for the exact rules.
    """
    values = np.asarray(values_khz, dtype=np.float64).ravel()
    if bin_width_khz <= 0:
        raise ValueError("bin_width_khz must be positive")
    if n_regions < 1 or min_count < 1:
        raise ValueError("n_regions and min_count must be ≥ 1")
    finite = np.isfinite(values)
    labels = np.full(values.shape, -1, dtype=np.int64)
    if not finite.any():
        empty = np.zeros(0)
        return Classification(
            labels, [], empty, empty.astype(np.int64), empty.astype(np.int64), empty, min_count
        )
    good = values[finite]
    edges = _edges(good, bin_width_khz)
    counts, _ = np.histogram(good, bins=edges)
    peaks, prom = _select_peaks(counts, n_regions, min_count)
    owner = _grow(counts, peaks, min_count)

    # relabel: regions by increasing ωQ
    order = np.argsort(peaks, kind="stable")
    relabel = np.full(len(peaks) + 1, -1, dtype=np.int64)
    relabel[order] = np.arange(len(peaks))
    bin_labels = relabel[owner]  # owner −1 → relabel[−1] = −1
    regions = []
    for k in order:
        idx = np.flatnonzero(owner == k)
        regions.append(
            Region(
                float(edges[idx[0]]),
                float(edges[idx[-1] + 1]),
                float(0.5 * (edges[peaks[k]] + edges[peaks[k] + 1])),
            )
        )
    # bin of each site, consistent with numpy.histogram (last bin closed)
    b = np.clip(np.searchsorted(edges, good, side="right") - 1, 0, len(counts) - 1)
    labels[finite] = bin_labels[b]
    return Classification(
        labels=labels,
        regions=regions,
        bins=edges,
        counts=counts.astype(np.int64),
        bin_labels=bin_labels,
        prominences=prom[order],
        min_count=min_count,
    )


def plot_classification(
    result: Classification,
    ax: Any = None,
    title: str | None = None,
    xlabel: str = r"$\omega_Q/2\pi$ / kHz",
) -> Any:
    """Histogram of ωQ coloured by region, like the paper's Fig. 6a.

    Parameters
    ----------
    result : Classification
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (a new figure is made otherwise).
    title : str, optional
        Axes title.
    xlabel : str
        Label of the ωQ axis.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes.
    """
    import matplotlib

    if ax is None:
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7.0, 4.0), layout="constrained")
    else:
        fig = ax.figure
    edges, counts = result.bins, result.counts
    widths = np.diff(edges)
    colours = [
        REGION_COLOURS[lab % len(REGION_COLOURS)] if lab >= 0 else "#B0B0B0"
        for lab in result.bin_labels
    ]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color=colours, linewidth=0)
    from matplotlib.patches import Patch

    sizes = result.sizes
    handles = [
        Patch(
            color=REGION_COLOURS[k % len(REGION_COLOURS)],
            label=f"region {k}: [{reg.lo:g}, {reg.hi:g}) kHz, n = {sizes[k]}",
        )
        for k, reg in enumerate(result.regions)
    ]
    handles.append(Patch(color="#B0B0B0", label="unclassified"))
    handles.append(
        ax.axhline(result.min_count, color="k", lw=0.6, ls=":", label=f"{result.min_count} per bin")
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"Li sites per {widths[0]:g} kHz bin" if len(widths) else "Li sites")
    ax.legend(handles=handles, fontsize="small", frameon=False)
    if title:
        ax.set_title(title, fontsize="medium")
    return fig
