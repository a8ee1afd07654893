"""Optional entry fields (SPEC §8 v2), overall score, `ltoefg leaderboard show` (issue 12)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from test_leaderboard import _as_observables, _as_v1, _entry, _table_rows_consistent, report, root  # noqa: F401

from ltoefg import constants as C
from ltoefg import leaderboard as L
from ltoefg.cli import main
from ltoefg.leaderboard import fields as F
from ltoefg.leaderboard import render as R
from ltoefg.leaderboard.show import display_width, render_show

REPO = Path(__file__).resolve().parents[1]


def _scored(report: dict, scores: dict[str, float], cq: float = 0.1) -> dict:  # noqa: F811
    """The fixture report with given per-nucleus scores (and MAE C̃Q)."""
    rep = copy.deepcopy(report)
    for nucleus, r in rep[C.RT_NUCLEI].items():
        r[C.R_SCORE] = scores[nucleus]
        r[C.R_MAE_CQ_TILDE] = cq
    rep[C.RT_SCORE] = sum(scores.values()) / len(scores)
    return rep


def _observables(report: dict, cq: float) -> dict:  # noqa: F811
    rep = _as_observables(report)
    for r in rep[C.RT_NUCLEI].values():
        r[C.R_MAE_CQ_TILDE] = cq
    return rep


#: Per-fold scores of a 5-fold run: Li mean 0.03 (std √0.00001), Ti 0.02, O constant 0.01.
FOLDS = {
    "Li": [0.025, 0.035, 0.03, 0.03, 0.03],
    "Ti": [0.02, 0.02, 0.02, 0.02, 0.02],
    "O": [0.01, 0.01, 0.01, 0.01, 0.01],
}


def _runs() -> tuple[int, dict]:
    per = {
        n: [{C.R_SCORE: s, C.R_MAE_CQ_TILDE: 2 * s} for s in scores] for n, scores in FOLDS.items()
    }
    return F.make_runs(per, protocol="5-fold CV on the frozen folds, 100 training sites")


def _full_entry(report: dict, model: str = "full model") -> dict:  # noqa: F811
    n_runs, runs = _runs()
    return _entry(
        _scored(report, {"Li": 0.03, "Ti": 0.02, "O": 0.01}),
        model,
        code_url="https://example.org/code?x=1&y=2",
        description="A test model | with a pipe and <b>tag</b>",
        n_parameters={"Li": 4000, "Ti": 4000, "O": 36},
        runs=runs,
        n_runs=n_runs,
    )


# ------------------------------------------------------------------ optional fields
def test_spread_is_mean_and_population_std() -> None:
    n_runs, runs = _runs()
    assert n_runs == 5 and runs[C.RUNS_OVER] == "folds"
    li = runs[C.RUNS_NUCLEI]["Li"]
    assert li[C.RUNS_MEAN][C.R_SCORE] == pytest.approx(0.03)
    assert li[C.RUNS_STD][C.R_SCORE] == pytest.approx((0.00005 / 5) ** 0.5)  # ddof = 0
    assert runs[C.RUNS_NUCLEI]["O"][C.RUNS_STD][C.R_SCORE] == pytest.approx(0.0)
    # overall per run = mean over nuclei of fold k: 0.055/3, 0.065/3, 0.06/3 (×3)
    mean, std = F.overall_runs(runs)
    assert mean == pytest.approx(0.02)
    assert std == pytest.approx(((2 * (0.005 / 3) ** 2) / 5) ** 0.5)
    runs = [{C.R_SCORE: None, C.R_MAE_CQ_TILDE: 1.0}, {C.R_SCORE: None, C.R_MAE_CQ_TILDE: 3}]
    nulls = F.spread(runs)
    assert nulls[C.RUNS_MEAN] == {C.R_SCORE: None, C.R_MAE_CQ_TILDE: 2.0}
    assert nulls[C.RUNS_STD] == {C.R_SCORE: None, C.R_MAE_CQ_TILDE: 1.0}


def test_entries_without_the_new_fields_stay_valid(root: Path, report: dict) -> None:  # noqa: F811
    old = _entry(report, "old style")
    assert not set(F.OPTIONAL_FIELDS) & set(old)
    L.write_entry(root, old)
    L.write_entry(root, _full_entry(report))
    entries = {e.key[2]: e for e in L.load_entries(root)}
    assert set(entries) == {"old style", "full model"}
    assert R.code_link(entries["old style"]) == "—"
    assert R.parameters_text(entries["old style"]) == "—"
    # every committed entry (some being written by long runs in the current schema) loads
    assert L.load_entries(REPO)


BAD_FIELDS = [
    ({"code_url": "javascript:alert(1)"}, "http:// or https:// URL"),
    ({"code_url": "file:///etc/passwd"}, "http:// or https:// URL"),
    ({"code_url": "/etc/passwd"}, "relative path"),
    ({"code_url": "../secrets.py"}, "no '..'"),
    ({"code_url": "https://x.org/a b"}, "not a plain http(s) URL"),
    ({"code_url": "https://x.org/a)|b"}, "not a plain http(s) URL"),
    ({"code_url": 7}, "must be a string"),
    ({"description": "two\nlines"}, "U+000A"),
    ({"description": "x" * 501}, "more than 500"),
    ({"n_parameters": 0}, "integer in [1, 1000000000000]"),
    ({"n_parameters": 1.5}, "integer in [1, 1000000000000]"),
    ({"n_parameters": True}, "integer in [1, 1000000000000]"),
    ({"n_parameters": {"Li": 3}}, "exactly the report's nuclei"),
    ({"n_parameters": {"Li": 3, "Ti": 3, "O": -3}}, "for O must be an integer"),
]


@pytest.mark.parametrize(("fields", "words"), BAD_FIELDS)
def test_bad_optional_fields_are_refused(
    root: Path,  # noqa: F811
    report: dict,  # noqa: F811
    fields: dict,
    words: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    entry = _entry(report)
    entry.update(fields)
    path = root / L.ENTRIES_DIR / "bad.json"
    path.write_text(json.dumps(entry))
    assert main(["leaderboard", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and words in err and len(err.strip().splitlines()) == 1, err


def _break(runs_change):  # type: ignore[no-untyped-def]
    def change(entry: dict) -> None:
        runs_change(entry[C.LB_RUNS]["nuclei"]["Li"], entry)

    return change


BAD_RUNS = [
    (lambda e: e.pop(C.LB_N_RUNS), "come together"),
    (lambda e: e.pop(C.LB_RUNS), "come together"),
    (lambda e: e.update(n_runs=1), "integer in [2, 10000]"),
    (lambda e: e[C.LB_RUNS].update(over="epochs"), "runs.over must be one of folds, seeds"),
    (lambda e: e[C.LB_RUNS]["nuclei"].update(Xe={}), "not a nucleus of the report"),
    (_break(lambda s, e: s["std"].update(score=-0.1)), "std of score must be a number ≥ 0"),
    (_break(lambda s, e: s["mean"].update(score=0.5)), "per_run averages"),
    (_break(lambda s, e: s["std"].update(score=0.5)), "population standard deviation"),
    (_break(lambda s, e: s["per_run"].pop()), "list of n_runs = 5"),
    (
        _break(lambda s, e: (s["mean"].update(n=5), s["std"].update(n=0))),
        "'n' is not a per-nucleus report key",
    ),
    (_break(lambda s, e: s["mean"].update(n=5)), "'mean' and 'std' must hold the same keys"),
    (_break(lambda s, e: s["mean"].update(mae_cq_tilde=-1)), "must not be negative"),
    (_break(lambda s, e: s["per_run"][0].update(score=None)), "null in a run"),
]


@pytest.mark.parametrize(("change", "words"), BAD_RUNS)
def test_bad_run_spreads_are_refused(
    root: Path,  # noqa: F811
    report: dict,  # noqa: F811
    change: object,
    words: str,
) -> None:
    entry = _full_entry(report)
    change(entry)  # type: ignore[operator]
    (root / L.ENTRIES_DIR / "bad.json").write_text(json.dumps(entry))
    with pytest.raises(L.EntryError, match="bad.json") as info:
        L.load_entries(root)
    assert words in str(info.value)


# ------------------------------------------------------------------------ rendering
def test_rendered_tables_show_overall_spread_parameters_code(
    root: Path,  # noqa: F811
    report: dict,  # noqa: F811
) -> None:
    L.write_entry(root, _full_entry(report))
    L.write_entry(root, _entry(_scored(report, {"Li": 0.3, "Ti": 0.2, "O": 0.1}), "plain"))
    assert main(["leaderboard", "--root", str(root)]) == 0
    text = (root / L.LEADERBOARD_README).read_text()
    _table_rows_consistent(text)
    rows = [line for line in text.splitlines() if line.startswith("| full model | tensor |")]
    models_row = rows[0]  # the models table comes first
    assert "| 0.02 | 0.02 ± 0.0011 (5 folds) | Li 4,000 · Ti 4,000 · O 36 |" in models_row
    assert "[code](https://example.org/code?x=1&amp;y=2)" in models_row
    assert "A test model \\| with a pipe and &lt;b&gt;tag&lt;/b&gt;" in models_row
    li = text.split("#### Li")[1].split("####")[0]
    li_row = next(line for line in li.splitlines() if line.startswith("| full model |"))
    assert "| 0.03 | 0.02 | 0.03 ± 0.0032 / 0.06 ± 0.0063 (5 folds) | 4,000 |" in li_row
    assert li.index("| full model |") < li.index("| plain |")
    readme = (root / "README.md").read_text()
    assert "| full model | 0.1 |" in readme  # MAE C̃Q
    assert "| 0.03 | 0.02 |" in readme  # Li score, then the overall score 0.02
    assert "| plain |" in readme and "| 0.3 | 0.2 |" in readme


def test_repository_code_paths_link_into_the_checkout(
    root: Path,  # noqa: F811
    report: dict,  # noqa: F811
) -> None:
    L.write_entry(root, _entry(report, "ridge", code_url="baselines/models/pair_ridge.py"))
    text = L.render_files(root).files[root / L.LEADERBOARD_README]
    assert "[baselines/models/pair\\_ridge.py](../baselines/models/pair_ridge.py)" in text


# ----------------------------------------------------------------------------- show
def test_show_sorts_by_overall_and_lists_observables_below(
    root: Path,  # noqa: F811
    report: dict,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    L.write_entry(root, _entry(_scored(report, {"Li": 0.3, "Ti": 0.2, "O": 0.1}), "worse"))
    L.write_entry(root, _full_entry(report, "better"))
    L.write_entry(root, _entry(_observables(report, 0.5), "scalar B"))
    L.write_entry(root, _entry(_observables(report, 0.25), "scalar A"))
    L.write_entry(root, _entry(_as_v1(report), "old one"))
    assert main(["leaderboard", "show", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    better = next(i for i, x in enumerate(lines) if " better " in x)
    worse = next(i for i, x in enumerate(lines) if " worse " in x)
    obs = next(i for i, x in enumerate(lines) if x.startswith("Observables only"))
    a = next(i for i, x in enumerate(lines) if " scalar A " in x)
    b = next(i for i, x in enumerate(lines) if " scalar B " in x)
    assert better < worse < obs < a < b
    assert lines[better].split()[:3] == ["1", "better", "0.02"]
    assert "0.02 ± 0.0011 (5 folds)" in lines[better] and lines[better].endswith("8,036")
    assert lines[worse].split()[:6] == ["2", "worse", "0.2", "0.3", "0.2", "0.1"]
    assert lines[a].split()[:7] == ["-", "scalar", "A", "0.25", "0.25", "0.25", "0.25"]
    assert " 0 " not in lines[a] + lines[b]  # no score of zero for observables-only entries
    assert "old one" not in out and "1 legacy (report version 1) entries not shown" in out
    about = out.split("About the models:")[1].splitlines()
    i = about.index("  better")
    assert about[i + 1] == "    A test model | with a pipe and <b>tag</b>"
    assert about[i + 2] == "    code: https://example.org/code?x=1&y=2"
    # fixed width: the columns of the header and every row of a table line up
    table = lines[better - 2 : worse + 1]
    assert len({display_width(x.rstrip()) for x in table[:2]}) == 1
    assert main(["leaderboard", "show", "--root", str(root), "--legacy"]) == 0
    legacy = capsys.readouterr().out
    assert "old one" in legacy and "LEGACY, report version 1" in legacy


def test_show_nucleus_detail_and_filters(
    root: Path,  # noqa: F811
    report: dict,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    L.write_entry(root, _full_entry(report, "better"))
    L.write_entry(root, _entry(_observables(report, 0.25), "scalar A"))
    assert main(["leaderboard", "show", "--root", str(root), "--nucleus", "Li"]) == 0
    out = capsys.readouterr().out
    assert "pcm-v1, split random, nucleus Li — point-charge labels, not DFT" in out
    row = next(x for x in out.splitlines() if " better " in x)
    assert row.split()[:7] == ["1", "better", "0.03", "0.03", "±", "0.0032", "(5"]
    assert row.rstrip().endswith("4,000")
    obs = next(x for x in out.splitlines() if " scalar A " in x)
    assert obs.split()[:4] == ["-", "scalar", "A", "—"]
    # filters that match nothing: one sentence naming what is on the board, exit 2
    assert main(["leaderboard", "show", "--root", str(root), "--dataset", "pcm-v9"]) == 2
    err = capsys.readouterr().err
    assert "no leaderboard entry matches --dataset pcm-v9; on the board: pcm-v1 random." in err
    assert main(["leaderboard", "show", "--root", str(root), "--split", "ordering"]) == 2
    with pytest.raises(Exception, match="no leaderboard entry matches"):
        render_show(L.load_entries(root), split="structure")


def test_show_without_leaderboard_folder(tmp_path: Path, capsys) -> None:
    assert main(["leaderboard", "show", "--root", str(tmp_path)]) == 2
    assert "no leaderboard folder here" in capsys.readouterr().err


def test_show_of_the_committed_board(capsys: pytest.CaptureFixture[str]) -> None:
    """The repository's own board: pcm-v2 models ranked, scalar SOAP GPR below them."""
    assert main(["leaderboard", "show", "--root", str(REPO), "--split", "random"]) == 0
    out = capsys.readouterr().out
    assert "pcm-v2, split random — point-charge labels, not DFT" in out
    assert out.index("λ-SOAP SA-GPR (quick)") < out.index("Observables only")
    assert out.index("Observables only") < out.index("scalar SOAP GPR (quick)")
