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
* Bounded: a download stops after a total time limit
  (:data:`DEADLINE_BASE_S` plus the registered size at :data:`MIN_RATE_BPS`, or
  ``LTOEFG_FETCH_TIMEOUT`` seconds) and as soon as the server sends less than
  :data:`MIN_RATE_BPS` (or ``LTOEFG_FETCH_MIN_RATE``) bytes per second averaged
  over :data:`RATE_WINDOW_S`, checked from :data:`RATE_GRACE_S` after the
  request on — a server that trickles or sends headers and then nothing is
  abandoned after about 30 s, without retries; a download also stops after the file's
  registered size in bytes (or :data:`DEFAULT_MAX_BYTES` where the registry
  has none) however much the server sends. The partial file is removed. A
  mirror URL without an http(s) scheme and a cache folder that is a file or
  not writable are named as such, not blamed on the network.
* Content-Encoding: downloads ask for ``Accept-Encoding: identity``;
  a server that compresses anyway (gzip or deflate) is decoded on the fly, so
  the SHA-256 is checked on, and the cache holds, the file itself.
* Nothing here runs at import time.
"""

from __future__ import annotations

import os
import tempfile
import time
import urllib.parse
import zlib
from collections import deque
from pathlib import Path
from typing import Any

import pooch

from ltoefg.data import registry
from ltoefg.errors import DataError
from ltoefg.io.outputs import apply_umask

ENV_DATA_DIR = "LTOEFG_DATA_DIR"
ENV_DATA_URL = "LTOEFG_DATA_URL"
ENV_FETCH_TIMEOUT = "LTOEFG_FETCH_TIMEOUT"
ENV_FETCH_MIN_RATE = "LTOEFG_FETCH_MIN_RATE"
DEFAULT_RETRIES = 2
#: Lowest transfer rate accepted, bytes per second (10 kB/s: a 6.4 MB release
#: then takes at most about 11 minutes; any working link is far faster).
MIN_RATE_BPS = 10_000.0
#: Seconds after a request is sent before the rate is first checked (connection
#: set-up, TCP slow start, a busy server).
RATE_GRACE_S = 30.0
#: Seconds over which the rate is averaged (a short stall is forgiven); also the
#: longest wait for one network read.
RATE_WINDOW_S = 30.0
#: Fixed part of the default total time limit of one fetch (all attempts),
#: seconds; the registered size at :data:`MIN_RATE_BPS` is added to it.
DEADLINE_BASE_S = 60.0
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


def _positive(value: float | None, env: str, default: float, unit: str) -> float:
    """``value`` if given, else the number (in ``unit``) in variable ``env``, else ``default``."""
    if value is not None:
        return float(value)
    text = os.environ.get(env)
    if not text:
        return default
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 < number < float("inf"):
        raise DataError(f"{env}={text!r} is not a positive number of {unit}.")
    return number


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


class _Decoder:
    """Undo a ``Content-Encoding`` of gzip or deflate chunk by chunk (identity: no-op).

    urllib3 can decode too, but its ``read1`` keeps reading while a chunk decodes
    to nothing, out of reach of the downloader's clock; decoding here keeps every
    network read inside the time and rate checks.
    """

    def __init__(self, encoding: str) -> None:
        self.active = encoding not in ("", "identity")
        self._obj = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header
        # "deflate" is sometimes sent without its zlib header: retry once as raw deflate
        self._may_be_raw = encoding == "deflate"

    def decode(self, data: bytes, max_length: int) -> bytes:
        """Decoded bytes of ``data``, at most ``max_length`` (the rest is not needed).

        Raises
        ------
        zlib.error
            The data is not valid gzip or deflate.
        """
        if not self.active:
            return data
        out = b""
        while data and len(out) < max_length:
            try:
                out += self._obj.decompress(data, max_length - len(out))
            except zlib.error:
                if not self._may_be_raw:
                    raise
                self._may_be_raw = False
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._may_be_raw = False
            data = self._obj.unconsumed_tail
            if self._obj.eof and self._obj.unused_data:  # concatenated gzip members
                data = self._obj.unused_data
                self._obj = zlib.decompressobj(zlib.MAX_WBITS | 32)
        return out


class BoundedDownloader:
    """A pooch downloader with a deadline, a minimum rate and a byte limit (HTTP/HTTPS).

    Asks for ``Accept-Encoding: identity``; a server that compresses anyway
    (``Content-Encoding: gzip`` or ``deflate``) is decoded, so the file written
    is the file the registry's SHA-256 is for. Any other encoding is refused.

    Parameters
    ----------
    deadline : float
        ``time.monotonic()`` value, seconds, after which the download is abandoned
        (all attempts together).
    max_bytes : int
        Most bytes accepted, received and decoded (the registered size of the file).
    progress : bool
        Show a tqdm progress bar (only when stderr is a terminal).
    min_rate : float
        Lowest accepted transfer rate, bytes per second, averaged over
        ``window_s``; checked from ``grace_s`` after the request on.
    grace_s : float
        Seconds after the request before the rate is checked.
    window_s : float
        Seconds over which the rate is averaged; also the longest wait for a
        single network read.
    """

    def __init__(
        self,
        deadline: float,
        max_bytes: int,
        progress: bool = False,
        min_rate: float = MIN_RATE_BPS,
        grace_s: float = RATE_GRACE_S,
        window_s: float = RATE_WINDOW_S,
    ) -> None:
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.progress = progress
        self.min_rate = min_rate
        self.grace_s = grace_s
        self.window_s = window_s

    def _left(self, url: str) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DataError(
                f"{url}: the download did not finish within the time limit; nothing was kept "
                f"(raise {ENV_FETCH_TIMEOUT}, in seconds, or use a faster mirror)."
            )
        return left

    def _too_slow(self, url: str, rate: float, span: float) -> DataError:
        return DataError(
            f"{url}: the server sent {rate:.0f} bytes/s over {span:.1f} s, below the minimum "
            f"of {self.min_rate:.0f} bytes/s, so the download was abandoned and nothing was "
            f"kept; try again later, use a faster mirror ({ENV_DATA_URL}) or lower "
            f"{ENV_FETCH_MIN_RATE} (bytes/s)."
        )

    def _check_rate(self, url: str, samples: deque[tuple[float, int]], start: float) -> None:
        """Refuse when the bytes of the last ``window_s`` came slower than ``min_rate``."""
        now = time.monotonic()
        while len(samples) > 1 and samples[1][0] <= now - self.window_s:
            samples.popleft()
        if now - start < self.grace_s:
            return
        t0, n0 = samples[0]
        span = max(now - t0, 1e-9)
        rate = (samples[-1][1] - n0) / span
        if rate < self.min_rate:
            raise self._too_slow(url, rate, span)

    def __call__(
        self, url: str, output_file: Any, pooch_obj: Any = None, check_only: bool = False
    ) -> bool | None:
        """Stream ``url`` into ``output_file`` (a path from pooch), within the bounds.

        With ``check_only``, only ask (HEAD) whether the server has the file.
        """
        import requests

        left = self._left(url)
        read_timeout = min(READ_TIMEOUT_S, self.window_s, left)
        timeout = (min(READ_TIMEOUT_S, left), read_timeout)
        if check_only:
            head = requests.head(url, timeout=timeout, allow_redirects=True)
            return bool(head.status_code == 200)
        headers = {"Accept-Encoding": "identity"}
        start = time.monotonic()
        with requests.get(url, stream=True, timeout=timeout, headers=headers) as resp:
            resp.raise_for_status()
            encoding = resp.headers.get("Content-Encoding", "").strip().lower()
            if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
                raise DataError(
                    f"{url}: the server sent the file with Content-Encoding {encoding!r}, "
                    f"which ltoefg does not decode; nothing was kept — use a mirror that "
                    f"serves files as they are ({ENV_DATA_URL})."
                )
            decoder = _Decoder(encoding)
            declared = resp.headers.get("Content-Length", "")
            if not decoder.active and declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_big(url, int(declared))
            self._stream(url, resp, decoder, output_file, start)
        return None

    def _stream(
        self, url: str, resp: Any, decoder: _Decoder, output_file: Any, start: float
    ) -> None:
        import requests
        from urllib3.exceptions import ReadTimeoutError

        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=self.max_bytes, unit="B", unit_scale=True, leave=False, disable=None)
        received = written = 0
        samples: deque[tuple[float, int]] = deque([(start, 0)])
        try:
            with open(output_file, "wb") as fh:
                # pooch's temporary file is 0o600; the cached file gets the umask's mode
                apply_umask(fh.fileno())
                while True:
                    self._left(url)
                    try:
                        chunk = resp.raw.read1(1 << 16, decode_content=False)
                    except (ReadTimeoutError, TimeoutError):
                        samples.append((time.monotonic(), received))
                        self._check_rate(url, samples, start)
                        raise requests.exceptions.ConnectionError("read timed out") from None
                    except Exception as exc:  # noqa: BLE001 - urllib3 errors: retry
                        raise requests.exceptions.ConnectionError(str(exc)) from None
                    if not chunk:
                        break
                    received += len(chunk)
                    try:
                        data = decoder.decode(chunk, self.max_bytes - written + 1)
                    except zlib.error:
                        raise DataError(
                            f"{url}: the server's compressed (Content-Encoding) data cannot be "
                            f"decoded; nothing was kept — check the mirror ({ENV_DATA_URL})."
                        ) from None
                    written += len(data)
                    if max(received, written) > self.max_bytes:
                        raise self._too_big(url, max(received, written))
                    fh.write(data)
                    samples.append((time.monotonic(), received))
                    self._check_rate(url, samples, start)
                    if bar is not None:
                        bar.update(len(data))
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
    min_rate: float | None = None,
    grace_s: float | None = None,
    window_s: float | None = None,
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
        Total time limit of all attempts, seconds (default ``LTOEFG_FETCH_TIMEOUT``,
        else :data:`DEADLINE_BASE_S` plus the file's size at the minimum rate).
    min_rate : float, optional
        Lowest accepted transfer rate, bytes per second (default
        ``LTOEFG_FETCH_MIN_RATE``, else :data:`MIN_RATE_BPS`).
    grace_s : float, optional
        Seconds before the rate is checked (default :data:`RATE_GRACE_S`).
    window_s : float, optional
        Seconds the rate is averaged over, and the longest wait for one read
        (default :data:`RATE_WINDOW_S`).

    Returns
    -------
    pathlib.Path
        Path of the verified HDF5 file.

    Raises
    ------
    DataError
        Unknown version, a version whose address is not known, a bad mirror URL,
        a bad cache folder, no network, a download over its time or size limit
        or below the minimum rate, a Content-Encoding other than gzip or deflate,
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
    max_bytes = entry.data.size if entry.data.size is not None else DEFAULT_MAX_BYTES
    rate = _positive(min_rate, ENV_FETCH_MIN_RATE, MIN_RATE_BPS, "bytes per second")
    limit = _positive(timeout_s, ENV_FETCH_TIMEOUT, DEADLINE_BASE_S + max_bytes / rate, "seconds")
    deadline = time.monotonic() + limit
    folder = cache_dir(version)
    existed = folder.is_dir()
    prepare_cache(version)
    store = pooch.create(
        path=folder,
        base_url="",
        registry={filename: f"sha256:{expected}"},
        urls={filename: url},
        retry_if_failed=retries,
    )
    downloader = BoundedDownloader(
        deadline,
        max_bytes,
        progress,
        min_rate=rate,
        grace_s=RATE_GRACE_S if grace_s is None else grace_s,
        window_s=RATE_WINDOW_S if window_s is None else window_s,
    )
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
