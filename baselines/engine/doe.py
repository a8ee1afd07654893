"""Box-Behnken hyperparameter search with a quadratic response surface (the paper's HPO).

The design comes from ``pydoe.bbdesign`` (coded levels −1, 0, +1). Every design
point is scored by 5-fold cross-validation on the frozen folds (the caller's
objective); a full quadratic response surface is fitted to the scores by least
squares, its minimum on the coded cube [−1, 1]^k is located on a grid, that
point is scored too, and the best *measured* point wins (a response surface is
a guide, not a measurement).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Factor:
    """A hyperparameter varied by the design.

    Attributes
    ----------
    name : str
    low, high : float
        Values at coded levels −1 and +1.
    log : bool
        Interpolate on a log scale (e.g. the regulariser).
    """

    name: str
    low: float
    high: float
    log: bool = False

    def value(self, coded: float) -> float:
        """Physical value at a coded level in [−1, 1]."""
        t = (coded + 1.0) / 2.0
        if self.log:
            return float(np.exp(np.log(self.low) + t * (np.log(self.high) - np.log(self.low))))
        return float(self.low + t * (self.high - self.low))


def design(factors: Sequence[Factor]) -> NDArray[np.float64]:
    """Box-Behnken design in coded units, shape (n_points, k), with one centre point."""
    from pydoe import bbdesign

    return np.asarray(bbdesign(len(factors), center=1), dtype=np.float64)


def _quadratic_terms(x: NDArray[np.float64]) -> NDArray[np.float64]:
    k = x.shape[1]
    cols = [np.ones(len(x))]
    cols += [x[:, i] for i in range(k)]
    cols += [x[:, i] * x[:, j] for i, j in itertools.combinations_with_replacement(range(k), 2)]
    return np.stack(cols, axis=1)


def response_surface_minimum(
    coded: NDArray[np.float64], scores: NDArray[np.float64], grid: int = 21
) -> NDArray[np.float64]:
    """Minimiser on [−1, 1]^k of the least-squares quadratic fit to (coded, scores)."""
    coef, *_ = np.linalg.lstsq(_quadratic_terms(coded), scores, rcond=None)
    axis = np.linspace(-1.0, 1.0, grid)
    mesh = np.stack(np.meshgrid(*([axis] * coded.shape[1]), indexing="ij"), axis=-1).reshape(
        -1, coded.shape[1]
    )
    return mesh[np.argmin(_quadratic_terms(mesh) @ coef)]


@dataclass
class SearchResult:
    """Outcome of a Box-Behnken search.

    Attributes
    ----------
    table : list of dict
        One row per scored point: the coded levels, the physical values and the
        objective(s); ``source`` is ``"design"`` or ``"surface"``.
    best : dict
        Physical values of the best measured point, per objective name.
    """

    table: list[dict[str, float | str]]
    best: dict[str, dict[str, float]]


def box_behnken_search(
    factors: Sequence[Factor],
    evaluate: Callable[[Mapping[str, float]], Mapping[str, float]],
) -> SearchResult:
    """Run the design; ``evaluate(values)`` returns one CV objective per target name.

    Several objectives (e.g. one per scalar target) share the evaluations of the
    design points; each gets its own response-surface point and its own best.
    """
    coded = design(factors)
    table: list[dict[str, float | str]] = []

    def run(point: NDArray[np.float64], source: str) -> Mapping[str, float]:
        values = {f.name: f.value(c) for f, c in zip(factors, point, strict=True)}
        scores = evaluate(values)
        row: dict[str, float | str] = {"source": source}
        row.update({f"coded_{f.name}": float(c) for f, c in zip(factors, point, strict=True)})
        row.update(values)
        row.update({f"cv_{k}": float(v) for k, v in scores.items()})
        table.append(row)
        return scores

    results = [run(p, "design") for p in coded]
    objectives = list(results[0])
    scored = [np.asarray(p) for p in coded]
    for name in objectives:
        y = np.array([r[name] for r in results])
        opt = response_surface_minimum(coded, y)
        if not any(np.allclose(opt, p) for p in scored):  # each point is measured once
            run(opt, f"surface:{name}")
            scored.append(opt)
    best: dict[str, dict[str, float]] = {}
    for name in objectives:
        rows = [r for r in table if f"cv_{name}" in r]
        top = min(rows, key=lambda r: float(r[f"cv_{name}"]))
        best[name] = {f.name: float(top[f.name]) for f in factors}
    return SearchResult(table, best)
