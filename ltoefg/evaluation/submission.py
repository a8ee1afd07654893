"""Read, validate and write submission files (``predictions.h5``, SPEC §6.1).

A submission is an HDF5 file with root attributes ``dataset``, ``split``,
``model`` and ``kind`` and one group per nucleus (``Li``, ``Ti``, ``O``), each
holding ``site_id`` (n,) integers and either ``efg`` (n, 3, 3) in V/Å²
(``kind = "tensor"``) or ``cq_tilde``, ``eta_tilde``, ``theta``, ``phi`` (n,)
(angles in radians) and optionally ``omega_q_khz`` (kHz) and ``sign_vzz`` (±1;
without it ωQ derived from the four observables assumes Vzz > 0)
(``kind = "observables"``).

Everything a user can get wrong is refused with :class:`~ltoefg.errors.SubmissionError`
carrying one sentence that names the file, the group and the problem. Nothing
else escapes from :func:`read` and :func:`validate`: any failure of the HDF5
library on a damaged file is reported the same way.

Decisions (documented in ``docs/submitting.md``):

* Value datasets may be any real floating dtype (float16/32/64; stored as float64
  after reading); integer, boolean and complex values are refused. ``site_id``
  must be an integer dtype. ``sign_vzz`` may be integer or float and must hold
  exactly −1 or +1.
* Angles may lie outside [0, π/2] (θ) and [−π/2, π/2] (φ) by at most
  :data:`ANGLE_SLACK` rad (float32 round-off of π/2) and are clipped into range.
* A tensor counts as symmetric when max |Vij − Vji| ≤ rtol·max |Vij| + atol and
  as traceless when |tr V| ≤ rtol·max |Vij| + atol, with rtol =
  :data:`SYMMETRY_RTOL` and atol = :data:`SYMMETRY_ATOL` (V/Å²). Outside that
  tolerance the tensor is projected before scoring (the report says how far it
  was) or, with ``strict=True``, refused.
* Absolute values above :data:`MAX_ABS_VALUE` (V/Å², or dimensionless for C̃Q,
  η̃) or :data:`MAX_ABS_OMEGA_Q_KHZ` are refused as implausible (typically a unit
  error such as V/m²); this also keeps the arithmetic free of overflow.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ltoefg import constants as C
from ltoefg.errors import DataError
from ltoefg.evaluation.schema import (
    ANGLE_SLACK,
    MAX_ABS_OMEGA_Q_KHZ,
    MAX_ABS_VALUE,
    ROOT,
    ROOT_ATTRS,
    SYMMETRY_ATOL,
    SYMMETRY_RTOL,
    Submission,
    check_arrays,
    check_attributes,
    check_kind,
    refusal,
    value_names,
)

# The format's limits and member check, handed on for callers of this module.
from ltoefg.evaluation.schema import MAX_ATTRIBUTE_BYTES as MAX_ATTRIBUTE_BYTES
from ltoefg.evaluation.schema import MAX_FILE_BYTES as MAX_FILE_BYTES
from ltoefg.evaluation.schema import MAX_SITES as MAX_SITES
from ltoefg.evaluation.schema import check_declared as check_declared

#: How many offending site ids a message quotes.
_N_QUOTED = 3


def _quote(ids: NDArray[np.int64]) -> str:
    shown = ", ".join(str(int(i)) for i in ids[:_N_QUOTED])
    return f"e.g. {shown}" if ids.size > _N_QUOTED else shown


# --------------------------------------------------------------------------- reading
def read(path: str | os.PathLike[str], limits: Mapping[str, int] | None = None) -> Submission:
    """Read a ``predictions.h5`` file and check its structure (not yet its ids or values).

    Everything is checked from the file's metadata before any array is read:
    links, storage layouts, filters, dtypes, shapes and sizes (see
    :mod:`ltoefg.evaluation.reader`).

    Parameters
    ----------
    path : str or path-like
        The submission file.
    limits : mapping, optional
        nucleus -> the largest number of ids a group may declare (default
        :data:`MAX_SITES` for every nucleus); larger groups are refused unread.

    Returns
    -------
    Submission
        Arrays as read (``site_id`` int64, values float64).

    Raises
    ------
    SubmissionError
        Not an HDF5 file, truncated or damaged, not self-contained, missing or
        non-string root attributes, unknown kind, no nucleus group, unknown or
        missing members, wrong dtype or shape, too large.
    """
    from ltoefg.evaluation.reader import read_file

    return read_file(path, limits)


def read_attributes(path: str | os.PathLike[str]) -> dict[str, str]:
    """The checked root attributes of a submission file (no arrays are read)."""
    from ltoefg.evaluation.reader import read_file_attributes

    return read_file_attributes(path)


def from_mapping(data: Mapping[str, Any], source: str = "<arrays>") -> Submission:
    """Build a :class:`Submission` from a dict (the Python-API form of a file).

    Parameters
    ----------
    data : mapping
        ``{"dataset": ..., "split": ..., "model": ..., "kind": ..., "Li":
        {"site_id": ..., "efg": ...}, ...}``; every root attribute is required,
        as in a file (no default ``model`` or ``kind``).
    source : str
        Name quoted in error messages.

    Raises
    ------
    SubmissionError
        As :func:`read`.
    """
    if not isinstance(data, Mapping):
        raise refusal(
            source,
            ROOT,
            f"expected a dict of attributes and nucleus groups, got {type(data).__name__}",
        )
    groups_raw = {k: v for k, v in data.items() if k in C.NUCLEI}
    unknown = [k for k in data if k not in C.NUCLEI and k not in ROOT_ATTRS]
    if unknown:
        raise refusal(source, ROOT, f"unexpected key {unknown[0]!r}")
    if not groups_raw:
        raise refusal(source, ROOT, f"no nucleus group (expected {', '.join(C.NUCLEI)})")
    # the file format requires every root attribute: so does the dict (no defaults)
    attrs = {k: data[k] for k in ROOT_ATTRS if k in data}
    for name in ROOT_ATTRS:
        if name not in attrs:
            raise refusal(source, ROOT, f"the attribute '{name}' is missing")
        if not isinstance(attrs[name], str):
            raise refusal(source, ROOT, f"the attribute '{name}' is not a string")
    check_attributes(source, attrs)
    kind = attrs[C.ATTR_KIND]
    required, optional = value_names(kind)
    groups: dict[str, dict[str, NDArray[Any]]] = {}
    for nucleus in (n for n in C.NUCLEI if n in groups_raw):
        g = groups_raw[nucleus]
        if not isinstance(g, Mapping):
            raise refusal(source, nucleus, "expected a dict of arrays")
        allowed = (C.PRED_SITE_ID, *required, *optional)
        extra = [k for k in g if k not in allowed]
        if extra:
            raise refusal(source, nucleus, f"unexpected member {extra[0]!r} for kind '{kind}'")
        try:
            arrays = {k: np.asarray(v) for k, v in g.items()}
        except (TypeError, ValueError) as exc:
            raise refusal(source, nucleus, f"values are not arrays ({exc})") from None
        groups[nucleus] = check_arrays(source, nucleus, kind, arrays)
    return Submission.from_attributes(source, attrs, groups)


# ------------------------------------------------------------------------ validation
@dataclass
class ValidGroup:
    """One nucleus group aligned to the reference test ids.

    Attributes
    ----------
    site_id : numpy.ndarray of int64, shape (n,)
        The split's test ids, sorted.
    values : dict
        ``efg`` (n, 3, 3) V/Å², or the observables (n,), in ``site_id`` order.
    n_projected : int or None
        Tensors outside the symmetric-traceless tolerance (projected before
        scoring); None for observables.
    """

    site_id: NDArray[np.int64]
    values: dict[str, NDArray[np.float64]]
    n_projected: int | None = None


def resolve_nuclei(sub: Submission, nuclei: Iterable[str] | str | None) -> list[str]:
    """The nuclei to score: ``nuclei`` if given (each must be in the file), else all groups.

    Parameters
    ----------
    sub : Submission
    nuclei : iterable of str, comma-separated str, or None
    """
    if nuclei is None:
        chosen = [n for n in C.NUCLEI if n in sub.groups]
    else:
        items = nuclei.split(",") if isinstance(nuclei, str) else list(nuclei)
        chosen = []
        for n in (str(x).strip() for x in items):
            if n not in C.NUCLEI:
                raise refusal(
                    sub.source,
                    ROOT,
                    f"unknown nucleus {n!r} requested (known: {', '.join(C.NUCLEI)})",
                )
            if n not in sub.groups:
                raise refusal(sub.source, n, "the nucleus group is missing but was asked for")
            if n not in chosen:
                chosen.append(n)
        chosen = [n for n in C.NUCLEI if n in chosen]
    if not chosen:
        raise refusal(
            sub.source, ROOT, f"the file has no nucleus group (expected {', '.join(C.NUCLEI)})"
        )
    return chosen


def check_ids(
    source: str, nucleus: str, ids: NDArray[np.int64], expected: NDArray[np.int64]
) -> NDArray[np.intp]:
    """Check that ``ids`` are exactly ``expected`` (any order) and return the aligning order.

    Parameters
    ----------
    source, nucleus : str
        For the message.
    ids : numpy.ndarray of int64, shape (n,)
        Submitted site ids.
    expected : numpy.ndarray of int64, shape (m,)
        The split's test ids (sorted ascending).

    Returns
    -------
    numpy.ndarray of intp, shape (m,)
        ``order`` such that ``ids[order] == expected``.

    Raises
    ------
    SubmissionError
        Duplicated, missing or extra ids.
    """
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    dup = sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]]
    if dup.size:
        dup = np.unique(dup)
        raise refusal(source, nucleus, f"{dup.size} site ids are duplicated ({_quote(dup)})")
    missing = np.setdiff1d(expected, sorted_ids, assume_unique=True)
    if missing.size:
        raise refusal(
            source,
            nucleus,
            f"{missing.size} of the split's {expected.size} test site ids are missing "
            f"({_quote(missing)})",
        )
    extra = np.setdiff1d(sorted_ids, expected, assume_unique=True)
    if extra.size:
        raise refusal(
            source,
            nucleus,
            f"{extra.size} site ids are not test ids of this split ({_quote(extra)})",
        )
    return order


def _check_finite(
    source: str, nucleus: str, name: str, values: NDArray[np.float64], ids: NDArray[np.int64]
) -> None:
    flat = values.reshape(values.shape[0], -1)
    nan = np.isnan(flat).any(axis=1)
    if nan.any():
        raise refusal(
            source, nucleus, f"'{name}' holds NaN for {int(nan.sum())} sites ({_quote(ids[nan])})"
        )
    inf = np.isinf(flat).any(axis=1)
    if inf.any():
        raise refusal(
            source, nucleus, f"'{name}' holds inf for {int(inf.sum())} sites ({_quote(ids[inf])})"
        )
    limit = MAX_ABS_OMEGA_Q_KHZ if name == C.OBS_OMEGA_Q_KHZ else MAX_ABS_VALUE
    big = (np.abs(flat) > limit).any(axis=1)
    if big.any():
        unit = {C.PRED_EFG: " V/Å²", C.OBS_OMEGA_Q_KHZ: " kHz"}.get(name, "")
        raise refusal(
            source,
            nucleus,
            f"'{name}' holds implausibly large values (|x| > {limit:g}{unit}) for "
            f"{int(big.sum())} sites ({_quote(ids[big])}); check the units",
        )


def _check_signs(
    source: str, nucleus: str, values: NDArray[np.float64], ids: NDArray[np.int64]
) -> None:
    bad = np.abs(values) != 1.0
    if bad.any():
        raise refusal(
            source,
            nucleus,
            f"'{C.PRED_SIGN_VZZ}' must be −1 or +1 per site but is not for {int(bad.sum())} "
            f"sites ({_quote(ids[bad])}, e.g. {values[bad][0]:g})",
        )


def symmetry_violations(efg: NDArray[np.float64]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per-tensor flags: (not symmetric, not traceless) beyond the documented tolerance.

    Parameters
    ----------
    efg : numpy.ndarray, shape (n, 3, 3)
        Tensors, V/Å².

    Returns
    -------
    (numpy.ndarray of bool, numpy.ndarray of bool), each shape (n,)
    """
    scale = np.abs(efg).max(axis=(1, 2))
    tol = SYMMETRY_RTOL * scale + SYMMETRY_ATOL
    asym = np.abs(efg - np.swapaxes(efg, 1, 2)).max(axis=(1, 2))
    trace = np.abs(np.trace(efg, axis1=1, axis2=2))
    return asym > tol, trace > tol


def validate_group(
    sub: Submission,
    nucleus: str,
    expected_ids: NDArray[np.int64],
    strict: bool = False,
) -> ValidGroup:
    """Check one nucleus group's ids and values and align it to ``expected_ids``.

    Parameters
    ----------
    sub : Submission
    nucleus : str
    expected_ids : numpy.ndarray of int64
        The split's test ids of the nucleus (sorted).
    strict : bool
        Refuse tensors that are not symmetric and traceless (within
        :data:`SYMMETRY_RTOL`) instead of projecting them.

    Raises
    ------
    SubmissionError
    """
    src = sub.source
    group = sub.groups[nucleus]
    ids = group[C.PRED_SITE_ID]
    order = check_ids(src, nucleus, ids, np.asarray(expected_ids, dtype=np.int64))
    aligned_ids = ids[order]
    values: dict[str, NDArray[np.float64]] = {}
    for name, arr in group.items():
        if name == C.PRED_SITE_ID:
            continue
        v = arr[order]
        _check_finite(src, nucleus, name, v, aligned_ids)
        if name == C.PRED_SIGN_VZZ:
            _check_signs(src, nucleus, v, aligned_ids)
        values[name] = v
    n_projected: int | None = None
    if sub.kind == C.KIND_TENSOR:
        not_sym, not_traceless = symmetry_violations(values[C.PRED_EFG])
        if strict and not_sym.any():
            raise refusal(
                src,
                nucleus,
                f"'efg' is not symmetric for {int(not_sym.sum())} sites "
                f"({_quote(aligned_ids[not_sym])}; tolerance {SYMMETRY_RTOL:g} relative) and "
                "--strict refuses to project it",
            )
        if strict and not_traceless.any():
            raise refusal(
                src,
                nucleus,
                f"'efg' is not traceless for {int(not_traceless.sum())} sites "
                f"({_quote(aligned_ids[not_traceless])}; tolerance {SYMMETRY_RTOL:g} relative) "
                "and --strict refuses to project it",
            )
        n_projected = int((not_sym | not_traceless).sum())
    else:
        theta = values[C.OBS_THETA]
        bad = (theta < -ANGLE_SLACK) | (theta > np.pi / 2 + ANGLE_SLACK)
        if bad.any():
            raise refusal(
                src,
                nucleus,
                f"'theta' lies outside [0, π/2] rad for {int(bad.sum())} sites "
                f"({_quote(aligned_ids[bad])}, e.g. {theta[bad][0]:.6g} rad)",
            )
        phi = values[C.OBS_PHI]
        bad = np.abs(phi) > np.pi / 2 + ANGLE_SLACK
        if bad.any():
            raise refusal(
                src,
                nucleus,
                f"'phi' lies outside [−π/2, π/2] rad for {int(bad.sum())} sites "
                f"({_quote(aligned_ids[bad])}, e.g. {phi[bad][0]:.6g} rad)",
            )
        values[C.OBS_THETA] = np.clip(theta, 0.0, np.pi / 2)
        values[C.OBS_PHI] = np.clip(phi, -np.pi / 2, np.pi / 2)
    return ValidGroup(site_id=aligned_ids, values=values, n_projected=n_projected)


def split_test_ids(ds: Any, sub: Submission, nucleus: str) -> NDArray[np.int64]:
    """The split's test ids of ``nucleus`` in ``ds``, as a SubmissionError on failure."""
    try:
        return np.asarray(ds.split(sub.split, nucleus).test, dtype=np.int64)
    except DataError as exc:
        raise refusal(
            sub.source,
            nucleus,
            f"the {sub.split!r} split has no test ids here ({str(exc).rstrip('.')})",
        ) from None


# --------------------------------------------------------------------------- writing
def template(
    ds: Any,
    split: str,
    nuclei: Iterable[str] | None = None,
    kind: str = C.KIND_TENSOR,
    model: str = "",
    dataset_name: str | None = None,
) -> dict[str, Any]:
    """A valid submission (as a dict, see :func:`from_mapping`) with NaN values.

    Parameters
    ----------
    ds : ltoefg.Dataset
        The data set whose split's test ids are used.
    split : str
        ``"random"``, ``"structure"`` or ``"ordering"``.
    nuclei : iterable of str, optional
        Default: every nucleus the data set has.
    kind : str
        ``"tensor"`` (``efg`` (n, 3, 3), V/Å²) or ``"observables"``
        (``cq_tilde``, ``eta_tilde``, ``theta``, ``phi``, ``omega_q_khz`` (n,);
        not ``sign_vzz``, which has no NaN placeholder: add it (±1) if your
        model predicts the sign of Vzz).
    model : str
        Free-text model name.
    dataset_name : str, optional
        The ``dataset`` attribute (default ``ds.name``).

    Returns
    -------
    dict
        Site ids in ascending order, values NaN, ready for :func:`write`.
    """
    source = f"template for {dataset_name or ds.name}"
    if split not in C.SPLITS:
        raise refusal(source, ROOT, f"unknown split {split!r} (known: {', '.join(C.SPLITS)})")
    check_kind(source, kind)
    present = ds.counts()
    chosen = [n for n in C.NUCLEI if n in present] if nuclei is None else list(nuclei)
    out: dict[str, Any] = {
        C.ATTR_DATASET: dataset_name or ds.name,
        C.ATTR_SPLIT: split,
        C.ATTR_MODEL: model,
        C.ATTR_KIND: kind,
    }
    required, optional = value_names(kind)
    for nucleus in chosen:
        if nucleus not in C.NUCLEI:
            raise refusal(
                source, ROOT, f"unknown nucleus {nucleus!r} (known: {', '.join(C.NUCLEI)})"
            )
        try:
            ids = np.asarray(ds.split(split, nucleus).test, dtype=np.int64)
        except DataError as exc:
            raise refusal(source, nucleus, str(exc)) from None
        group: dict[str, NDArray[Any]] = {C.PRED_SITE_ID: ids}
        for name in (*required, *(o for o in optional if o != C.PRED_SIGN_VZZ)):
            shape = (ids.size, 3, 3) if name == C.PRED_EFG else (ids.size,)
            group[name] = np.full(shape, np.nan)
        out[nucleus] = group
    return out


def write(path: str | os.PathLike[str], data: Mapping[str, Any] | Submission) -> Path:
    """Write a submission file atomically (built in memory, then one rename into place).

    Parameters
    ----------
    path : str or path-like
        Destination ``.h5`` file; its folder must exist.
    data : mapping or Submission
        As accepted by :func:`from_mapping`. Values are written as given
        (NaN allowed: templates), ids as int64, values as float64, gzip-compressed.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    LtoefgError
        The path cannot be written (one sentence naming it); nothing is left behind.
    """
    import io

    import h5py

    from ltoefg.io.outputs import check_file_target, commit

    sub = data if isinstance(data, Submission) else from_mapping(data, source=str(path))
    path = check_file_target(path, "submission file")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        # fixed-length UTF-8 strings: no variable-length data in the global heap
        for name, value in zip(
            ROOT_ATTRS, (sub.dataset, sub.split, sub.model, sub.kind), strict=True
        ):
            f.attrs[name] = np.bytes_(value.encode("utf-8"))
        for nucleus, group in sub.groups.items():
            g = f.create_group(nucleus)
            for name, arr in group.items():
                dtype = np.int64 if name == C.PRED_SITE_ID else np.float64
                a = np.asarray(arr, dtype=dtype)
                opts = {"compression": "gzip", "shuffle": True} if a.size else {}
                g.create_dataset(name, data=a, **opts)
    commit({path: buffer.getvalue()})
    return path
