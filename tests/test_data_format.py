"""The HDF5 data-set format, the magres importer and the loader on small files."""

from __future__ import annotations

from pathlib import Path

import ase.io
import h5py
import numpy as np
import pytest
from ase.build import bulk

from ltoefg import load
from ltoefg.cli import main
from ltoefg.constants import EFG_AU_IN_V_PER_A2
from ltoefg.data import h5format
from ltoefg.data.magres import MagresError, read_magres
from ltoefg.errors import DataError
from ltoefg.nmr import principal_axes


def small_dataset(rng: np.random.Generator) -> h5format.DatasetArrays:
    frames = []
    for k in range(3):
        at = bulk("Li2O", "fluorite", a=4.6 + 0.1 * k).repeat((1, 1, 2))
        at.rattle(0.05, seed=k)
        frames.append(at)
    n = sum(len(a) for a in frames)
    efg = rng.normal(size=(n, 3, 3))
    import pandas as pd

    table = pd.DataFrame({"ordering": [0, 1, 2], "scale": [1.0, 1.01, 0.99]})
    return h5format.from_structures(
        "tiny", "test", "synthetic labels", frames, efg, table, {"k": 1}
    )


def test_round_trip_and_stats(tmp_path: Path, rng: np.random.Generator) -> None:
    data = small_dataset(rng)
    path = h5format.write(tmp_path / "tiny.h5", data)
    back = h5format.read(path)
    for name in ("offsets", "cells", "pbc", "numbers", "positions", "efg"):
        np.testing.assert_array_equal(getattr(back, name), getattr(data, name), err_msg=name)
    assert back.name == "tiny" and back.generator_parameters == {"k": 1}
    assert list(back.structure_table.columns) == ["ordering", "scale"]
    vzz = np.abs(principal_axes(data.efg).vzz)
    li = data.numbers == 3
    assert back.stats["Li"]["mu"] == pytest.approx(vzz[li].mean())
    assert back.stats["Li"]["sigma"] == pytest.approx(vzz[li].std(ddof=0))
    assert back.stats["O"]["n"] == int((data.numbers == 8).sum())
    with h5py.File(path) as f:
        assert f["sites/efg"].compression == "gzip"
        assert f.attrs["units"].decode() == "V/Angstrom^2"


def test_loader_on_local_file(tmp_path: Path, rng: np.random.Generator) -> None:
    data = small_dataset(rng)
    path = h5format.write(tmp_path / "tiny.h5", data)
    ds = load(path)
    assert ds.n_structures == 3 and ds.n_sites == data.n_sites
    assert list(ds.sites.columns) == ["site_id", "structure", "atom_index", "species", "wyckoff"]
    at = ds.atoms(1)
    lo = data.offsets[1]
    np.testing.assert_array_equal(at.arrays["efg"], data.efg[lo : lo + len(at)])
    np.testing.assert_array_equal(at.arrays["site_id"], np.arange(lo, lo + len(at)))
    np.testing.assert_array_equal(ds.efg[at.arrays["site_id"]], at.arrays["efg"])
    assert at.info["ordering"] == 1
    assert ds.sites.loc[lo + 2, "atom_index"] == 2 and ds.sites.loc[lo + 2, "structure"] == 1
    with pytest.raises(DataError, match="no structure 7"):
        ds.atoms(7)
    mu, sigma = ds.stats("O")
    assert mu > 0 and sigma > 0


def test_unknown_format_version_is_refused(tmp_path: Path, rng: np.random.Generator) -> None:
    path = h5format.write(tmp_path / "tiny.h5", small_dataset(rng))
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = 99
    with pytest.raises(DataError, match="format version 99 is not supported"):
        h5format.read(path)


@pytest.mark.parametrize(
    "content", [b"", b"not an hdf5 file at all", b"\x89HDF\r\n\x1a\n" + b"\0" * 50]
)
def test_not_a_dataset_file_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.h5"
    path.write_bytes(content)
    with pytest.raises(DataError, match="not a readable ltoefg data-set file"):
        h5format.read(path)


def test_write_is_atomic_on_failure(tmp_path: Path, rng: np.random.Generator) -> None:
    data = small_dataset(rng)
    data.efg = data.efg[:-1]  # wrong shape makes the writer fail after opening
    with pytest.raises(Exception):  # noqa: B017
        h5format.write(tmp_path / "tiny.h5", data)
    assert list(tmp_path.iterdir()) == []


def test_magres_tensors_equal_ase_after_unit_conversion(magres_dir: Path) -> None:
    for path in sorted(magres_dir.glob("*.magres")):
        atoms, efg = read_magres(path)
        raw = ase.io.read(path)
        np.testing.assert_allclose(efg, raw.arrays["efg"] * EFG_AU_IN_V_PER_A2, rtol=1e-15, atol=0)
        assert "efg" not in atoms.arrays
        assert len(atoms) == len(raw)


def test_build_from_magres_round_trip(tmp_path: Path, magres_dir: Path, capsys) -> None:
    out = tmp_path / "dft.h5"
    assert (
        main(["build", "--magres", str(magres_dir), "--out", str(out), "--name", "fixtures"]) == 0
    )
    ds = load(out)
    files = sorted(magres_dir.glob("*.magres"))
    expected = np.concatenate([read_magres(p)[1] for p in files])
    np.testing.assert_array_equal(ds.efg, expected)
    assert ds.name == "fixtures" and ds.label_method == "dft-castep-gipaw"
    assert ds.n_structures == len(files)
    assert ds.counts()["O"] == sum(
        int((np.array(read_magres(p)[0].get_chemical_symbols()) == "O").sum()) for p in files
    )


def test_bad_magres_input(tmp_path: Path, capsys) -> None:
    (tmp_path / "broken.magres").write_text("this is not magres\n")
    with pytest.raises(MagresError, match="broken.magres"):
        read_magres(tmp_path / "broken.magres")
    assert main(["build", "--magres", str(tmp_path), "--out", str(tmp_path / "x.h5")]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["build", "--magres", str(empty), "--out", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "no .magres files" in err and "Traceback" not in err
    assert not (tmp_path / "x.h5").exists()
