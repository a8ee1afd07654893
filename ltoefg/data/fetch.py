"""Fetch and verify data-set files with pooch (SPEC §4.4).

* Embedded versions (``pcm-v2``, ``pcm-v1``) ship inside the package and are
  verified against the registry's SHA-256 on every open; they need no network.
* Any version can be downloaded from a mirror: set ``LTOEFG_DATA_URL`` to an
  ``http://`` or ``https://`` base URL that serves ``<base>/<filename>``;
  registered versions with a known address download from it. Downloads go to
  ``$LTOEFG_DATA_DIR/<version>/`` (default: the OS cache,
  ``pooch.os_cache("ltoefg")``), are verified by SHA-256, and land by an atomic
  rename, so a corrupt or truncated download is never left in the cache and two
  processes fetching at once leave one good file.
* Bounded (issue 11): a download stops after a total time limit
  (:data:`DEFAULT_TIMEOUT_S`, or ``LTOEFG_FETCH_TIMEOUT`` seconds) however
  slowly the server trickles, and after the file's registered size in bytes
  (or :data:`DEFAULT_MAX_BYTES` where the registry has none) however much the
  server sends; the partial file is removed. A mirror URL without an http(s)
  scheme and a cache folder that is a file or not writable are named as such,
  not blamed on the network.
* Nothing here runs at import time.
"""

from __future__ import annotations

import os
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pooch

from ltoefg.data import registry
from ltoefg.errors import DataError
from ltoefg.outputs import apply_umask

ENV_DATA_DIR = "LTOEFG_DATA_DIR"
ENV_DATA_URL = "LTOEFG_DATA_URL"
ENV_FETCH_TIMEOUT = "LTOEFG_FETCH_TIMEOUT"
DEFAULT_RETRIES = 2
#: Total time limit of one fetch (all attempts), seconds.
DEFAULT_TIMEOUT_S = 600.0
#: Size limit where the registry does not know a file's size, bytes.
DEFAULT_MAX_BYTES = 256 << 20
#: Longest wait for one network read, seconds (also bounded by the time left).
READ_TIMEOUT_S = 30.0
#: URL schemes a mirror may use.
SCHEMES: tuple[str, ...] = ("http", "https")


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


def _time_limit(timeout_s: float | None) -> float:
    if timeout_s is not None:
        return float(timeout_s)
    text = os.environ.get(ENV_FETCH_TIMEOUT)
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise DataError(f"{ENV_FETCH_TIMEOUT}={text!r} is not a positive number of seconds.")
    return value


def mirror_url(base_url: str, filename: str) -> str:
    """``<base_url>/<filename>`` after checking that the base is an http(s) URL.

    Raises
    ------
    DataError
        The base has no http:// or https:// scheme, or no host.
    """
    parts = urllib.parse.urlsplit(base_url.strip())
    if parts.scheme.lower() not in SCHEMES or not parts.netloc:
        raise DataError(
            f"{ENV_DATA_URL}={base_url!r} is not an http:// or https:// URL with a host; "
            f"set it to the mirror's base URL, e.g. https://example.org/ltoefg."
        )
    return base_url.strip().rstrip("/") + "/" + urllib.parse.quote(filename)


def prepare_cache(version: str) -> Path:
    """Create (if needed) and probe the cache folder of ``version``; returns it.

    Raises
    ------
    DataError
        The folder (or a parent) is a file, or it cannot be created or written.
    """
    folder = cache_dir(version)
    hint = f"set {ENV_DATA_DIR} to a writable folder"
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise DataError(
                f"{parent}: the data cache folder is in the way of a file (not a folder); {hint}."
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".ltoefg-probe.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise DataError(
            f"{folder}: the data cache folder cannot be written ({exc.strerror or exc}); {hint}."
        ) from None
    return folder


class BoundedDownloader:
    """A pooch downloader with a total deadline and a byte limit (HTTP/HTTPS only).

    Parameters
    ----------
    deadline : float
        ``time.monotonic()`` value after which the download is abandoned.
    max_bytes : int
        Most bytes accepted (the registered size of the file).
    progress : bool
        Show a tqdm progress bar.
    """

    def __init__(self, deadline: float, max_bytes: int, progress: bool = False) -> None:
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.progress = progress

    def _left(self, url: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DataError(
                f"{url}: the download did not finish within the time limit; nothing was kept "
                f"(raise {ENV_FETCH_TIMEOUT}, in seconds, or use a faster mirror)."
            )
        return left

    def __call__(self, url: str, output_file: Any, pooch_obj: Any = None) -> None:
        """Stream ``url`` into ``output_file`` (a path from pooch), within the bounds."""
        import requests

        left = self._left(url)
        timeout = (min(READ_TIMEOUT_S, left), min(READ_TIMEOUT_S, left))
        headers = {"Accept-Encoding": "identity"}  # count the bytes that land on disk
        with requests.get(url, stream=True, timeout=timeout, headers=headers) as resp:
            resp.raise_for_status()
            declared = resp.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_big(url, int(declared))
            bar = None
            if self.progress:
                from tqdm import tqdm

                bar = tqdm(total=int(declared) if declared.isdigit() else None, unit="B")
            total = 0
            try:
                with open(output_file, "wb") as fh:
                    # pooch's temporary file is 0o600; the cached file gets the umask's mode
                    apply_umask(fh.fileno())
                    while True:
                        self._left(url)
                        try:
                            chunk = resp.raw.read1(1 << 16)
                        except Exception as exc:  # noqa: BLE001 - urllib3 errors: retry
                            raise requests.exceptions.ConnectionError(str(exc)) from None
                        if not chunk:
                            break
                        total += len(chunk)
                        if total > self.max_bytes:
                            raise self._too_big(url, total)
                        fh.write(chunk)
                        if bar is not None:
                            bar.update(len(chunk))
            finally:
                if bar is not None:
                    bar.close()

    def _too_big(self, url: str, n: int) -> DataError:
        return DataError(
            f"{url}: the server sends more than the {self.max_bytes} bytes this file has "
            f"({n} so far); nothing was kept — check the mirror ({ENV_DATA_URL})."
        )


def fetch(
    version: str,
    progress: bool = False,
    retries: int = DEFAULT_RETRIES,
    timeout_s: float | None = None,
) -> Path:
    """Local path of a verified data file, downloading it first if needed.

    Parameters
    ----------
    version : str
        A registered data-set version, e.g. ``"pcm-v2"``.
    progress : bool
        Show a download progress bar.
    retries : int
        Download retries before giving up (all within the time limit).
    timeout_s : float, optional
        Total time limit in seconds (default ``LTOEFG_FETCH_TIMEOUT`` or
        :data:`DEFAULT_TIMEOUT_S`).

    Returns
    -------
    pathlib.Path
        Path of the verified HDF5 file.

    Raises
    ------
    DataError
        Unknown version, a version whose address is not known, a bad mirror URL,
        a bad cache folder, no network, a download over its time or size limit,
        or a download whose hash does not match (it is not kept).
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
        url = mirror_url(base_url, filename)
    elif entry.url:
        url = entry.url
    else:
        raise DataError(
            f"data-set version {version!r} has no download address; "
            f"set {ENV_DATA_URL} to a mirror that serves {filename}."
        )
    deadline = time.monotonic() + _time_limit(timeout_s)
    folder = cache_dir(version)
    existed = folder.is_dir()
    prepare_cache(version)
    max_bytes = entry.data.size if entry.data.size is not None else DEFAULT_MAX_BYTES
    store = pooch.create(
        path=folder,
        base_url="",
        registry={filename: f"sha256:{expected}"},
        urls={filename: url},
        retry_if_failed=retries,
    )
    downloader = BoundedDownloader(deadline, max_bytes, progress)
    try:
        return Path(store.fetch(filename, downloader=downloader))
    except DataError:
        _remove_if_empty(folder, existed)
        raise
    except ValueError as exc:
        _remove_if_empty(folder, existed)
        if "hash" not in str(exc).lower():
            raise
        raise DataError(
            f"{url}: the downloaded file's SHA-256 does not match the registry, so it was not "
            f"kept; check the mirror ({ENV_DATA_URL}) or try again later."
        ) from None
    except OSError as exc:  # requests' errors derive from OSError (IOError)
        _remove_if_empty(folder, existed)
        raise DataError(
            f"could not download {filename} from {url} ({type(exc).__name__}); check the "
            f"network or set {ENV_DATA_URL} to a reachable mirror."
        ) from None


def _remove_if_empty(folder: Path, existed: bool) -> None:
    """Remove the version's cache folder again if this fetch created it and left it empty."""
    if not existed:
        try:
            folder.rmdir()
        except OSError:
            pass
