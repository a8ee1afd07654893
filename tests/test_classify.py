"""ωQ histogram peak classification (ltoefg.application.classify)."""

from __future__ import annotations

import numpy as np
import pytest

from ltoefg.application.classify import UNCLASSIFIED, classify_omega_q, plot_classification

CENTRES = (-60.0, -10.0, 20.0, 55.0, 110.0)
SIZES = (800, 1500, 600, 1000, 400)


def _synthetic(rng, background=150, width=3.0):
    peaks = [rng.normal(c, width, n) for c, n in zip(CENTRES, SIZES, strict=True)]
    bg = rng.uniform(-120.0, 170.0, background)
    return np.concatenate([*peaks, bg]), np.repeat(np.arange(5), SIZES)


def test_five_gaussians_give_exactly_their_regions(rng):
    values, truth = _synthetic(rng)
    res = classify_omega_q(values, bin_width_khz=2.0, n_regions=5, min_count=10)
    assert len(res.regions) == 5
    # regions in increasing ωQ, each around its centre, disjoint
    for reg, c in zip(res.regions, CENTRES, strict=True):
        assert reg.lo < c < reg.hi
        assert abs(reg.peak - c) <= 3.0
    his = [r.hi for r in res.regions]
    los = [r.lo for r in res.regions]
    assert all(h <= lo for h, lo in zip(his[:-1], los[1:], strict=True))
    # each bin belongs to at most one region; a region is one contiguous run of bins
    for k in range(5):
        bins = np.flatnonzero(res.bin_labels == k)
        assert np.array_equal(bins, np.arange(bins[0], bins[-1] + 1))
    # ≥ 95 % of each Gaussian's sites carry its label, no site of another Gaussian does
    lab = res.labels[: len(truth)]
    for k in range(len(SIZES)):
        assert np.mean(lab[truth == k] == k) > 0.95
        assert np.all((lab[truth != k] != k) | (lab[truth != k] == UNCLASSIFIED))
    # the sparse background (≈ 1 per bin) is unclassified outside the peaks
    bg = values[len(truth) :]
    inside = np.zeros(bg.shape, dtype=bool)
    for r in res.regions:
        inside |= (bg >= r.lo) & (bg < r.hi)
    assert np.all(res.labels[len(truth) :][~inside] == UNCLASSIFIED)
    # bins of the regions have ≥ min_count counts, counts sum to N
    assert np.all(res.counts[res.bin_labels >= 0] >= 10)
    assert res.counts.sum() == len(values)
    assert np.array_equal(res.sizes, np.bincount(res.labels[res.labels >= 0], minlength=5))


def test_labels_match_region_intervals(rng):
    values, _ = _synthetic(rng)
    res = classify_omega_q(values)
    for k, r in enumerate(res.regions):
        inside = (values >= r.lo) & (values < r.hi)
        assert np.all(res.labels[inside] == k)
        assert np.all(inside[res.labels == k])


def test_least_prominent_peak_is_dropped(rng):
    values, _ = _synthetic(rng)
    extra = rng.normal(150.0, 3.0, 60)  # a sixth, smaller peak
    res = classify_omega_q(np.concatenate([values, extra]), n_regions=5)
    assert len(res.regions) == 5
    assert all(not (r.lo < 150.0 < r.hi) for r in res.regions)
    res6 = classify_omega_q(np.concatenate([values, extra]), n_regions=6)
    assert any(r.lo < 150.0 < r.hi for r in res6.regions)


def test_touching_peaks_split_at_the_valley():
    # two peaks in one run of bins ≥ min_count: counts 10 30 60 30 20 40 12 (width 1)
    counts = [10, 30, 60, 30, 20, 40, 12]
    values = np.concatenate([np.full(c, i + 0.5) for i, c in enumerate(counts)])
    res = classify_omega_q(values, bin_width_khz=1.0, n_regions=5, min_count=10)
    assert len(res.regions) == 2
    # valley at bin 4 (20 counts) goes to the higher peak (bin 2, 60 counts)
    assert list(res.bin_labels) == [0, 0, 0, 0, 0, 1, 1]
    assert res.regions[0] == (0.0, 5.0, 2.5)
    assert res.regions[1] == (5.0, 7.0, 5.5)


def test_valley_goes_to_higher_right_peak():
    counts = [40, 25, 15, 70, 11]
    values = np.concatenate([np.full(c, i + 0.5) for i, c in enumerate(counts)])
    res = classify_omega_q(values, bin_width_khz=1.0, min_count=10)
    assert list(res.bin_labels) == [0, 0, 1, 1, 1]


def test_peaks_below_threshold_and_edges():
    # a peak in the first bin is found; a peak with < min_count counts is not a region
    counts = [50, 20, 3, 0, 0, 8, 2, 0, 30]
    values = np.concatenate([np.full(c, i + 0.5) for i, c in enumerate(counts)])
    res = classify_omega_q(values, bin_width_khz=1.0, min_count=10)
    assert [(r.lo, r.hi) for r in res.regions] == [(0.0, 2.0), (8.0, 9.0)]
    assert np.sum(res.labels == UNCLASSIFIED) == 3 + 8 + 2


def test_nan_and_grid():
    values = np.array([np.nan, 1.0, 1.5, 2.5, -3.0] * 20)
    res = classify_omega_q(values, bin_width_khz=2.0, min_count=10)
    assert np.all(res.labels[np.isnan(values)] == UNCLASSIFIED)
    assert np.allclose(res.bins / 2.0, np.round(res.bins / 2.0))  # edges on the 2 kHz grid
    assert res.bins[0] <= -3.0 and res.bins[-1] > 2.5
    assert classify_omega_q([np.nan]).regions == []
    with pytest.raises(ValueError):
        classify_omega_q([1.0], bin_width_khz=0.0)


def test_plot(rng, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    values, _ = _synthetic(rng)
    fig = plot_classification(classify_omega_q(values), title="synthetic")
    out = tmp_path / "h.png"
    fig.savefig(out)
    plt.close(fig)
    assert out.stat().st_size > 1000
