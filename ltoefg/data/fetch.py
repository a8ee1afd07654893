"""Fetch and verify data-set files with pooch (SPEC §4.4).

* ``pcm-v1`` ships inside the package and is verified against the registry's
  SHA-256 on every open; it needs no network.
* Any version can be downloaded from a mirror: set ``LTOEFG_DATA_URL`` to a base
  URL that serves ``<base>/<filename>``; registered versions with a known address
  download from it. Downloads go to ``$LTOEFG_DATA_DIR/<version>/`` (default: the
  OS cache, ``pooch.os_cache("ltoefg")``), are verified by SHA-256, and land by an
  atomic rename, so a corrupt or truncated download is never left in the cache
  and two processes fetching at once leave one good file.
* Nothing here runs at import time.
"""

from __future__ import annotations

import os
from pathlib import Path

import pooch

from ltoefg.data import registry
from ltoefg.errors import DataError

ENV_DATA_DIR = "LTOEFG_DATA_DIR"
ENV_DATA_URL = "LTOEFG_DATA_URL"
DEFAULT_RETRIES = 2


def cache_dir(version: str) -> Path:
    """Cache folder of a data-set version: ``$LTOEFG_DATA_DIR`` (or the OS cache) / version."""
    root = os.environ.get(ENV_DATA_DIR) or pooch.os_cache("ltoefg")
    return Path(root) / version


def sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file (pooch's hashing)."""
    return pooch.file_hash(str(path), alg="sha256")


def verify(path: Path, expected: str) -> Path:
    """Check a file against its registered SHA-256.

    Raises
    ------
    DataError
        If the file is missing or its hash differs.
    """
    if not path.is_file():
        raise DataError(
            f"{path}: the data file is missing; reinstall ltoefg or run `ltoefg fetch`."
        )
    actual = sha256(path)
    if actual != expected:
        raise DataError(
            f"{path}: SHA-256 {actual[:12]}… does not match the registry ({expected[:12]}…); "
            "the file is corrupt or was changed: delete it and run `ltoefg fetch` again."
        )
    return path


def fetch(version: str, progress: bool = False, retries: int = DEFAULT_RETRIES) -> Path:
    """Local path of a verified data file, downloading it first if needed.

    Parameters
    ----------
    version : str
        A registered data-set version, e.g. ``"pcm-v1"``.
    progress : bool
        Show a download progress bar.
    retries : int
        Download retries before giving up.

    Returns
    -------
    pathlib.Path
        Path of the verified HDF5 file.

    Raises
    ------
    DataError
        Unknown version, a version whose address is not known, no network, or
        a download whose hash does not match (it is not kept).
    """
    entry = registry.get(version)
    if entry.data is None:
        raise DataError(
            f"data-set version {version!r} is not available here: {entry.how_to_build}."
        )
    filename, expected = entry.data.filename, entry.data.sha256
    base_url = os.environ.get(ENV_DATA_URL)
    if not base_url and entry.embedded:
        return verify(registry.FILES_DIR / filename, expected)
    if base_url:
        url = base_url.rstrip("/") + "/" + filename
    elif entry.url:
        url = entry.url
    else:
        raise DataError(
            f"data-set version {version!r} has no download address; "
            f"set {ENV_DATA_URL} to a mirror that serves {filename}."
        )
    store = pooch.create(
        path=cache_dir(version),
        base_url="",
        registry={filename: f"sha256:{expected}"},
        urls={filename: url},
        retry_if_failed=retries,
    )
    try:
        return Path(store.fetch(filename, progressbar=progress))
    except ValueError as exc:
        if "hash" not in str(exc).lower():
            raise
        raise DataError(
            f"{url}: the downloaded file's SHA-256 does not match the registry, so it was not "
            f"kept; check the mirror ({ENV_DATA_URL}) or try again later."
        ) from None
    except OSError as exc:  # requests' errors derive from OSError (IOError)
        raise DataError(
            f"could not download {filename} from {url} ({type(exc).__name__}); check the "
            f"network or set {ENV_DATA_URL} to a reachable mirror."
        ) from None
