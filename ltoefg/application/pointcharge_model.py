"""The Ewald point-charge labeller of ``pcm-v2`` as a tensor model (no featomic, no fit).

:class:`PointChargeModel` satisfies :class:`ltoefg.application.predict.TensorModel`:
its tensors are :func:`ltoefg.data.pointcharge.pcm_efg` — formal charges
(Li +1, Ti +4, O −2) summed by Ewald, times the Sternheimer factors — i.e. the
labels the ``pcm-v2`` models are trained on. It needs no training and no
featomic, so the application's commands and tests run with it anywhere; and
it is the reference a point-charge-trained model tries to reproduce. It is
**not DFT**: its banner says "point-charge labels, not DFT". Cost: one Ewald
sum over all atoms per structure (≈ 4 s for 1512 atoms on one core; well
under 0.1 s for the 42-atom cells of the data set).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import ase

__all__ = ["POINT_CHARGE_MODEL", "PointChargeModel"]

#: The name that selects this model on the command line (``--model point-charge``).
POINT_CHARGE_MODEL = "point-charge"


class PointChargeModel:
    """EFG tensors by the ``pcm-v2`` point-charge labeller, V/Å².

    Parameters
    ----------
    tol : float
        Ewald convergence tolerance (:func:`ltoefg.data.pointcharge.pcm_efg`).
    """

    #: What the banner of a figure says about the labels.
    training_data: dict[str, Any] = {
        "dataset": "the pcm-v2 labeller itself",
        "label_method": "point-charge-ewald",
    }

    def __init__(self, tol: float = 1e-10) -> None:
        self.tol = float(tol)

    def predict(
        self, frames: Sequence[ase.Atoms], centres: NDArray[np.int64]
    ) -> NDArray[np.float64]:
        """Tensors of the atoms ``centres`` (rows: frame index, atom index), shape (n, 3, 3)."""
        from ltoefg.data.pointcharge import pcm_efg

        centres = np.asarray(centres, dtype=np.int64).reshape(-1, 2)
        out = np.empty((len(centres), 3, 3))
        for i in np.unique(centres[:, 0]):
            rows = np.flatnonzero(centres[:, 0] == i)
            out[rows] = pcm_efg(frames[int(i)], tol=self.tol)[centres[rows, 1]]
        return out
