"""ltoefg: benchmark suite and data set for ML of NMR EFG tensors in Li4Ti5O12.

Light dependencies only (numpy, scipy, ase, h5py, pandas, pooch); featomic and
matplotlib are never imported at import time, and nothing touches the network.
"""

from __future__ import annotations

from ltoefg import constants, metrics, nmr, tensors
from ltoefg.data import Dataset, Split, load
from ltoefg.evaluation.score import evaluate
from ltoefg.task import Task
from ltoefg.version import __version__

__all__ = [
    "Dataset",
    "Split",
    "Task",
    "__version__",
    "constants",
    "evaluate",
    "load",
    "metrics",
    "nmr",
    "tensors",
]
