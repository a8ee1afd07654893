"""CI regenerates the quick baselines and checks the committed quick entries are reproduced."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("featomic", reason="featomic (extra 'baselines') is not installed")

from baselines.cli import main  # noqa: E402


def test_quick_baselines_reproduce_committed_entries(tmp_path: Path, capsys) -> None:
    """All quick models, fixed hyperparameters (~5-10 min on 2 cores).

    Compared within the tolerances of :mod:`baselines.runs.reproduce` (measured across
    OpenBLAS kernels and thread counts; ``tests/test_reproduce.py`` shows they
    pass that spread and fail on a dropped training site).
    """
    status = main(["quick", "--check", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "reproduce the committed entries" in out
    for model in ("tensor", "scalar", "ridge"):
        assert (tmp_path / f"predictions-{model}.h5").is_file()
