"""The embedded point-charge releases (pcm-v2, the default, and legacy pcm-v1): counts,
frozen statistics, frozen splits, regeneration."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import ltoefg
from ltoefg import constants as C
from ltoefg.data import splits
from ltoefg.data.generate import pcm_arrays
from ltoefg.nmr import principal_axes

PCM_VERSIONS = ("pcm-v2", "pcm-v1")


@pytest.fixture(scope="module", params=PCM_VERSIONS)
def ds(request: pytest.FixtureRequest) -> ltoefg.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ltoefg.data.loader.SupersededWarning)
        return ltoefg.load(request.param)


def test_default_is_pcm_v2_offline_and_v1_says_it_is_superseded() -> None:
    assert C.DEFAULT_DATASET == "pcm-v2"
    assert ltoefg.load().name == "pcm-v2"
    with pytest.warns(ltoefg.data.loader.SupersededWarning, match="superseded by 'pcm-v2'"):
        old = ltoefg.load("pcm-v1")
    assert old.name == "pcm-v1" and old.n_sites == 68_880


def test_structure_split_is_shared_across_nuclei_in_v2_only() -> None:
    """Issue 9: v1 drew test structures per nucleus (254 of the 328 Li-test structures sat
    in the O training set); v2 shares one structure permutation across nuclei."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ltoefg.data.loader.SupersededWarning)
        v1 = ltoefg.load("pcm-v1")
    v2 = ltoefg.load("pcm-v2")

    def structures_of(d: ltoefg.Dataset, ids: np.ndarray) -> np.ndarray:
        return np.unique(d.site_structure[ids])

    li1, o1 = v1.split("structure", "Li"), v1.split("structure", "O")
    leak = np.intersect1d(structures_of(v1, li1.test), structures_of(v1, o1.train))
    assert structures_of(v1, li1.test).size == 328 and leak.size == 254
    ref = v2.split("structure", "Li")
    for nucleus in C.NUCLEI:
        sp = v2.split("structure", nucleus)
        np.testing.assert_array_equal(structures_of(v2, sp.test), structures_of(v2, ref.test))
        for (_, va), (_, va_ref) in zip(sp.folds, ref.folds, strict=True):
            np.testing.assert_array_equal(structures_of(v2, va), structures_of(v2, va_ref))
        for other in C.NUCLEI:
            train_other = v2.split("structure", other).train
            assert (
                np.intersect1d(structures_of(v2, sp.test), structures_of(v2, train_other)).size == 0
            )


def test_counts(ds: ltoefg.Dataset) -> None:
    assert ds.n_structures == 1640 and ds.n_sites == 68_880
    assert ds.counts() == {"Li": 13_120, "Ti": 16_400, "O": 39_360}
    wy = ds.sites.groupby(["species", "wyckoff"]).size().to_dict()
    assert wy == {
        ("Li", "8a"): 9840,
        ("Li", "16d"): 3280,
        ("Ti", "16d"): 16400,
        ("O", "32e"): 39360,
    }
    assert ds.label_method == "point-charge-ewald"
    assert "NOT DFT" in ds.label_description


def test_orderings_are_spread(ds: ltoefg.Dataset) -> None:
    counts = ds.structure_table["ordering"].value_counts().sort_index().tolist()
    assert counts == [274, 274, 273, 273, 273, 273]


def test_frozen_stats_equal_recomputed(ds: ltoefg.Dataset) -> None:
    vzz = np.abs(principal_axes(ds.efg).vzz)
    for nucleus in C.NUCLEI:
        mask = ds.species == nucleus
        mu, sigma = ds.stats(nucleus)
        assert mu == pytest.approx(vzz[mask].mean(), rel=1e-12)
        assert sigma == pytest.approx(vzz[mask].std(ddof=0), rel=1e-12)


def test_labels_are_traceless_and_symmetric(ds: ltoefg.Dataset) -> None:
    efg = ds.efg
    scale = np.abs(efg).max()
    assert np.abs(efg - np.swapaxes(efg, 1, 2)).max() <= 1e-12 * scale
    assert np.abs(np.trace(efg, axis1=1, axis2=2)).max() <= 1e-9 * scale


@pytest.mark.parametrize("kind", C.SPLITS)
@pytest.mark.parametrize("nucleus", C.NUCLEI)
def test_frozen_splits_regenerate_and_partition(
    ds: ltoefg.Dataset, kind: str, nucleus: str
) -> None:
    frozen = ds.split(kind, nucleus)
    again = ds.generate_split(kind, nucleus)
    np.testing.assert_array_equal(frozen.train, again.train)
    np.testing.assert_array_equal(frozen.test, again.test)
    ids = ds.site_ids(nucleus)
    assert np.intersect1d(frozen.train, frozen.test).size == 0
    np.testing.assert_array_equal(np.union1d(frozen.train, frozen.test), ids)
    assert len(frozen.folds) == C.N_FOLDS
    vals = np.concatenate([v for _, v in frozen.folds])
    np.testing.assert_array_equal(np.sort(vals), frozen.train)  # every train id exactly once
    for (tr, va), (tr2, va2) in zip(frozen.folds, again.folds, strict=True):
        np.testing.assert_array_equal(va, va2)
        np.testing.assert_array_equal(tr, tr2)
        np.testing.assert_array_equal(np.sort(np.concatenate([tr, va])), frozen.train)
    if kind == "random":
        assert frozen.test.size == round(0.2 * ids.size)
    structure = ds.site_structure
    if kind in ("structure", "ordering"):
        assert np.intersect1d(structure[frozen.train], structure[frozen.test]).size == 0
        for tr, va in frozen.folds:
            assert np.intersect1d(structure[tr], structure[va]).size == 0
    if kind == "ordering":
        held = ds.structure_table["ordering"].to_numpy()[structure[frozen.test]]
        assert set(held) == {splits.HELD_OUT_ORDERING}


def test_split_tuple_unpacks(ds: ltoefg.Dataset) -> None:
    train, test, folds = ds.split("random", "Li")
    assert train.dtype == np.int64 and (ds.species[test] == "Li").all()


def test_atoms_carry_efg(ds: ltoefg.Dataset) -> None:
    at = ds.atoms(100)
    assert len(at) == 42 and at.get_chemical_formula() == "Li8O24Ti10"
    np.testing.assert_array_equal(at.arrays["efg"], ds.efg[at.arrays["site_id"]])


def test_rebuilding_matches_registered_file_numerically(ds: ltoefg.Dataset) -> None:
    """Rebuild the release from scratch (~30 s) and compare every array to 1e-9 relative.

    Floating-point results may differ in the last bits between machines, so the
    rebuilt file is compared numerically, not by hash.
    """
    rebuilt = pcm_arrays(name=ds.name)
    np.testing.assert_array_equal(rebuilt.numbers, ds._data.numbers)
    np.testing.assert_allclose(rebuilt.positions, ds._data.positions, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rebuilt.cells, ds._data.cells, rtol=1e-9, atol=1e-12)
    scale = np.abs(ds.efg).max()
    np.testing.assert_allclose(rebuilt.efg, ds.efg, rtol=1e-9, atol=1e-9 * scale)


@pytest.mark.parametrize("target", ["missing-folder/x.h5", "."])
def test_generate_refuses_a_bad_output_before_any_work(
    tmp_path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    """`ltoefg generate` checks its output first (one sentence, exit 2, nothing written)."""
    import time

    from ltoefg.cli import main

    t0 = time.perf_counter()
    status = main(["generate", "--out", str(tmp_path / target)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "error:" in err
    assert time.perf_counter() - t0 < 5  # refused before the ~30 s of generation
    assert list(tmp_path.iterdir()) == []
