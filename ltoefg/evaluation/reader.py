"""Read an untrusted ``predictions.h5`` without reading anything it does not declare safely.

Order of the checks (each failure is one sentence naming the file and group):

1. the path is a regular, non-empty file of at most
   :data:`ltoefg.evaluation.schema.MAX_FILE_BYTES` with the HDF5 signature;
2. the root attributes are scalar (not one-element array) UTF-8 strings of at
   most :data:`ltoefg.evaluation.schema.MAX_ATTRIBUTE_BYTES`, checked from their
   metadata by :func:`ltoefg.io.h5inspect.scalar_string_attribute`;
3. the root holds only nucleus groups, reached by hard links; each group holds
   only the members of its kind, reached by hard links or by soft links to a
   member of the same group (:func:`ltoefg.io.h5inspect.member`);
4. every dataset is stored in the file itself (:func:`ltoefg.io.h5inspect.check_dataset`);
5. declared dtypes and shapes are those of the kind, and ``site_id`` declares no
   more ids than the caller's limit for that nucleus;

and only then are the arrays read. Nothing here opens another file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from ltoefg import constants as C
from ltoefg.errors import SubmissionError
from ltoefg.evaluation import schema as S

#: Most members listed per group before the rest is ignored (a group needs at most 7).
_MAX_LISTED = 16


def _check_path(source: str, p: Path) -> None:
    import h5py

    try:
        st = p.stat()
    except OSError:
        raise S.refusal(source, S.ROOT, "the file does not exist or cannot be read") from None
    if not p.is_file():
        raise S.refusal(source, S.ROOT, "not a regular file (a folder, device or pipe)")
    if st.st_size == 0:
        raise S.refusal(source, S.ROOT, "the file is empty, not an HDF5 file")
    if st.st_size > S.MAX_FILE_BYTES:
        raise S.refusal(
            source,
            S.ROOT,
            f"the file has {st.st_size} bytes, more than the {S.MAX_FILE_BYTES} a submission "
            "may have (a full uncompressed pcm submission has about 1.2 MB)",
        )
    try:
        is_hdf5 = h5py.is_hdf5(p)
    except Exception:  # noqa: BLE001 - any library failure is a damaged file
        is_hdf5 = False
    if not is_hdf5:
        raise S.refusal(source, S.ROOT, "the file is not an HDF5 file (no HDF5 signature)")


def _with_file(source: str, path: str | os.PathLike[str], body: Any) -> Any:
    """Run ``body(f)`` on the opened file; library failures become one refusal."""
    import h5py

    from ltoefg.io.h5inspect import UnsafeHDF5Error

    _check_path(source, Path(path))
    try:
        with h5py.File(path, "r") as f:
            return body(f)
    except SubmissionError:
        raise
    except UnsafeHDF5Error as exc:  # raised outside a group context: the root
        raise S.refusal(source, S.ROOT, str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - h5py raises many types on damaged files
        detail = " ".join(str(exc).split())[:160] or type(exc).__name__
        raise S.refusal(
            source, S.ROOT, f"the HDF5 file is truncated or damaged and cannot be read ({detail})"
        ) from None


def _attributes(source: str, f: Any) -> dict[str, str]:
    from ltoefg.io.h5inspect import UnsafeHDF5Error, scalar_string_attribute

    attrs: dict[str, str] = {}
    for name in S.ROOT_ATTRS:
        try:
            value = scalar_string_attribute(f, name, S.MAX_ATTRIBUTE_BYTES)
        except UnsafeHDF5Error as exc:
            raise S.refusal(source, S.ROOT, str(exc)) from None
        if value is None:
            raise S.refusal(source, S.ROOT, f"the root attribute '{name}' is missing")
        attrs[name] = value
    S.check_attributes(source, attrs)
    return attrs


def read_file_attributes(path: str | os.PathLike[str]) -> dict[str, str]:
    """The checked root attributes of a submission file.

    See :func:`ltoefg.evaluation.submission.read`.
    """
    source = str(path)
    return _with_file(source, path, lambda f: _attributes(source, f))


def _members(source: str, f: Any, group: str, allowed: tuple[str, ...]) -> list[str]:
    from ltoefg.io.h5inspect import link_names

    names = link_names(f[group] if group != S.ROOT else f, _MAX_LISTED)
    extra = [m for m in names if m not in allowed]
    if extra:
        where = (
            f"the root holds only the nucleus groups {', '.join(C.NUCLEI)}"
            if group == S.ROOT
            else f"allowed: {', '.join(allowed)}"
        )
        kind = "" if group == S.ROOT else " for this kind"
        raise S.refusal(source, group, f"unexpected member '{extra[0]}'{kind} ({where})")
    return names


def _group(source: str, f: Any, nucleus: str, kind: str, limit: int) -> dict[str, NDArray[Any]]:
    import h5py

    from ltoefg.io.h5inspect import UnsafeHDF5Error, check_dataset, member

    required, optional = S.value_names(kind)
    allowed = (C.PRED_SITE_ID, *required, *optional)
    present = _members(source, f, nucleus, allowed)
    datasets: dict[str, Any] = {}
    infos: dict[str, Any] = {}
    for name in allowed:
        if name not in present:
            if name in optional:
                continue
            raise S.refusal(source, nucleus, f"the dataset '{name}' is missing")
        try:
            obj = member(f[nucleus], name)
            if not isinstance(obj, h5py.Dataset):
                raise S.refusal(source, nucleus, f"'{name}' is a group, not a dataset")
            infos[name] = check_dataset(obj)
        except UnsafeHDF5Error as exc:
            raise S.refusal(source, nucleus, str(exc)) from None
        datasets[name] = obj
    ids = infos[C.PRED_SITE_ID]
    S.check_declared(source, nucleus, C.PRED_SITE_ID, ids.shape, ids.dtype, 0)
    n = ids.shape[0]
    if n > limit:
        raise S.refusal(
            source,
            nucleus,
            f"'site_id' declares {n} ids, more than the {limit} this evaluation reads for "
            f"{nucleus} (a group holds exactly the split's test ids); nothing was read",
        )
    for name, info in infos.items():
        if name != C.PRED_SITE_ID:
            S.check_declared(source, nucleus, name, info.shape, info.dtype, n)
    arrays = {name: dset[()] for name, dset in datasets.items()}
    return S.check_arrays(source, nucleus, kind, arrays)


def read_file(
    path: str | os.PathLike[str], limits: Mapping[str, int] | None = None
) -> S.Submission:
    """See :func:`ltoefg.evaluation.submission.read`."""
    import h5py

    from ltoefg.io.h5inspect import member

    source = str(path)

    def body(f: Any) -> S.Submission:
        attrs = _attributes(source, f)
        kind = attrs[C.ATTR_KIND]
        present = _members(source, f, S.ROOT, C.NUCLEI)
        if not present:
            raise S.refusal(
                source, S.ROOT, f"the file has no nucleus group (expected {', '.join(C.NUCLEI)})"
            )
        groups: dict[str, dict[str, NDArray[Any]]] = {}
        for nucleus in (n for n in C.NUCLEI if n in present):
            obj = member(f, nucleus)
            if isinstance(obj, h5py.Dataset) or not isinstance(obj, h5py.Group):
                raise S.refusal(
                    source,
                    S.ROOT,
                    f"unexpected member '{nucleus}' (the root holds only the nucleus groups "
                    f"{', '.join(C.NUCLEI)}, as groups)",
                )
            limit = S.MAX_SITES if limits is None else int(limits.get(nucleus, S.MAX_SITES))
            groups[nucleus] = _group(source, f, nucleus, kind, limit)
        return S.Submission.from_attributes(source, attrs, groups)

    return _with_file(source, path, body)
