"""Box-Behnken search: design shape and recovery of a known quadratic optimum."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pydoe", reason="pydoe (extra 'baselines') is not installed")

from baselines.engine.doe import Factor, box_behnken_search, design, response_surface_minimum  # noqa: E402


def test_design_is_box_behnken() -> None:
    d = design([Factor("a", 0, 1), Factor("b", 0, 1), Factor("c", 0, 1)])
    assert d.shape == (13, 3)  # 12 edge midpoints + 1 centre
    assert np.count_nonzero(np.all(d == 0, axis=1)) == 1
    assert set(np.unique(d)) == {-1.0, 0.0, 1.0}


def test_factor_scales() -> None:
    assert Factor("r", 1e-6, 1e-2, log=True).value(0.0) == pytest.approx(1e-4)
    assert Factor("c", 4.0, 6.0).value(-1.0) == 4.0


def test_surface_recovers_known_quadratic_minimum() -> None:
    d = design([Factor("a", 0, 1), Factor("b", 0, 1), Factor("c", 0, 1)])
    target = np.array([0.3, -0.5, 0.1])
    y = ((d - target) ** 2).sum(axis=1)
    np.testing.assert_allclose(response_surface_minimum(d, y, grid=21), target, atol=1e-12)


def test_search_picks_best_measured_point_per_objective() -> None:
    factors = [Factor("a", 0.0, 2.0), Factor("b", 0.0, 2.0), Factor("c", 0.0, 2.0)]

    def evaluate(v):
        return {
            "first": (v["a"] - 1.3) ** 2 + (v["b"] - 0.5) ** 2 + (v["c"] - 1.0) ** 2,
            "second": (v["a"] - 0.2) ** 2 + (v["b"] - 1.8) ** 2 + (v["c"] - 1.0) ** 2,
        }

    res = box_behnken_search(factors, evaluate)
    assert res.best["first"] == pytest.approx({"a": 1.3, "b": 0.5, "c": 1.0})
    assert res.best["second"] == pytest.approx({"a": 0.2, "b": 1.8, "c": 1.0})
    assert len(res.table) == 13 + 2


def test_shared_surface_point_is_measured_once() -> None:
    factors = [Factor("a", 0.0, 2.0), Factor("b", 0.0, 2.0), Factor("c", 0.0, 2.0)]
    calls = []

    def evaluate(v):
        calls.append(dict(v))
        f = (v["a"] - 1.3) ** 2 + (v["b"] - 0.5) ** 2 + (v["c"] - 1.0) ** 2
        return {"first": f, "second": 2.0 * f}  # same minimiser for both objectives

    res = box_behnken_search(factors, evaluate)
    assert len(calls) == 13 + 1
    assert res.best["first"] == res.best["second"] == pytest.approx({"a": 1.3, "b": 0.5, "c": 1.0})
