"""The real pooch download path against a local HTTP server on 127.0.0.1 (started here)."""

from __future__ import annotations

import functools
import gzip
import http.server
import shutil
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ltoefg.cli import main
from ltoefg.data import fetch, registry
from ltoefg.errors import DataError

VERSION = "pcm-v1"


def _entry() -> registry.DatasetVersion:
    entry = registry.get(VERSION)
    if entry.data is None:
        pytest.skip("pcm-v1 is not registered yet")
    return entry


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Serve a fresh folder over HTTP on 127.0.0.1; yields (base URL, folder)."""
    root = tmp_path / "mirror"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv(fetch.ENV_DATA_DIR, str(cache))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return cache


def _publish(root: Path, content: bytes | None = None) -> Path:
    entry = _entry()
    target = root / entry.data.filename
    if content is None:
        shutil.copyfile(registry.FILES_DIR / entry.data.filename, target)
    else:
        target.write_bytes(content)
    return target


def test_embedded_file_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = _entry()
    monkeypatch.delenv(fetch.ENV_DATA_URL, raising=False)
    path = fetch.fetch(VERSION)
    assert path == registry.FILES_DIR / entry.data.filename
    assert fetch.sha256(path) == entry.data.sha256


def test_download_verify_and_cache(server, env, monkeypatch: pytest.MonkeyPatch) -> None:
    url, root = server
    published = _publish(root)
    monkeypatch.setenv(fetch.ENV_DATA_URL, url)
    path = fetch.fetch(VERSION, retries=0)
    assert path.parent == env / VERSION
    assert fetch.sha256(path) == _entry().data.sha256
    # second call is served from the cache: remove the mirror's copy first
    published.unlink()
    assert fetch.fetch(VERSION, retries=0) == path


@pytest.mark.parametrize("damage", ["corrupt", "truncated", "empty"])
def test_bad_download_is_refused_and_not_cached(server, env, monkeypatch, damage: str) -> None:
    url, root = server
    good = (registry.FILES_DIR / _entry().data.filename).read_bytes()
    bad = {
        "corrupt": good[:1000] + bytes([good[1000] ^ 0xFF]) + good[1001:],
        "truncated": good[: len(good) // 2],
        "empty": b"",
    }[damage]
    _publish(root, bad)
    monkeypatch.setenv(fetch.ENV_DATA_URL, url)
    with pytest.raises(DataError, match="SHA-256 does not match"):
        fetch.fetch(VERSION, retries=0)
    cached = env / VERSION
    assert not cached.exists() or not any(cached.iterdir())


def test_no_server_is_one_clear_sentence(env, monkeypatch, capsys) -> None:
    _entry()
    monkeypatch.setenv(fetch.ENV_DATA_URL, "http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(DataError, match="could not download"):
        fetch.fetch(VERSION, retries=0)
    monkeypatch.setattr(fetch, "DEFAULT_RETRIES", 0)
    assert main(["fetch", VERSION]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "could not download" in err and "Traceback" not in err


def test_unknown_and_unavailable_versions(capsys) -> None:
    with pytest.raises(DataError, match="unknown data-set version"):
        fetch.fetch("no-such-version")
    with pytest.raises(DataError, match="ltoefg build --magres"):
        fetch.fetch("dft-harper2025")
    assert main(["fetch", "dft-harper2025"]) == 2
    assert "ltoefg build --magres" in capsys.readouterr().err


def test_two_processes_fetching_at_once_leave_one_good_file(server, env, monkeypatch) -> None:
    url, root = server
    _publish(root)
    monkeypatch.setenv(fetch.ENV_DATA_URL, url)
    code = "from ltoefg.data.fetch import fetch; print(fetch('pcm-v1', retries=1))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    paths = {o[0].decode().strip() for o in outs}
    assert len(paths) == 1
    files = [p for p in (env / VERSION).iterdir()]
    assert [p.name for p in files] == [_entry().data.filename]
    assert fetch.sha256(files[0]) == _entry().data.sha256


# ------------------------------------------------------------ hostile servers (issue 11)
#: (Accept-Encoding received, Content-Encoding sent) per request, by hostile server URL.
SEEN: dict[str, list[tuple[str | None, str | None]]] = {}
#: Longest a hostile handler keeps a connection, seconds (its thread then ends by itself).
HANDLER_LIFETIME_S = 8.0


@functools.cache
def _encoded(encoding: str) -> bytes:
    """The pcm-v1 file as a server sends it with ``Content-Encoding: encoding``."""
    good = (registry.FILES_DIR / _entry().data.filename).read_bytes()
    if encoding == "gzip":
        return gzip.compress(good, compresslevel=1)
    if encoding == "deflate":  # RFC 9110 "deflate" = zlib format
        return zlib.compress(good, 1)
    if encoding == "raw-deflate":  # what some servers send as "deflate"
        obj = zlib.compressobj(1, zlib.DEFLATED, -zlib.MAX_WBITS)
        return obj.compress(good) + obj.flush()
    raise ValueError(encoding)


class _Hostile(http.server.BaseHTTPRequestHandler):
    """mode "slow": one byte per 0.2 s; "silent": headers, then nothing; "endless":
    bytes until the client hangs up; "liar": a Content-Length far beyond the
    registered size; "<encoding>-always": the file compressed whatever the client
    asks; "gzip-when-asked": compressed only if the client accepts gzip;
    "br-always": a Content-Encoding ltoefg does not decode; "gzip-broken":
    gzip headers on bytes that are not gzip.  ``seen`` records (Accept-Encoding
    received, Content-Encoding sent) per request."""

    mode = "slow"
    seen: list[tuple[str | None, str | None]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        stop = time.monotonic() + HANDLER_LIFETIME_S
        if self.mode.endswith(("-always", "-when-asked", "-broken")):
            self._send_encoded()
            return
        self.send_response(200)
        if self.mode == "liar":
            self.send_header("Content-Length", str(10**12))
        if self.mode == "silent":
            self.send_header("Content-Length", str(_entry().data.size))
        self.end_headers()
        try:
            if self.mode == "silent":
                self.wfile.flush()
                threading.Event().wait(HANDLER_LIFETIME_S)
                return
            while time.monotonic() < stop:
                if self.mode == "slow":
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
                else:
                    self.wfile.write(b"\0" * 65536)
        except OSError:  # the client gave up
            return

    def _send_encoded(self) -> None:
        accepted = self.headers.get("Accept-Encoding")
        encoding: str | None = self.mode.rsplit("-", 2 if "-when-" in self.mode else 1)[0]
        if self.mode == "gzip-when-asked" and "gzip" not in (accepted or ""):
            encoding = None
        if encoding is None:
            body = (registry.FILES_DIR / _entry().data.filename).read_bytes()
        elif self.mode == "gzip-broken":
            body = b"\x1f\x8b" + b"not gzip at all" * 100
        elif encoding == "br":
            body = b"\x0b\x02\x80hello\x03"
        else:
            body = _encoded(encoding)
        sent = "deflate" if encoding == "raw-deflate" else encoding
        self.seen.append((accepted, sent))
        self.send_response(200)
        if sent is not None:
            self.send_header("Content-Encoding", sent)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            return


@pytest.fixture
def hostile_server() -> Iterator[Callable[[str], str]]:
    servers = []

    def start(mode: str) -> str:
        seen: list[tuple[str | None, str | None]] = []
        handler = type(f"_Hostile_{mode}", (_Hostile,), {"mode": mode, "seen": seen})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        SEEN[url] = seen
        return url

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def _leftovers(cache: Path) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []


def test_slow_server_hits_the_total_time_limit(env, monkeypatch, hostile_server) -> None:
    _entry()
    monkeypatch.setenv(fetch.ENV_DATA_URL, hostile_server("slow"))
    t0 = time.monotonic()
    with pytest.raises(DataError, match="did not finish within the time limit"):
        fetch.fetch(VERSION, retries=3, timeout_s=1.5)
    assert time.monotonic() - t0 < 10  # a 1 byte/s server once never gave up
    assert _leftovers(env) == []


def test_time_limit_from_the_environment(env, monkeypatch, hostile_server, capsys) -> None:
    _entry()
    monkeypatch.setenv(fetch.ENV_DATA_URL, hostile_server("slow"))
    monkeypatch.setenv(fetch.ENV_FETCH_TIMEOUT, "1")
    assert main(["fetch", VERSION]) == 2
    err = capsys.readouterr().err
    assert "time limit" in err and fetch.ENV_FETCH_TIMEOUT in err and "Traceback" not in err
    monkeypatch.setenv(fetch.ENV_FETCH_TIMEOUT, "soon")
    with pytest.raises(DataError, match="not a positive number of seconds"):
        fetch.fetch(VERSION)


@pytest.mark.parametrize("mode", ["endless", "liar"])
def test_endless_body_hits_the_size_limit(env, monkeypatch, hostile_server, mode: str) -> None:
    entry = _entry()
    assert entry.data.size == (registry.FILES_DIR / entry.data.filename).stat().st_size
    monkeypatch.setenv(fetch.ENV_DATA_URL, hostile_server(mode))
    with pytest.raises(DataError, match=f"more than the {entry.data.size} bytes"):
        fetch.fetch(VERSION, retries=2, timeout_s=60)
    assert _leftovers(env) == []


@pytest.mark.parametrize(
    "url", ["127.0.0.1:8000/mirror", "file:///etc", "ftp://example.org/x", "https://", "mirror"]
)
def test_mirror_url_without_http_scheme_is_named(env, monkeypatch, capsys, url: str) -> None:
    _entry()
    monkeypatch.setenv(fetch.ENV_DATA_URL, url)
    with pytest.raises(DataError, match=r"is not an http:// or https:// URL"):
        fetch.fetch(VERSION, retries=0)
    assert main(["fetch", VERSION]) == 2
    err = capsys.readouterr().err
    assert "LTOEFG_DATA_URL" in err and "could not download" not in err
    assert _leftovers(env) == []


def test_cache_folder_problems_are_named(tmp_path, monkeypatch, server, capsys) -> None:
    url, root = server
    _publish(root)
    monkeypatch.setenv(fetch.ENV_DATA_URL, url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    a_file = tmp_path / "cache-is-a-file"
    a_file.write_text("x")
    for folder, words in [
        (a_file, "in the way of a file"),
        (Path("/sys/ltoefg-cache"), "cannot be written"),
    ]:
        monkeypatch.setenv(fetch.ENV_DATA_DIR, str(folder))
        with pytest.raises(DataError, match=words) as info:
            fetch.fetch(VERSION, retries=0)
        assert fetch.ENV_DATA_DIR in str(info.value) and "network" not in str(info.value)
        assert main(["fetch", VERSION]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert a_file.read_text() == "x"


def test_registry_sizes_match_the_shipped_files() -> None:
    for version in registry.registry().values():
        for item in (version.data, version.splits):
            path = None if item is None else registry.FILES_DIR / item.filename
            if path is not None and path.is_file() and item.size is not None:
                assert item.size == path.stat().st_size, item.filename


# ------------------------------------------- minimum rate and Content-Encoding (issue 19)
@pytest.mark.parametrize(("mode", "rate"), [("slow", "[1-9]"), ("silent", "0")])
def test_stalling_server_falls_below_the_minimum_rate(
    env, monkeypatch, hostile_server, capsys, mode: str, rate: str
) -> None:
    """A trickle (5 bytes/s) or headers-then-nothing is abandoned once the rate is checked:
    one sentence naming the URL and the knob, status 2, no retry, nothing left behind."""
    _entry()
    url = hostile_server(mode)
    monkeypatch.setenv(fetch.ENV_DATA_URL, url)
    monkeypatch.setenv(fetch.ENV_FETCH_MIN_RATE, "1000")
    monkeypatch.setattr(fetch, "RATE_GRACE_S", 0.6)
    monkeypatch.setattr(fetch, "RATE_WINDOW_S", 0.6)
    monkeypatch.setattr(fetch, "DEFAULT_RETRIES", 2)  # a stall is final: not retried
    t0 = time.monotonic()
    assert main(["fetch", VERSION]) == 2
    elapsed = time.monotonic() - t0
    assert elapsed < 3.0, elapsed  # the default time limit is 700 s; silence once took 95 s
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"ltoefg: error: {url}/{_entry().data.filename}: "), err
    assert "below the minimum of 1000 bytes/s" in err and fetch.ENV_FETCH_MIN_RATE in err
    assert err.endswith(".")
    assert _leftovers(env) == [] and not (env / VERSION).exists()
    with pytest.raises(DataError, match=rf"sent {rate} bytes/s over 0\.[0-9] s, below"):
        fetch.fetch(VERSION, retries=0, min_rate=50, grace_s=0.3, window_s=0.3)
    assert _leftovers(env) == []


def test_minimum_rate_from_the_environment_must_be_positive(env, monkeypatch) -> None:
    _entry()
    monkeypatch.setenv(fetch.ENV_DATA_URL, "http://127.0.0.1:9")
    for text in ("fast", "0", "-5", "inf"):
        monkeypatch.setenv(fetch.ENV_FETCH_MIN_RATE, text)
        with pytest.raises(DataError, match="is not a positive number of bytes per second"):
            fetch.fetch(VERSION, retries=0)


def test_default_limits_follow_the_registered_size(env, monkeypatch) -> None:
    """Default deadline = DEADLINE_BASE_S + size / MIN_RATE_BPS (60 s + 639.5 s for pcm-v1)."""
    entry = _entry()
    seen: dict[str, float] = {}

    class Spy(fetch.BoundedDownloader):
        def __call__(self, url, output_file, pooch_obj=None, check_only=False):  # noqa: ANN001
            seen.update(left=self.deadline - time.monotonic(), rate=self.min_rate)
            seen.update(grace=self.grace_s, window=self.window_s)
            raise DataError("spy")

    monkeypatch.setattr(fetch, "BoundedDownloader", Spy)
    monkeypatch.setenv(fetch.ENV_DATA_URL, "http://127.0.0.1:9")
    monkeypatch.delenv(fetch.ENV_FETCH_TIMEOUT, raising=False)
    monkeypatch.delenv(fetch.ENV_FETCH_MIN_RATE, raising=False)
    with pytest.raises(DataError, match="spy"):
        fetch.fetch(VERSION, retries=0)
    assert seen["left"] == pytest.approx(60.0 + entry.data.size / 10_000.0, abs=1.0)
    assert (seen["rate"], seen["grace"], seen["window"]) == (10_000.0, 30.0, 30.0)


@pytest.mark.parametrize(
    ("mode", "sent"),
    [
        ("gzip-always", "gzip"),
        ("deflate-always", "deflate"),
        ("raw-deflate-always", "deflate"),
        ("gzip-when-asked", None),
    ],
)
def test_content_encoding_is_decoded_or_avoided(
    env, monkeypatch, hostile_server, mode: str, sent: str | None
) -> None:
    """A server that compresses although identity was asked is decoded; one that honours
    identity sends the file as it is. Either way the cached file is the original, byte
    for byte (before issue 19 the first three were refused as hash mismatches)."""
    entry = _entry()
    url = hostile_server(mode)
    monkeypatch.setenv(fetch.ENV_DATA_URL, url)
    path = fetch.fetch(VERSION, retries=0)
    assert SEEN[url] == [("identity", sent)]
    if sent is not None:
        assert len(_encoded(mode.removesuffix("-always"))) < entry.data.size
    original = (registry.FILES_DIR / entry.data.filename).read_bytes()
    assert path.read_bytes() == original
    assert fetch.sha256(path) == entry.data.sha256
    assert [p.name for p in _leftovers(env)] == [entry.data.filename]


@pytest.mark.parametrize(
    ("mode", "words"),
    [("br-always", "Content-Encoding 'br'"), ("gzip-broken", "cannot be decoded")],
)
def test_undecodable_content_encoding_is_one_sentence(
    env, monkeypatch, hostile_server, capsys, mode: str, words: str
) -> None:
    _entry()
    url = hostile_server(mode)
    monkeypatch.setenv(fetch.ENV_DATA_URL, url)
    monkeypatch.setattr(fetch, "DEFAULT_RETRIES", 0)
    assert main(["fetch", VERSION]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert url in err and words in err and fetch.ENV_DATA_URL in err
    assert _leftovers(env) == []
