"""`ltoefg evaluate --plots` figures (issue 12): count axes, raw and reassigned angles,
the ±10 kHz ωQ zoom, and the label banner on every figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_evaluate import build_dataset_file, perfect

import ltoefg
from ltoefg import constants as C
from ltoefg.evaluation import submission as S
from ltoefg.evaluation.score import run

pytest.importorskip("matplotlib")

from ltoefg.evaluation import plots  # noqa: E402


@pytest.fixture(scope="module")
def ds_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_dataset_file(tmp_path_factory.mktemp("plotds") / "synthetic.h5", n_structures=24)


@pytest.fixture(scope="module")
def evaluation(tmp_path_factory: pytest.TempPathFactory, ds_path: Path):  # type: ignore[no-untyped-def]
    ds = ltoefg.load(ds_path)
    sub = perfect(ds)
    rng = np.random.default_rng(3)
    for nucleus in C.NUCLEI:
        efg = sub[nucleus]["efg"]
        sub[nucleus]["efg"] = efg + 0.3 * np.abs(efg).mean() * rng.normal(size=efg.shape)
    path = S.write(tmp_path_factory.mktemp("plotsub") / "noisy.h5", sub)
    return run(path, dataset=ds)


def test_panels_are_the_reported_observables(evaluation) -> None:  # type: ignore[no-untyped-def]
    for nucleus in C.NUCLEI:
        rep = evaluation.report[C.RT_NUCLEI][nucleus]
        cols = {p.key: p for p in plots.panels(evaluation, nucleus)}
        assert list(cols) == [
            "cq_tilde",
            "eta_tilde",
            "theta",
            "theta_reassigned",
            "phi",
            "phi_reassigned",
            "omega_q_khz",
        ]
        # each panel's mean error is the report's MAE: the reassigned panels plot the
        # relabelled predictions of the report, not the raw ones again
        expect = {
            "cq_tilde": C.R_MAE_CQ_TILDE,
            "eta_tilde": C.R_MAE_ETA_TILDE,
            "theta": C.R_MAE_THETA_DEG,
            "theta_reassigned": C.R_MAE_THETA_DEG_REASSIGNED,
            "phi": C.R_MAE_PHI_DEG,
            "phi_reassigned": C.R_MAE_PHI_DEG_REASSIGNED,
            "omega_q_khz": C.R_MAE_OMEGA_Q_KHZ,
        }
        for key, report_key in expect.items():
            assert cols[key].errors().mean() == pytest.approx(rep[report_key], rel=1e-9), key
        assert rep[C.R_MAE_THETA_DEG_REASSIGNED] < rep[C.R_MAE_THETA_DEG]  # they differ


def test_observables_submissions_have_no_reassigned_panels(ds_path: Path) -> None:
    ds = ltoefg.load(ds_path)
    sub = dict(perfect(ds))
    sub["kind"] = C.KIND_OBSERVABLES
    for nucleus in C.NUCLEI:
        ids = sub[nucleus]["site_id"]
        mu, sigma = ds.stats(nucleus)
        obs = ltoefg.nmr.observable_arrays(ds.efg[ids], nucleus, mu, sigma)
        keys = (C.OBS_CQ_TILDE, C.OBS_ETA_TILDE, C.OBS_THETA, C.OBS_PHI)
        sub[nucleus] = {"site_id": ids, **{k: obs[k] for k in keys}}
    evaluation = run(sub, dataset=ds)
    keys = [p.key for p in plots.panels(evaluation, "Li")]
    assert keys == ["cq_tilde", "eta_tilde", "theta", "phi", "omega_q_khz"]


def test_figure_counts_zoom_and_banner(evaluation) -> None:  # type: ignore[no-untyped-def]
    nucleus = "Ti"
    cols = plots.panels(evaluation, nucleus)
    fig = plots.figure_for_nucleus(
        nucleus, cols, "title", plots.banner_text("point-charge-ewald", "pcm-v2"), dft=False
    )
    axes = np.array(fig.axes).reshape(2, len(cols) + 1)
    n = evaluation.report[C.RT_NUCLEI][nucleus][C.R_N]
    for top in axes[0]:
        assert top.get_ylabel() == "count" and len(top.get_yticks()) > 1
    # the reference histogram of C̃Q holds every site once: bar heights are counts
    first = axes[0, 0]
    n_bars = len(first.patches) // 2
    assert sum(p.get_height() for p in first.patches[:n_bars]) == n
    # the zoom column: ΔωQ within ±50 kHz around the ±10 kHz band, its share stated
    zoom_top, zoom = axes[0, -1], axes[1, -1]
    assert zoom.get_ylim() == (-50.0, 50.0) and zoom_top.get_xlim() == (-50.0, 50.0)
    within = 100 * evaluation.report[C.RT_NUCLEI][nucleus][C.R_FRAC_OMEGA_Q_WITHIN]
    assert f"{within:.1f} % within ±10 kHz" in zoom_top.get_title()
    band = [p for p in zoom.patches if p.get_label() == "±10 kHz"][0]
    ys = band.get_path().transformed(band.get_patch_transform()).vertices[:, 1]
    assert (ys.min(), ys.max()) == (-10.0, 10.0)
    texts = [t.get_text() for t in fig.texts]
    assert "pcm-v2: point-charge labels, not DFT" in texts and "title" in texts


def test_banner_names_the_labels() -> None:
    pcm = plots.banner_text("point-charge-ewald", "pcm-v2")
    assert pcm == "pcm-v2: point-charge labels, not DFT"
    assert plots.banner_text("dft-castep-gipaw", "dft-x") == "dft-x: DFT labels"


def test_every_written_figure_has_a_banner(
    tmp_path: Path, evaluation, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    banners: list[str] = []
    original = plots.figure_for_nucleus

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        fig = original(*args, **kwargs)
        banners.append(fig.texts[0].get_text())
        return fig

    monkeypatch.setattr(plots, "figure_for_nucleus", spy)
    written = plots.write_plots(evaluation, tmp_path / "plots")
    assert [p.name for p in written] == [f"synthetic-eval_random_{n}.png" for n in C.NUCLEI]
    method = evaluation.report[C.RT_LABEL_METHOD]
    assert banners == [f"synthetic-eval: {method} labels, not DFT"] * 3
