"""The submission format (SPEC §6.1): its limits, root attributes, members and their checks.

What a ``predictions.h5`` file or a dict of arrays must declare, shared by the
reader of untrusted files (:mod:`ltoefg.evaluation.reader`) and the validation
of submissions (:mod:`ltoefg.evaluation.submission`). Every refusal is a
:class:`~ltoefg.errors.SubmissionError` of one sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ltoefg import constants as C
from ltoefg import names
from ltoefg.errors import SubmissionError

#: Relative tolerance of the "symmetric" and "traceless" checks (fraction of max |Vij|).
SYMMETRY_RTOL = 1e-6
#: Absolute floor of the same checks, V/Å² (for tensors that are exactly zero).
SYMMETRY_ATOL = 1e-12
#: Largest accepted angle overshoot outside the θ/φ ranges, radians (then clipped).
ANGLE_SLACK = 1e-6
#: Largest accepted |value| of EFG elements (V/Å²), C̃Q and η̃ (dimensionless).
MAX_ABS_VALUE = 1e6
#: Largest accepted |ωQ/2π|, kHz.
MAX_ABS_OMEGA_Q_KHZ = 1e9
#: Default cap on the ids one nucleus group may declare (more than any data set has).
MAX_SITES = 200_000
#: Largest submission file accepted, bytes. A full uncompressed tensor submission of the
#: largest pcm split is ~1.2 MB; the cap also bounds what variable-length string
#: attributes (whose size HDF5 does not declare) can make us read.
MAX_FILE_BYTES = 8 << 20
#: Largest root attribute accepted, bytes (UTF-8).
MAX_ATTRIBUTE_BYTES = 1024
ROOT = "/"
ROOT_ATTRS: tuple[str, ...] = (C.ATTR_DATASET, C.ATTR_SPLIT, C.ATTR_MODEL, C.ATTR_KIND)


@dataclass
class Submission:
    """A submission in memory (as read from a file or given as arrays).

    Attributes
    ----------
    source : str
        The file name (or ``"<arrays>"``) quoted in error messages.
    dataset, split, model, kind : str
        The root attributes.
    groups : dict
        nucleus -> {dataset name -> array}; ``site_id`` int64 (n,), ``efg``
        float64 (n, 3, 3) V/Å², or the observables float64 (n,).
    """

    source: str
    dataset: str
    split: str
    model: str
    kind: str
    groups: dict[str, dict[str, NDArray[Any]]] = field(default_factory=dict)

    @classmethod
    def from_attributes(
        cls, source: str, attrs: Mapping[str, str], groups: dict[str, dict[str, NDArray[Any]]]
    ) -> Submission:
        """A submission from its checked root attributes and nucleus groups."""
        return cls(
            source=source,
            dataset=attrs[C.ATTR_DATASET],
            split=attrs[C.ATTR_SPLIT],
            model=attrs[C.ATTR_MODEL],
            kind=attrs[C.ATTR_KIND],
            groups=groups,
        )


def refusal(source: str, group: str, problem: str) -> SubmissionError:
    """The one-sentence error: ``<file>: group '<g>': <problem>.``"""
    return SubmissionError(f"{source}: group '{group}': {problem.rstrip('.')}.")


def value_names(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) value datasets of a nucleus group for ``kind``."""
    if kind == C.KIND_TENSOR:
        return (C.PRED_EFG,), ()
    return C.PRED_OBSERVABLES_REQUIRED, C.PRED_OBSERVABLES_OPTIONAL


def check_kind(source: str, kind: str) -> None:
    if kind not in C.KINDS:
        raise refusal(
            source, ROOT, f"attribute 'kind' is {kind!r}, expected one of {', '.join(C.KINDS)}"
        )


def check_attributes(source: str, attrs: Mapping[str, str]) -> None:
    """Check the root attributes' values: known kind, plain data-set name, clean model text.

    The data-set name is checked against :data:`ltoefg.names.NAME_PATTERN` (it is a
    registered name, never a path; it reaches file names); the split is checked
    against the data set later. The model name is free text without control
    characters, at most :data:`ltoefg.names.MAX_TEXT_CHARS` characters.
    """
    check_kind(source, attrs[C.ATTR_KIND])
    problem = names.name_problem(attrs[C.ATTR_DATASET])
    if problem:
        raise refusal(
            source,
            ROOT,
            f"attribute 'dataset' {problem}: it must name a registered data-set version (a "
            "local data-set file is given with --dataset-file, not in the submission)",
        )
    problem = names.text_problem(attrs[C.ATTR_MODEL])
    if problem:
        raise refusal(source, ROOT, f"attribute 'model' {problem}")


def check_declared(
    source: str, nucleus: str, name: str, shape: tuple[int, ...], dtype: np.dtype[Any], n: int
) -> None:
    """Dtype and shape of one member, from what is declared (before or after reading).

    Parameters
    ----------
    source, nucleus : str
        For the message.
    name : str
        ``site_id`` or a value dataset.
    shape : tuple of int
    dtype : numpy.dtype
    n : int
        Number of ids of the group (ignored for ``site_id``).
    """
    if name == C.PRED_SITE_ID:
        if dtype.kind not in "iu":
            raise refusal(
                source, nucleus, f"'site_id' has dtype {dtype}, expected integers (int64)"
            )
        if len(shape) != 1:
            raise refusal(source, nucleus, f"'site_id' has shape {shape}, expected (n,)")
        return
    if dtype.kind == "c":
        raise refusal(source, nucleus, f"'{name}' is complex ({dtype}), expected float64")
    if not (name == C.PRED_SIGN_VZZ and dtype.kind in "iu"):
        if dtype.kind in "iub":
            raise refusal(source, nucleus, f"'{name}' has integer dtype {dtype}, expected float64")
        if dtype.kind != "f" or dtype.itemsize > 16:
            raise refusal(source, nucleus, f"'{name}' has dtype {dtype}, expected float64")
    want = (n, 3, 3) if name == C.PRED_EFG else (n,)
    if tuple(shape) != want:
        raise refusal(
            source,
            nucleus,
            f"'{name}' has shape {tuple(shape)}, expected {want} "
            f"(one {'3×3 tensor' if name == C.PRED_EFG else 'value'} per site_id)",
        )


def check_arrays(
    source: str, nucleus: str, kind: str, raw: Mapping[str, Any]
) -> dict[str, NDArray[Any]]:
    """Dtype and shape checks of one nucleus group; returns int64 ids and float64 values."""
    required, optional = value_names(kind)
    for name in (C.PRED_SITE_ID, *required):
        if name not in raw or raw[name] is None:
            raise refusal(source, nucleus, f"the dataset '{name}' is missing")
    ids = np.asarray(raw[C.PRED_SITE_ID])
    check_declared(source, nucleus, C.PRED_SITE_ID, ids.shape, ids.dtype, 0)
    if ids.dtype.kind == "u" and ids.size and int(ids.max()) > np.iinfo(np.int64).max:
        raise refusal(source, nucleus, "'site_id' holds ids beyond the int64 range")
    out: dict[str, NDArray[Any]] = {C.PRED_SITE_ID: ids.astype(np.int64)}
    for name in (*required, *optional):
        if name not in raw or raw[name] is None:
            continue
        values = np.asarray(raw[name])
        check_declared(source, nucleus, name, values.shape, values.dtype, ids.size)
        out[name] = values.astype(np.float64)
    return out


# ----------------------------------------------------------------------- arrays form
