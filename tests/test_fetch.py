"""The real pooch download path against a local HTTP server on 127.0.0.1 (started here)."""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
import time
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
class _Hostile(http.server.BaseHTTPRequestHandler):
    """mode "slow": one byte per 0.2 s; "endless": bytes until the client hangs up;
    "liar": a Content-Length far beyond the registered size."""

    mode = "slow"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server API)
        self.send_response(200)
        if self.mode == "liar":
            self.send_header("Content-Length", str(10**12))
        self.end_headers()
        try:
            while True:
                if self.mode == "slow":
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.2)
                else:
                    self.wfile.write(b"\0" * 65536)
        except OSError:  # the client gave up
            return


@pytest.fixture
def hostile_server() -> Iterator[Callable[[str], str]]:
    servers = []

    def start(mode: str) -> str:
        handler = type(f"_Hostile_{mode}", (_Hostile,), {"mode": mode})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

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
