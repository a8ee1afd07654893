"""The transfer baseline (baselines/runs/transfer.py): trained on pcm-v2, scored on other labels.

The target here is a small file of six pcm-v2 structures whose labels are the
pcm-v2 labels scaled by 3 (a stand-in for DFT labels of the same structures):
the site mapping and the exclusion of the target's structures have known
answers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ltoefg
from baselines.cli import CommandError
from baselines.runs.transfer import source_ids_of, training_ids
from ltoefg import constants as C
from ltoefg.data import h5format

#: pcm-v2 structures of the stand-in target (one per ordering and then some).
TARGET_IDS = [3, 300, 600, 900, 1200, 1500]
SCALE = 3.0


def _target(tmp_path: Path, source_dataset: str = "pcm-v2") -> Path:
    src = ltoefg.load("pcm-v2")
    frames = [src.atoms(i) for i in TARGET_IDS]
    rows = np.concatenate([np.flatnonzero(src.site_structure == i) for i in TARGET_IDS])
    data = h5format.from_structures(
        "transfer-test",
        "test-scaled-pcm",
        "pcm-v2 labels x 3 of six structures (test stand-in for DFT labels)",
        frames,
        SCALE * src.efg[rows],
        src.structure_table.iloc[TARGET_IDS].reset_index(drop=True),
        {"source_dataset": source_dataset},
    )
    return h5format.write(tmp_path / "target.h5", data)


def test_training_sites_exclude_every_target_structure(tmp_path: Path) -> None:
    src = ltoefg.load("pcm-v2")
    target = ltoefg.load(_target(tmp_path))
    excluded = source_ids_of(target, "pcm-v2")
    assert excluded.tolist() == TARGET_IDS
    for nucleus in C.NUCLEI:
        ids = training_ids(src, nucleus, excluded)
        assert not np.isin(src.site_structure[ids], TARGET_IDS).any()
        per_structure = src.site_ids(nucleus).size // src.n_structures
        assert ids.size == (src.n_structures - len(TARGET_IDS)) * per_structure


def test_target_of_another_source_is_refused(tmp_path: Path) -> None:
    target = ltoefg.load(_target(tmp_path, source_dataset="pcm-v1"))
    with pytest.raises(CommandError, match="not pcm-v2 structures"):
        source_ids_of(target, "pcm-v2")


def test_transfer_predicts_the_target_sites_it_names(tmp_path: Path) -> None:
    """Predictions at target sites equal the saved model's at the same source atoms."""
    pytest.importorskip("featomic", reason="featomic (extra 'baselines') is not installed")
    from baselines.models.soap import load_model
    from baselines.runs.transfer import run_transfer
    from ltoefg import metrics
    from ltoefg.evaluation import submission as S

    path = _target(tmp_path)
    report, entry = run_transfer(
        "pcm-v2",
        path,
        "random",
        ("Li",),
        tmp_path / "out",
        n_train=60,
        n_active=20,
        log=lambda s: None,
    )
    assert entry[C.LB_N_TRAIN]["Li"] == 60
    assert entry[C.LB_N_RUNS] == C.N_FOLDS
    sub = S.read(tmp_path / "out" / "predictions-transfer.h5")
    target = ltoefg.load(path)
    site_ids = sub.groups["Li"][C.PRED_SITE_ID]
    pred = sub.groups["Li"][C.PRED_EFG]
    assert np.array_equal(site_ids, target.split("random", "Li").test)
    src = ltoefg.load("pcm-v2")
    structure = TARGET_IDS_ARRAY[target.site_structure[site_ids]]
    atom = target.sites[C.COL_ATOM_INDEX].to_numpy()[site_ids]
    model = load_model(tmp_path / "out" / "model-transfer-Li.npz")
    again = model.predict(src.structures(), np.stack([structure, atom], axis=1))
    np.testing.assert_allclose(pred, again, atol=1e-10)
    # the scores are against the target labels: 3 x the source labels of the same atoms
    source_rows = np.array(
        [np.flatnonzero(src.site_structure == s)[a] for s, a in zip(structure, atom, strict=True)]
    )
    mu, sigma = target.stats("Li")
    expected = metrics.report(SCALE * src.efg[source_rows], pred, "Li", mu, sigma)
    assert report[C.RT_NUCLEI]["Li"][C.R_MAE_VIJ] == pytest.approx(expected[C.R_MAE_VIJ])


TARGET_IDS_ARRAY = np.array(TARGET_IDS)


@pytest.mark.parametrize(
    "content",
    ["not json", '{"hyperparameters": [1, 2]}', '{"hyperparameters": {"Ti": {"hypers": {}}}}'],
)
def test_a_bad_hypers_entry_gets_one_sentence_and_status_2(tmp_path: Path, capsys, content) -> None:
    from baselines import cli

    entry = tmp_path / "entry.json"
    entry.write_text(content)
    out = tmp_path / "out"
    argv = ["transfer", "--hypers-from", str(entry), "--nuclei", "Li", "--out", str(out)]
    assert cli.main([*argv, "--no-entries"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("baselines transfer: error:") and str(entry) in err
    assert len(err.splitlines()) == 1
    assert not out.exists()
