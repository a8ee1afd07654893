"""``ltoefg build --magres``: hostile and degenerate inputs (issue 11), on hand-written files.

Non-finite tensors and data sets whose μ or σ of |Vzz| would be zero are refused
with one sentence naming the file; nothing is written. The output path is checked
before any .magres file is read.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ltoefg
from ltoefg.cli import main
from ltoefg.data.generate import build_from_magres
from ltoefg.data.magres import MagresError, read_magres
from ltoefg.errors import DataError, LtoefgError


def write_magres(path: Path, tensors: dict[str, list[np.ndarray]]) -> Path:
    """A minimal CASTEP .magres file: one atom per tensor, EFG in atomic units."""
    atoms, efgs = [], []
    for k, (species, items) in enumerate(tensors.items()):
        for i, t in enumerate(items, start=1):
            pos = 0.7 * (k * 5 + i)
            atoms.append(f"atom {species} {species} {i} {pos % 6:.3f} {pos % 5:.3f} {pos % 4:.3f}")
            efgs.append(f"efg {species} {i} " + " ".join(repr(float(x)) for x in np.ravel(t)))
    text = "\n".join(
        [
            "#$magres-abinitio-v1.0",
            "[atoms]",
            "units lattice Angstrom",
            "lattice 6 0 0 0 5 0 0 0 4",
            "units atom Angstrom",
            *atoms,
            "[/atoms]",
            "[magres]",
            "units efg au",
            *efgs,
            "[/magres]",
            "",
        ]
    )
    path.write_text(text)
    return path


def tensor(rng: np.random.Generator) -> np.ndarray:
    a = rng.normal(size=(3, 3))
    a = 0.5 * (a + a.T)
    return a - np.trace(a) / 3 * np.eye(3)


@pytest.fixture
def good(tmp_path: Path, rng: np.random.Generator) -> Path:
    folder = tmp_path / "good"
    folder.mkdir()
    for k in range(3):
        write_magres(
            folder / f"s{k}.magres",
            {"Li": [tensor(rng), tensor(rng)], "O": [tensor(rng) for _ in range(3)]},
        )
    return folder


def test_valid_folder_builds_and_scores(good: Path, tmp_path: Path) -> None:
    out = build_from_magres(good, tmp_path / "dft-test.h5", name="dft-test")
    ds = ltoefg.load(out)
    assert ds.name == "dft-test" and ds.counts() == {"Li": 6, "O": 9}
    mu, sigma = ds.stats("O")
    assert mu > 0 and sigma > 0


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_tensor_is_refused_naming_the_file(
    good: Path, tmp_path: Path, rng: np.random.Generator, value: float, capsys
) -> None:
    t = tensor(rng)
    t[1, 2] = value
    bad = write_magres(good / "s9-bad.magres", {"O": [tensor(rng), t]})
    with pytest.raises(MagresError, match=r"s9-bad.magres: 1 EFG tensors hold NaN or inf"):
        read_magres(bad)
    out = tmp_path / "x.h5"
    assert main(["build", "--magres", str(good), "--out", str(out), "--name", "x"]) == 2
    err = capsys.readouterr().err
    assert "s9-bad.magres" in err and "atom 2" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".x.h5*"))


@pytest.mark.parametrize(
    ("tensors", "words"),
    [
        ({"O": [np.zeros((3, 3))] * 4}, "mean |Vzz| = 0"),  # all zero: μ = σ = 0
        ({"Li": [np.diag([-1.0, -1.0, 2.0])] * 3}, "standard deviation 0"),  # all equal: σ = 0
    ],
)
def test_degenerate_statistics_are_refused(
    tmp_path: Path, tensors: dict, words: str, capsys
) -> None:
    folder = tmp_path / "flat"
    folder.mkdir()
    write_magres(folder / "only.magres", tensors)
    out = tmp_path / "flat.h5"
    with pytest.raises(DataError, match="only.magres") as info:
        build_from_magres(folder, out)
    assert words in str(info.value)
    assert main(["build", "--magres", str(folder), "--out", str(out)]) == 2
    assert "metrics divide by both" in capsys.readouterr().err
    assert not out.exists()


def test_evaluate_refuses_a_data_set_with_zero_sigma(tmp_path: Path) -> None:
    """A data-set file written without the importer's check (μ = σ = 0) is refused by evaluate."""
    from ltoefg.data import h5format
    from ltoefg.evaluation.score import _checked_stats

    ds = ltoefg.load(build_from_magres(_folder_with(tmp_path), tmp_path / "ok.h5", name="ok"))
    data = h5format.read(ds.path)
    data.efg[:] = 0.0
    zero = h5format.write(tmp_path / "zero.h5", data)
    with pytest.raises(LtoefgError, match=r"zero.h5: the data set's \|Vzz\| statistics of O"):
        _checked_stats(ltoefg.load(zero), "O")


def _folder_with(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    folder = tmp_path / "src"
    folder.mkdir()
    write_magres(folder / "a.magres", {"O": [tensor(rng) for _ in range(4)]})
    return folder


@pytest.mark.parametrize("name", ["../escape", "/abs", "has space", ""])
def test_bad_version_names_are_refused(good: Path, tmp_path: Path, name: str) -> None:
    with pytest.raises(DataError, match="data-set name"):
        build_from_magres(good, tmp_path / "x.h5", name=name or " ")


def test_output_checked_before_reading(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "broken.magres").write_text("not magres\n")  # would fail if it were read first
    for out, words in [
        (tmp_path, "is a folder"),
        (tmp_path / "missing" / "x.h5", "does not exist"),
        (Path("/sys/ltoefg-test.h5"), "cannot write this output"),
    ]:
        assert main(["build", "--magres", str(folder), "--out", str(out), "--name", "x"]) == 2
        err = capsys.readouterr().err
        assert str(out) in err and words in err and "broken.magres" not in err, err
