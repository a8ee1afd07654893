"""The registry of data-set versions (SPEC §4.4): file names, SHA-256, counts, addresses.

The registry is a JSON file shipped with the package (``files/registry.json``),
validated on load, so that adding a version is a data change, not a code change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ltoefg import constants as C
from ltoefg.errors import DataError

#: Directory of the files shipped with the package (embedded data set, frozen splits).
FILES_DIR = Path(str(resources.files("ltoefg.data"))) / "files"
REGISTRY_FILE = FILES_DIR / "registry.json"


@dataclass(frozen=True)
class FileEntry:
    """A file pinned by name, SHA-256 (lower-case hex) and, optionally, size in bytes.

    ``size`` bounds a download (:mod:`ltoefg.data.fetch`); None where unknown.
    """

    filename: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class DatasetVersion:
    """One registered data-set version.

    Attributes
    ----------
    name : str
        Version name, e.g. ``"pcm-v1"``.
    label_method : str
        ``"point-charge-ewald"`` or ``"dft-castep-gipaw"``.
    description : str
        Plain words: what the labels are (and are not).
    data : FileEntry or None
        The data file; None where its address and hash are not known.
    url : str or None
        Primary download address of the data file (None: embedded only, or unknown).
    embedded : bool
        The data file ships inside the package (available offline).
    splits : FileEntry or None
        Frozen split id lists (npz, shipped with the package).
    n_structures, n_sites : int
    counts : dict
        Sites per nucleus.
    how_to_build : str
        What to do when the file is not available (DFT versions).
    split_scheme : int
        Scheme of :func:`ltoefg.data.splits.make_split` the frozen splits were made with.
    superseded_by : str
        The release that replaces this one ("" if current); opening it warns.
    """

    name: str
    label_method: str
    description: str
    data: FileEntry | None
    url: str | None
    embedded: bool
    splits: FileEntry | None
    n_structures: int
    n_sites: int
    counts: dict[str, int]
    how_to_build: str = ""
    split_scheme: int = 2
    superseded_by: str = ""


def _file_entry(raw: Any, where: str) -> FileEntry | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not {"filename", "sha256"} <= set(raw) <= {
        "filename",
        "sha256",
        "size",
    }:
        raise DataError(
            f"{REGISTRY_FILE}: {where} must have 'filename' and 'sha256' (and optionally 'size')."
        )
    sha = str(raw["sha256"])
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise DataError(f"{REGISTRY_FILE}: {where}.sha256 is not a lower-case SHA-256 hex digest.")
    size = raw.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise DataError(f"{REGISTRY_FILE}: {where}.size is not a number of bytes.")
    return FileEntry(str(raw["filename"]), sha, size)


_REQUIRED = {
    "label_method": str,
    "description": str,
    "url": (str, type(None)),
    "embedded": bool,
    "n_structures": int,
    "n_sites": int,
    "counts": dict,
}


def _parse(name: str, raw: dict[str, Any]) -> DatasetVersion:
    for key, typ in _REQUIRED.items():
        if key not in raw or not isinstance(raw[key], typ):
            raise DataError(f"{REGISTRY_FILE}: version {name!r} lacks a valid {key!r}.")
    counts = {k: int(v) for k, v in raw["counts"].items()}
    if sum(counts.values()) != raw["n_sites"] or not set(counts) <= set(C.NUCLEI):
        raise DataError(f"{REGISTRY_FILE}: version {name!r} counts do not add up to n_sites.")
    data = _file_entry(raw.get("data"), f"{name}.data")
    if raw["embedded"] and data is None:
        raise DataError(f"{REGISTRY_FILE}: embedded version {name!r} needs a data entry.")
    return DatasetVersion(
        name=name,
        label_method=raw["label_method"],
        description=raw["description"],
        data=data,
        url=raw["url"],
        embedded=raw["embedded"],
        splits=_file_entry(raw.get("splits"), f"{name}.splits"),
        n_structures=raw["n_structures"],
        n_sites=raw["n_sites"],
        counts=counts,
        how_to_build=str(raw.get("how_to_build", "")),
        split_scheme=int(raw.get("split_scheme", 2)),
        superseded_by=str(raw.get("superseded_by", "")),
    )


@cache
def registry() -> dict[str, DatasetVersion]:
    """All registered versions, by name (validated; cached)."""
    try:
        raw = json.loads(REGISTRY_FILE.read_text())
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{REGISTRY_FILE}: the registry is unreadable ({exc}); reinstall ltoefg."
        ) from None
    return {name: _parse(name, entry) for name, entry in raw["versions"].items()}


def get(name: str) -> DatasetVersion:
    """The registered version ``name``.

    Raises
    ------
    DataError
        If no such version is registered (the message lists the known ones).
    """
    versions = registry()
    if name not in versions:
        known = ", ".join(sorted(versions))
        raise DataError(f"unknown data-set version {name!r}; registered versions: {known}.")
    return versions[name]
