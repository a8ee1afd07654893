"""Outputs (issue 11): checked up front, written atomically, all or none, one-sentence errors.

Bad ``--json``, ``--plots`` and ``--out`` paths (a folder, a file, a missing
folder, a read-only place) end in exit status 2 with one sentence naming the
path, before anything is computed or written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_evaluate import build_dataset_file, perfect

import ltoefg
from ltoefg.cli import main
from ltoefg.errors import LtoefgError
from ltoefg.evaluation import submission as S
from ltoefg.io import outputs

#: A read-only place even for root (sysfs).
READ_ONLY = Path("/sys/ltoefg-test-output")


@pytest.fixture(scope="module")
def ds_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset_file(tmp_path_factory.mktemp("outds") / "synthetic.h5", n_structures=12)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory, ds_path: Path) -> Path:
    return S.write(tmp_path_factory.mktemp("outsub") / "good.h5", perfect(ltoefg.load(ds_path)))


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def _bad_json_targets(tmp_path: Path) -> list[tuple[Path, str]]:
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("x")
    return [
        (tmp_path / "a-folder", "is a folder"),
        (tmp_path / "missing" / "r.json", "does not exist"),
        (tmp_path / "a-file" / "r.json", "is not a folder"),
        (READ_ONLY / "r.json", "does not exist"),
        (READ_ONLY, "cannot write this output"),
    ]


def test_bad_json_paths(tmp_path: Path, ds_path: Path, good: Path, capsys) -> None:
    for target, words in _bad_json_targets(tmp_path):
        before = _files(tmp_path)
        args = ["evaluate", str(good), "--dataset-file", str(ds_path), "--json", str(target)]
        assert main(args) == 2, target
        captured = capsys.readouterr()
        err = captured.err.strip()
        assert str(target) in err and words in err, err
        assert len(err.splitlines()) == 1 and "Traceback" not in err
        assert captured.out == ""  # refused before the evaluation ran
        assert _files(tmp_path) == before


def test_bad_plot_paths(tmp_path: Path, ds_path: Path, good: Path, capsys) -> None:
    pytest.importorskip("matplotlib")
    (tmp_path / "a-file").write_text("x")
    for target, words in [
        (tmp_path / "a-file", "is a file, not a folder"),
        (tmp_path / "missing" / "plots", "does not exist"),
        (READ_ONLY, "cannot write this output"),
    ]:
        args = ["evaluate", str(good), "--dataset-file", str(ds_path), "--plots", str(target)]
        args += ["--json", str(tmp_path / "r.json")]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert str(target) in err and words in err and "Traceback" not in err
        assert not (tmp_path / "r.json").exists()


def test_nothing_is_written_when_the_last_output_fails(
    tmp_path: Path, ds_path: Path, good: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Plots and JSON are staged together; a failure on the JSON leaves no PNG behind."""
    pytest.importorskip("matplotlib")
    report, plots = tmp_path / "r.json", tmp_path / "plots"
    real_replace = os.replace

    def disk_full(src: str, dst: str | os.PathLike[str]) -> None:
        if Path(dst) == report:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    real_mkstemp = outputs.tempfile.mkstemp

    def full_on_json(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if str(kwargs.get("prefix", "")).startswith(f".{report.name}."):
            raise OSError(28, "No space left on device")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(outputs.tempfile, "mkstemp", full_on_json)
    args = ["evaluate", str(good), "--dataset-file", str(ds_path)]
    args += ["--json", str(report), "--plots", str(plots)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{report}: cannot write this output (No space left on device)" in err
    assert _files(tmp_path) == []  # no PNG, no plots folder, no temporary file
    monkeypatch.setattr(outputs.tempfile, "mkstemp", real_mkstemp)
    monkeypatch.setattr(outputs.os, "replace", disk_full)
    assert main(args) == 2
    assert not report.exists() and not list(tmp_path.rglob("*.tmp"))


def test_template_out_paths(tmp_path: Path, ds_path: Path, capsys) -> None:
    (tmp_path / "a-folder").mkdir()
    for target, words in [
        (tmp_path / "a-folder", "is a folder"),
        (tmp_path / "missing" / "p.h5", "does not exist"),
        (READ_ONLY, "cannot write this output"),
    ]:
        args = ["template", "--dataset", str(ds_path), "--split", "random", "--out", str(target)]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert str(target) in err and words in err and "Traceback" not in err
    assert _files(tmp_path) == ["a-folder"]


def test_json_writer_refuses_non_finite_values(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    with pytest.raises(LtoefgError, match=r"value at 'nuclei.Li.r_phi' is not a finite number"):
        outputs.write_json_atomic(target, {"nuclei": {"Li": {"r_phi": float("nan")}}})
    assert not target.exists() and _files(tmp_path) == []
    outputs.write_json_atomic(target, {"nuclei": {"Li": {"r_phi": None}}})
    assert json.loads(target.read_text()) == {"nuclei": {"Li": {"r_phi": None}}}


def test_atomic_replace_keeps_the_old_file_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "keep.txt"
    target.write_text("old")

    def fail(*args: object) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(outputs.os, "replace", fail)
    with pytest.raises(LtoefgError, match="keep.txt: cannot write this output"):
        outputs.write_text_atomic(target, "new")
    assert target.read_text() == "old" and _files(tmp_path) == ["keep.txt"]


def test_dataset_file_must_be_a_file(tmp_path: Path, good: Path, capsys) -> None:
    for target in (tmp_path / "missing.h5", tmp_path):
        assert main(["evaluate", str(good), "--dataset-file", str(target)]) == 2
        err = capsys.readouterr().err
        assert f"{target}: --dataset-file must name an existing" in err
        assert len(err.strip().splitlines()) == 1
