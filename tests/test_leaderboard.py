"""Leaderboard entries, their schema, and the rendered tables (SPEC §8)."""

from __future__ import annotations

import copy
import json
import re
import shutil
from pathlib import Path

import pytest
from test_evaluate import build_dataset_file, perfect

import ltoefg
from ltoefg import constants as C
from ltoefg import leaderboard as L
from ltoefg.cli import main
from ltoefg.errors import LtoefgError
from ltoefg.leaderboard import render as R

REPO = Path(__file__).resolve().parents[1]


def test_committed_leaderboard_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    """leaderboard/README.md and the README results table are what `ltoefg leaderboard` renders."""
    rendered = L.render_files(REPO)
    lb = REPO / L.LEADERBOARD_README
    assert lb.is_file() and lb.read_text(encoding="utf-8") == rendered.files[lb], (
        "leaderboard/README.md is stale: run `ltoefg leaderboard` and commit it"
    )
    assert main(["leaderboard", "--check", "--root", str(REPO)]) == 0, capsys.readouterr().err


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = build_dataset_file(tmp_path_factory.mktemp("lbds") / "synthetic.h5", n_structures=12)
    ds = ltoefg.load(path)
    rep = ltoefg.evaluate(perfect(ds), dataset=ds)
    # present it as a pcm-v1 result (what the baselines will commit)
    rep[C.RT_DATASET] = "pcm-v1"
    rep[C.RT_LABEL_METHOD] = "point-charge-ewald"
    return rep


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A checkout-like folder: leaderboard/ (with the paper reference) and a README with markers."""
    (tmp_path / "leaderboard" / "entries").mkdir(parents=True)
    shutil.copytree(REPO / L.REFERENCE_DIR, tmp_path / L.REFERENCE_DIR)
    (tmp_path / "README.md").write_text(
        f"# title\n\nintro\n\n## Results\n\n{C.LB_RESULTS_START}\nold\n{C.LB_RESULTS_END}\n\ntail\n"
    )
    return tmp_path


def _entry(report: dict, model: str = "oracle", **over: object) -> dict:
    rep = copy.deepcopy(report)
    rep[C.RT_MODEL] = model
    meta = {
        "code_version": "ltoefg 0.1.0",
        "hyperparameters": {"sigma": 0.1},
        "n_train": {n: 100 for n in C.NUCLEI},
        "train_wall_time_s": 12.5,
        "predict_wall_time_s": 0.4,
        "machine": "test machine, 2 cores",
    }
    meta.update(over)
    return L.make_entry(rep, **meta)


def test_empty_state(root: Path) -> None:
    rendered = L.render_files(root)
    text = rendered.files[root / L.LEADERBOARD_README]
    assert "No report-version-2 entries yet" in text
    assert "paper, DFT labels — not comparable number-for-number with pcm results" in text
    assert "| λ-SOAP SA-GPR | tensor | 0.06 (r 1.00) | 0.04 (r 0.98) | 8.6 (r 0.82)" in text
    assert "| 3.4 / 2.9 | 4.7 |" in text
    assert "&gt; 10 (not stated exactly)" in text  # escaped for HTML, shows as "> 10"
    readme = rendered.files[root / "README.md"]
    assert "No report-version-2 results yet" in readme
    assert "Legacy" not in readme and "Legacy" not in text
    assert readme.startswith("# title\n\nintro\n\n## Results\n\n") and readme.endswith("\n\ntail\n")


def test_entries_render_with_labels_and_separate_reference(root: Path, report: dict) -> None:
    L.write_entry(root, _entry(report, "model A"))
    worse = copy.deepcopy(report)
    for r in worse[C.RT_NUCLEI].values():
        r[C.R_SCORE] = 0.5
    L.write_entry(root, _entry(worse, "model B"))
    assert main(["leaderboard", "--check", "--root", str(root)]) == 1
    assert main(["leaderboard", "--root", str(root)]) == 0
    assert main(["leaderboard", "--check", "--root", str(root)]) == 0
    text = (root / L.LEADERBOARD_README).read_text()
    assert "### `pcm-v1`, split `random`" in text
    assert "**Labels: point-charge labels, not DFT**" in text
    li = text.split("#### Li")[1].split("####")[0]
    assert li.index("| model A |") < li.index("| model B |")  # sorted by score
    # measured rows never appear in the reference tables and vice versa
    measured, reference = text.split("## Reference:")
    assert "model A" not in reference and "λ-SOAP SA-GPR" not in measured
    readme = (root / "README.md").read_text()
    assert "| `pcm-v1` (point-charge labels, not DFT) | random | Li | model A |" in readme
    assert readme.endswith(f"{C.LB_RESULTS_END}\n\ntail\n") and "old" not in readme


def test_readme_without_markers_is_left_alone(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (root / "README.md").write_text("# no markers\n")
    assert main(["leaderboard", "--root", str(root)]) == 0
    assert (root / "README.md").read_text() == "# no markers\n"
    assert "lacks the markers" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda e: e.pop("machine"), "lacks the field 'machine'"),
        (lambda e: e.update(train_wall_time_s="fast"), "'train_wall_time_s' has the wrong type"),
        (lambda e: e.update(predict_wall_time_s=-1.0), "number of seconds ≥ 0"),
        (lambda e: e.update(model="other"), "differs from the report's"),
        (lambda e: e.update(schema="v0"), "schema"),
        (lambda e: e.update(colour="red"), "unknown field 'colour'"),
        (lambda e: e["n_train"].pop("Ti"), "n_train has no non-negative integer for Ti"),
        (lambda e: e["report"]["nuclei"]["Li"].pop("mae_cq_tilde"), "lacks 'mae_cq_tilde'"),
        (lambda e: e["report"].update(kind="vector"), "report kind 'vector'"),
        (lambda e: e["report"]["nuclei"]["O"].update(score="low"), "O.score must be a number"),
    ],
)
def test_bad_entry_names_the_file(
    root: Path, report: dict, change: object, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    entry = _entry(report)
    change(entry)  # type: ignore[operator]
    path = root / L.ENTRIES_DIR / "bad.json"
    path.write_text(json.dumps(entry))
    with pytest.raises(L.EntryError, match="bad.json"):
        L.load_entries(root)
    assert main(["leaderboard", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and words in err and "Traceback" not in err
    assert not (root / L.LEADERBOARD_README).exists()


def test_unreadable_and_duplicate_entries(root: Path, report: dict) -> None:
    bad = root / L.ENTRIES_DIR / "broken.json"
    bad.write_text("{ not json")
    with pytest.raises(L.EntryError, match="broken.json: not readable JSON"):
        L.load_entries(root)
    bad.unlink()
    L.write_entry(root, _entry(report, "same"))
    (root / L.ENTRIES_DIR / "copy.json").write_text(json.dumps(_entry(report, "same")))
    with pytest.raises(L.EntryError, match="repeats"):
        L.load_entries(root)


def _as_observables(report: dict) -> dict:
    """The same report as an observables-only submission's (tensor-only keys null)."""
    rep = copy.deepcopy(report)
    rep[C.RT_KIND] = C.KIND_OBSERVABLES
    rep[C.RT_SCORE] = None
    for r in rep[C.RT_NUCLEI].values():
        for key in C.TENSOR_ONLY_KEYS:
            r[key] = None
    return rep


def test_observables_entry_renders_nulls(root: Path, report: dict) -> None:
    L.write_entry(root, _entry(_as_observables(report), "scalar"))
    text = L.render_files(root).files[root / L.LEADERBOARD_README]
    li = text.split("#### Li")[1]
    row = next(line for line in li.splitlines() if line.startswith("| scalar | observables"))
    assert "0 / — |" in row and row.count("—") >= 4


# ----------------------------------------------------------------- report versions
def _as_v1(report: dict) -> dict:
    """The same report in version-1 form (no report_version, no mean_xi_reassigned)."""
    rep = copy.deepcopy(report)
    del rep[C.RT_REPORT_VERSION]
    for r in rep[C.RT_NUCLEI].values():
        del r[C.R_MEAN_XI_REASSIGNED]
    return rep


def test_committed_pcm_v1_entries_are_legacy_v1_reports() -> None:
    entries = L.load_entries(REPO)
    v1 = [e for e in entries if e.key[0] == "pcm-v1"]
    assert v1 and all(R.report_version(e.report) == 1 for e in v1)
    text = (REPO / L.LEADERBOARD_README).read_text(encoding="utf-8")
    legacy = text.split("## Legacy results (report version 1)")[1].split("## Reference:")[0]
    assert "sign(Vzz) flip" in legacy
    for e in v1:
        assert e.path.name.replace("_", "\\_") in legacy or f"`{e.path.name}`" in legacy


def test_versions_render_in_separate_tables(root: Path, report: dict) -> None:
    L.write_entry(root, _entry(report, "model new"))
    L.write_entry(root, _entry(_as_v1(report), "model old"))
    assert main(["leaderboard", "--root", str(root)]) == 0
    text = (root / L.LEADERBOARD_README).read_text()
    current, legacy = text.split("## Legacy results (report version 1)")
    assert "| model new |" in current and "| model old |" not in current
    assert "| model old |" in legacy.split("## Reference:")[0] and "| model new |" not in legacy
    # each table has the header of its version
    assert R.MEASURED_HEADERS[2].splitlines()[0] in current
    assert R.MEASURED_HEADERS[1].splitlines()[0] in legacy
    # the README shows the current version only and links the legacy tables
    readme = (root / "README.md").read_text()
    assert "| model new |" in readme and "model old" not in readme
    assert "1 legacy entries" in readme
    assert "(leaderboard/README.md#legacy-results-report-version-1)" in readme
    assert main(["leaderboard", "--check", "--root", str(root)]) == 0


def test_one_table_refuses_mixed_report_versions(root: Path, report: dict) -> None:
    L.write_entry(root, _entry(report, "model new"))
    L.write_entry(root, _entry(_as_v1(report), "model old"))
    entries = L.load_entries(root)
    with pytest.raises(LtoefgError, match=r"refusing to put report versions \[1, 2\] in one table"):
        R.measured_table(entries, "Li")
    assert len(R.measured_table(entries[:1], "Li")) == 2  # header and one row


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r.update(report_version=3), "'report_version' is 3"),
        (lambda r: r.update(report_version=1), "'report_version' is 1"),
        (lambda r: r.update(report_version="2"), "'report_version' is '2'"),
        (lambda r: r["nuclei"]["Li"].pop("mean_xi_reassigned"), "lacks 'mean_xi_reassigned'"),
    ],
)
def test_bad_report_versions_are_refused(
    root: Path, report: dict, change: object, words: str
) -> None:
    entry = _entry(report)
    change(entry["report"])  # type: ignore[operator]
    (root / L.ENTRIES_DIR / "bad.json").write_text(json.dumps(entry))
    with pytest.raises(L.EntryError, match="bad.json") as info:
        L.load_entries(root)
    assert words in str(info.value)


# ------------------------------------------------------- hostile entries (issue 11)
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")

HOSTILE_MODELS = [
    "pipe | in | name",
    "<script>alert(1)</script>",
    f"marker {C.LB_RESULTS_END} and {C.LB_RESULTS_START}",
    "**bold** _it_ [link](http://x) `code` \\ back",
    "&lt; already escaped &amp;",
]


def _table_rows_consistent(text: str) -> None:
    """Every Markdown table row has as many cell separators as its header."""
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            counts = {len(_UNESCAPED_PIPE.findall(row)) for row in block}
            assert len(counts) == 1, block
            block = []


def test_hostile_model_names_are_escaped_and_rendering_is_idempotent(
    root: Path, report: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    for model in HOSTILE_MODELS:
        L.write_entry(root, _entry(report, model))
    assert main(["leaderboard", "--root", str(root)]) == 0
    lb = (root / L.LEADERBOARD_README).read_text()
    readme = (root / "README.md").read_text()
    for text in (lb, readme):
        assert "<script>" not in text and "&lt;script&gt;" in text
        _table_rows_consistent(text)
    assert readme.count(C.LB_RESULTS_START) == 1 and readme.count(C.LB_RESULTS_END) == 1
    assert lb.count("<!--") == 1  # only the generated-file comment
    # idempotent: a second run changes nothing, --check agrees
    capsys.readouterr()
    assert main(["leaderboard", "--root", str(root)]) == 0
    assert "already up to date" in capsys.readouterr().out
    assert (root / "README.md").read_text() == readme
    assert (root / L.LEADERBOARD_README).read_text() == lb
    assert main(["leaderboard", "--check", "--root", str(root)]) == 0


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (lambda e: e.replace('"n_train": {', '"n_train": {"X": ' + "9" * 400 + ", "), "400 digits"),
        (
            lambda e: e.replace(
                '"hyperparameters": {', '"hyperparameters": {"a": ' + "[" * 5000 + "]" * 5000 + ", "
            ),
            "nested more than",
        ),
        (lambda e: e.replace('"train_wall_time_s": 12.5', '"train_wall_time_s": NaN'), "NaN"),
        (
            lambda e: e.replace('"train_wall_time_s": 12.5', '"train_wall_time_s": 1e308'),
            "sane size",
        ),
        (lambda e: e.replace('"machine": "', '"machine": "x\\n| forged | row |'), "U+000A"),
        (lambda e: e.replace('"model": "oracle"', '"model": "oracle\\u202e"'), "U+202E"),
        (lambda e: e.replace('"dataset": "pcm-v1"', '"dataset": "../../etc"'), "not a plain name"),
        (lambda e: e.replace('"mae_cq_tilde": 0', '"mae_cq_tilde": -1'), "must not be negative"),
        (lambda e: e.replace('"frac_reassigned": 0', '"frac_reassigned": 7'), "must lie in [0, 1]"),
        (lambda e: e + " " * (2 << 20), "more than 1048576"),
    ],
)
def test_hostile_entry_files_are_refused_in_one_sentence(
    root: Path, report: dict, raw: object, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(_entry(report), ensure_ascii=False)
    bad = raw(text)  # type: ignore[operator]
    assert bad != text, "the mutation did not apply"
    path = root / L.ENTRIES_DIR / "hostile.json"
    path.write_text(bad)
    assert main(["leaderboard", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and words in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (root / L.LEADERBOARD_README).exists()


@pytest.mark.parametrize("dataset", ["../outside", "/abs/path", "a/b", "", "x" * 80])
def test_entry_names_never_leave_the_entries_folder(root: Path, report: dict, dataset: str) -> None:
    rep = copy.deepcopy(report)
    rep[C.RT_DATASET] = dataset
    entry = _entry(report)
    entry["report"] = rep
    with pytest.raises(L.EntryError, match="not a plain name|not a string"):
        L.write_entry(root, entry)
    assert list((root / L.ENTRIES_DIR).iterdir()) == []
    assert not list(root.parent.glob("*.json"))


def test_unwritable_leaderboard_is_one_sentence(
    root: Path, report: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    L.write_entry(root, _entry(report, "model A"))
    (root / L.LEADERBOARD_README).mkdir()  # a folder where the rendered file goes
    assert main(["leaderboard", "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "leaderboard/README.md: is a folder" in err and "Traceback" not in err
    assert (
        "tail" in (root / "README.md").read_text()
        and "model A" not in (root / "README.md").read_text()
    )
