"""Inspect an untrusted HDF5 file from its metadata, before a single data byte is read.

A submission comes from a third party, and HDF5 can make a reader touch other
files: external links (``h5py.ExternalLink``), external raw storage (a dataset
whose bytes live in another file), virtual datasets (whose bytes come from
datasets of other files) and filters loaded from plugin libraries. It can also
declare shapes far larger than the file (fill values, or chunks that decompress
into gigabytes). The functions here look only at links, dataset-creation
property lists, dtypes and shapes, so the caller can refuse such a file before
it reads anything:

* links: hard links are followed; soft links only to a direct member of the
  same group (and not to another soft link); external and user-defined links
  never;
* datasets: contiguous, chunked or compact layout, no external raw storage, no
  virtual layout, only the filters built into HDF5 and h5py, chunks no larger
  than :data:`MAX_CHUNK_BYTES` (or the dataset itself).

Every problem is an :class:`UnsafeHDF5Error` whose message is one clause (no file
name); the caller adds the file and the group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

#: Dataset layouts whose bytes are stored in the file itself.
SELF_CONTAINED_LAYOUTS: dict[int, str] = {
    h5py.h5d.CONTIGUOUS: "contiguous",
    h5py.h5d.CHUNKED: "chunked",
    h5py.h5d.COMPACT: "compact",
}
#: Filters built into HDF5 or h5py (no plugin library is loaded for them).
BUILTIN_FILTERS: dict[int, str] = {
    h5py.h5z.FILTER_DEFLATE: "gzip",
    h5py.h5z.FILTER_SHUFFLE: "shuffle",
    h5py.h5z.FILTER_FLETCHER32: "fletcher32",
    h5py.h5z.FILTER_SZIP: "szip",
    h5py.h5z.FILTER_NBIT: "nbit",
    h5py.h5z.FILTER_SCALEOFFSET: "scaleoffset",
    h5py.h5z.FILTER_LZF: "lzf",
}
#: Largest chunk (bytes, uncompressed) accepted when it exceeds the dataset's own size.
MAX_CHUNK_BYTES = 1 << 20


class UnsafeHDF5Error(Exception):
    """A member that cannot be read without touching something outside the file."""


@dataclass(frozen=True)
class DatasetInfo:
    """Metadata of a dataset that passed :func:`check_dataset`.

    Attributes
    ----------
    shape : tuple of int
        Declared shape.
    dtype : numpy.dtype
        Declared dtype (as h5py maps it).
    layout : str
        ``"contiguous"``, ``"chunked"`` or ``"compact"``.
    """

    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    layout: str

    @property
    def size(self) -> int:
        """Number of elements declared."""
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1


def link_names(group: h5py.Group, limit: int) -> list[str]:
    """Names of the links of ``group`` in name order, at most ``limit + 1`` of them.

    Stops iterating early, so a group with millions of links costs nothing.
    """
    names: list[str] = []

    def collect(name: bytes) -> bool | None:
        names.append(name.decode("utf-8", "replace"))
        return True if len(names) > limit else None

    group.id.links.iterate(collect)
    return names


def _link_type(group: h5py.Group, name: str) -> int:
    return int(group.id.links.get_info(name.encode("utf-8")).type)


def member(group: h5py.Group, name: str) -> h5py.Group | h5py.Dataset | h5py.Datatype:
    """The object behind link ``name`` of ``group``, following only safe links.

    Raises
    ------
    UnsafeHDF5Error
        An external or user-defined link, a soft link that leaves ``group`` or
        points to another soft link, or a dangling soft link.
    """
    kind = _link_type(group, name)
    if kind == h5py.h5l.TYPE_HARD:
        return group[name]
    if kind == h5py.h5l.TYPE_EXTERNAL:
        raise UnsafeHDF5Error(
            f"'{name}' is an external link to another file; a submission must be "
            "self-contained (store the data in the file itself)"
        )
    if kind != h5py.h5l.TYPE_SOFT:
        raise UnsafeHDF5Error(
            f"'{name}' is a user-defined link (type {kind}), which is not followed"
        )
    target = group.id.links.get_val(name.encode("utf-8")).decode("utf-8", "replace")
    prefix = group.name.rstrip("/") + "/"
    local = target[len(prefix) :] if target.startswith(prefix) else target
    if target.startswith("/") and not target.startswith(prefix) or not local or "/" in local:
        raise UnsafeHDF5Error(
            f"'{name}' is a soft link to {target!r}, outside its group; store the data in "
            "the group itself"
        )
    if (
        not group.id.links.exists(local.encode("utf-8"))
        or _link_type(group, local) != h5py.h5l.TYPE_HARD
    ):
        raise UnsafeHDF5Error(
            f"'{name}' is a soft link to {target!r}, which is missing or is itself a link"
        )
    return group[local]


def check_dataset(dset: h5py.Dataset) -> DatasetInfo:
    """Metadata of ``dset`` after checking that reading it touches only this file.

    Raises
    ------
    UnsafeHDF5Error
        Virtual or otherwise foreign layout, external raw storage, a filter that
        is not built in, an oversized chunk, or a dtype h5py cannot describe.
    """
    name = dset.name.rsplit("/", 1)[-1]
    plist = dset.id.get_create_plist()
    layout = plist.get_layout()
    if layout == h5py.h5d.VIRTUAL:
        raise UnsafeHDF5Error(
            f"'{name}' is a virtual dataset (its data would come from other files); store "
            "the values in the file itself"
        )
    if layout not in SELF_CONTAINED_LAYOUTS:
        raise UnsafeHDF5Error(f"'{name}' has an unsupported storage layout ({layout})")
    if plist.get_external_count() > 0:
        raise UnsafeHDF5Error(
            f"'{name}' keeps its data in external raw files, outside the submission; store "
            "the values in the file itself"
        )
    for i in range(plist.get_nfilters()):
        code = int(plist.get_filter(i)[0])
        if code not in BUILTIN_FILTERS:
            raise UnsafeHDF5Error(
                f"'{name}' uses filter {code}, which is not built into HDF5 (a plugin); "
                f"use one of {', '.join(sorted(set(BUILTIN_FILTERS.values())))}"
            )
    try:
        shape = tuple(int(n) for n in dset.shape)
        dtype = dset.dtype
    except Exception as exc:  # noqa: BLE001 - h5py cannot map some HDF5 types
        raise UnsafeHDF5Error(f"'{name}' has a datatype that cannot be read ({exc})") from None
    info = DatasetInfo(shape=shape, dtype=dtype, layout=SELF_CONTAINED_LAYOUTS[layout])
    if layout == h5py.h5d.CHUNKED:
        chunk_bytes = int(np.prod(plist.get_chunk(), dtype=np.int64)) * max(dtype.itemsize, 1)
        if chunk_bytes > max(MAX_CHUNK_BYTES, info.size * dtype.itemsize):
            raise UnsafeHDF5Error(
                f"'{name}' has chunks of {chunk_bytes} bytes, larger than the dataset and "
                f"than {MAX_CHUNK_BYTES} bytes; rewrite it with default chunking"
            )
    return info


def scalar_string_attribute(obj: h5py.HLObject, name: str, max_bytes: int) -> str | None:
    """A string attribute as text, checked from its metadata first; None if absent.

    The one reader of submission attributes: whatever the attribute, the same
    rules hold.

    Parameters
    ----------
    obj : h5py.HLObject
        The file (root group) or object that holds the attribute.
    name : str
        Attribute name.
    max_bytes : int
        Longest accepted value, bytes of UTF-8.

    Returns
    -------
    str or None
        The value, or None if the attribute does not exist.

    Raises
    ------
    UnsafeHDF5Error
        Not a single string: an array (even of one element), an empty (null)
        attribute, a number or another type; longer than ``max_bytes`` (as
        declared or as read); or bytes that are not UTF-8.
    """
    key = name.encode("utf-8")
    if not h5py.h5a.exists(obj.id, key):
        return None
    attr = h5py.h5a.open(obj.id, key)
    what = f"the attribute '{name}'"
    try:
        shape, dtype = attr.shape, attr.dtype
    except Exception as exc:  # noqa: BLE001 - h5py cannot map some HDF5 types
        raise UnsafeHDF5Error(f"{what} is not a string (its type cannot be read: {exc})") from None
    if shape is None or attr.get_space().get_simple_extent_type() == h5py.h5s.NULL:
        raise UnsafeHDF5Error(f"{what} is not a string but empty (no value)")
    if shape != ():
        raise UnsafeHDF5Error(
            f"{what} is not a string but an array of shape {shape}; store a single string"
        )
    if h5py.check_string_dtype(dtype) is None:
        kind = "a number" if dtype.kind in "biufc" else "a value"
        raise UnsafeHDF5Error(f"{what} is not a string but {kind} of type {dtype}")
    if attr.get_storage_size() > max_bytes:
        raise UnsafeHDF5Error(f"{what} is longer than {max_bytes} bytes")
    value = obj.attrs[name]
    try:  # h5py returns fixed-length strings as bytes, variable-length ones as str
        # (invalid UTF-8 as surrogates, which do not encode)
        text = bytes(value).decode("utf-8") if isinstance(value, bytes) else str(value)
        size = len(text.encode("utf-8"))
    except UnicodeError:
        raise UnsafeHDF5Error(f"{what} is not UTF-8 text") from None
    if size > max_bytes:
        raise UnsafeHDF5Error(f"{what} is longer than {max_bytes} bytes")
    return text
