"""Figure titles with a banner naming the training labels of the model behind them.

Every figure of the application (ωQ histograms, residual-ωQ histograms, F₂
curves) carries the banner "model trained on X (point-charge labels, not
DFT)" — or "DFT labels", or "training labels unknown: not known to be DFT" —
so that a point-charge surrogate is never mistaken for a DFT prediction. The
banner comes from the ``training_data`` a model records (``dataset``,
``label_method``), which the trajectory file keeps as provenance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["figure_title", "label_banner"]

#: Banner of a model that does not record its training labels.
UNKNOWN_LABELS = "training labels unknown: not known to be DFT"


def label_banner(training_data: Mapping[str, Any] | None) -> str:
    """ "model trained on X (point-charge labels, not DFT)" from a model's ``training_data``.

    Parameters
    ----------
    training_data : mapping or None
        What the model records about its training set: ``dataset`` (name or
        path) and ``label_method`` (e.g. ``"point-charge-ewald"``).
    """
    from ltoefg.evaluation.report import label_phrase

    training = training_data or {}
    method = training.get("label_method")
    if not method:
        return UNKNOWN_LABELS
    dataset = training.get("dataset", "an unrecorded data set")
    return f"model trained on {dataset} ({label_phrase(str(method))})"


def figure_title(model: Any, nucleus: str, model_name: str, title: str | None = None) -> str:
    """Figure title: ``title`` (or "<nucleus> ωQ predicted by <model_name>") over the banner.

    The banner (:func:`label_banner` of ``model.training_data``) is added below a
    user-given title too: a figure never hides what its model learnt.
    """
    head = title or f"{nucleus} ωQ predicted by {model_name}"
    return f"{head}\n{label_banner(getattr(model, 'training_data', None))}"
