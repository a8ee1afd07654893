"""Output files get the mode the user's umask gives a new file, not mkstemp's 0o600 (issue 12).

Every writer that stages a temporary file (``ltoefg.io.outputs.commit``: reports,
plots, submission files and templates, leaderboard entries and rendered
tables) and the pooch download path are checked under two umasks, so a
hard-coded mode (0o644) fails as well as 0o600.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_evaluate import build_dataset_file, perfect
from test_fetch import _publish, env, server  # noqa: F401  (fixtures)

import ltoefg
from ltoefg import leaderboard as L
from ltoefg.cli import main
from ltoefg.data import fetch
from ltoefg.evaluation import submission as S
from ltoefg.io import outputs

UMASKS = {0o027: 0o640, 0o002: 0o664}


@pytest.fixture(params=sorted(UMASKS), ids=lambda m: f"umask-{m:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_umask_is_read_without_side_effect(umask: int) -> None:
    assert outputs.current_umask() == umask
    assert outputs.new_file_mode() == UMASKS[umask]
    assert outputs.current_umask() == umask  # unchanged


def test_commit_and_atomic_writers(tmp_path: Path, umask: int) -> None:
    written = outputs.commit({tmp_path / "a.txt": "x", tmp_path / "b.png": b"\x89PNG"})
    written.append(outputs.write_json_atomic(tmp_path / "c.json", {"k": 1}))
    for path in written:
        assert _mode(path) == UMASKS[umask], path


def test_evaluate_outputs_and_submission(tmp_path: Path, umask: int) -> None:
    pytest.importorskip("matplotlib")
    ds_path = build_dataset_file(tmp_path / "synthetic.h5", n_structures=12)
    sub = S.write(tmp_path / "sub.h5", perfect(ltoefg.load(ds_path)))
    args = ["evaluate", str(sub), "--dataset-file", str(ds_path)]
    assert main([*args, "--json", str(tmp_path / "r.json"), "--plots", str(tmp_path / "p")]) == 0
    files = [sub, tmp_path / "r.json", *sorted((tmp_path / "p").glob("*.png"))]
    assert len(files) >= 3
    for path in files:
        assert _mode(path) == UMASKS[umask], path


def test_leaderboard_entry_and_render(tmp_path: Path, umask: int) -> None:
    from test_leaderboard import _entry

    ds_path = build_dataset_file(tmp_path / "synthetic.h5", n_structures=12)
    ds = ltoefg.load(ds_path)
    report = ltoefg.evaluate(perfect(ds), dataset=ds)
    report["dataset"], report["label_method"] = "pcm-v2", "point-charge-ewald"
    (tmp_path / "leaderboard").mkdir()
    entry = L.write_entry(tmp_path, _entry(report, "umask model"))
    rendered = L.write_rendered(L.render_files(tmp_path))
    for path in [entry, *rendered]:
        assert _mode(path) == UMASKS[umask], path


def test_downloaded_file(server, env, monkeypatch: pytest.MonkeyPatch, umask: int) -> None:  # noqa: F811
    url, root = server
    _publish(root)
    monkeypatch.setenv(fetch.ENV_DATA_URL, url)
    path = fetch.fetch("pcm-v1", retries=0)
    assert _mode(path) == UMASKS[umask]
