"""Text of the rendered leaderboard: ``leaderboard/README.md`` and the README results block.

Pure functions of validated entries (:class:`ltoefg.leaderboard.entry.Entry`) and
reference files; nothing here reads or writes files.

Decisions (documented in ``docs/submitting.md``):

* One table holds reports of **one report version** only
  (:data:`ltoefg.constants.REPORT_VERSION`); :func:`measured_table` refuses a
  mix. Version-1 reports (ωQ and Vij with the per-site sign(Vzz) flip, no
  reassigned ξ) are rendered in their own section, headed as legacy, after the
  current-version tables.
* Every string that comes from an entry or a reference file is escaped for a
  Markdown table cell and for HTML (:func:`md_text`), so no entry can add
  columns, rows, HTML elements or the results markers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ltoefg import constants as C
from ltoefg.errors import LtoefgError
from ltoefg.leaderboard import fields as F
from ltoefg.leaderboard.entry import Entry

References = Sequence[tuple[Path, Mapping[str, Any]]]

#: What a version-1 report means, in one sentence (the legacy tables' caption).
LEGACY_NOTE = (
    "**Legacy: report version 1.** These reports were scored before the v2 metrics: "
    "ωQ carries the per-site sign(Vzz) flip (it jumps where Vzz changes sign at η ≈ 1), "
    "the Vij errors compare sign(Vzz)·P(V), and there is no reassigned ξ. They are not "
    "comparable with report-version-2 results; re-evaluate the predictions with the "
    "current `ltoefg evaluate` to move a model up."
)

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}|#~!])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def md_text(value: Any) -> str:
    """``value`` as plain text safe inside a Markdown table cell and in HTML.

    Control characters (newlines included) become one space; ``& < >`` become
    HTML entities (so ``<script>`` and ``<!-- … -->`` markers stay text);
    Markdown punctuation (``| * _ ` [ ] \\`` …) is backslash-escaped.
    """
    text = _CONTROL.sub(" ", str(value)).strip()
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+/-]*")


def md_code(value: Any) -> str:
    """A name as inline code (`` `pcm-v2` ``) if it is a plain name, else :func:`md_text`."""
    text = str(value)
    return f"`{text}`" if _PLAIN_NAME.fullmatch(text) else md_text(text)


def label_phrase(label_method: str) -> str:
    """Plain-words label method (escaped), e.g. "point-charge labels, not DFT"."""
    from ltoefg.evaluation.report import label_phrase as phrase

    return md_text(phrase(label_method))


def report_version(report: Mapping[str, Any]) -> int:
    """The report schema version; reports without ``report_version`` are version 1."""
    return int(report.get(C.RT_REPORT_VERSION, 1))


# ------------------------------------------------------------------------ numbers
def num_text(v: Any, digits: int = 3) -> str:
    if v is None:
        return "—"
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return f"{float(v):.{digits}g}"


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * float(v):.1f} %"


def pair_text(a: Any, b: Any) -> str:
    return f"{num_text(a)} / {num_text(b)}"


def _one_minus(v: Any) -> Any:
    return None if v is None else 1.0 - float(v)


def _seconds(v: float) -> str:
    return f"{v:.0f}" if v >= 10 else f"{v:.2g}"


def overall_score(e: Entry) -> float | None:
    """Mean of the per-nucleus scores over the nuclei the entry has; None if one has none."""
    scores = [rep[C.R_SCORE] for rep in e.report[C.RT_NUCLEI].values()]
    if not scores or any(v is None for v in scores):
        return None
    return math.fsum(scores) / len(scores)


def mean_mae_cq(e: Entry) -> float:
    """Mean over the entry's nuclei of MAE C̃Q (the order of observables-only entries)."""
    values = [rep[C.R_MAE_CQ_TILDE] for rep in e.report[C.RT_NUCLEI].values()]
    values = [v for v in values if v is not None]
    return math.fsum(values) / len(values) if values else math.inf


def overall_sort_key(e: Entry) -> tuple[float, float, str]:
    """Order of a board: overall score, then mean MAE C̃Q (observables-only), then name."""
    score = overall_score(e)
    return (math.inf if score is None else score, mean_mae_cq(e), e.key[2])


def pm(mean: Any, std: Any) -> str:
    """``mean ± std`` (3 and 2 significant digits), or — if there is none."""
    if mean is None or std is None:
        return "—"
    return f"{num_text(mean)} ± {num_text(std, 2)}"


def runs_noun(e: Entry) -> str:
    """E.g. "5 folds" or "3 seeds"; empty if the entry has no run spread."""
    runs = e.data.get(C.LB_RUNS)
    if not runs:
        return ""
    return f"{e.data[C.LB_N_RUNS]} {runs[C.RUNS_OVER]}"


def nucleus_spread(e: Entry, nucleus: str, key: str) -> tuple[Any, Any]:
    """(mean, std) of report key ``key`` over the entry's runs for ``nucleus``, or (None, None)."""
    stats = (e.data.get(C.LB_RUNS) or {}).get(C.RUNS_NUCLEI, {}).get(nucleus)
    if not stats or key not in stats[C.RUNS_MEAN]:
        return None, None
    return stats[C.RUNS_MEAN][key], stats[C.RUNS_STD][key]


def overall_spread(e: Entry) -> tuple[float, float] | None:
    """(mean, std) over runs of the overall score, where every nucleus gives per-run scores."""
    runs = e.data.get(C.LB_RUNS)
    if not runs or set(runs[C.RUNS_NUCLEI]) != set(e.report[C.RT_NUCLEI]):
        return None
    return F.overall_runs(runs)


def parameters_text(e: Entry, nucleus: str | None = None) -> str:
    """Fitted parameters: of ``nucleus``, or per nucleus / of the whole model; — if unknown."""
    value = e.data.get(C.LB_N_PARAMETERS)
    if value is None:
        return "—"
    if isinstance(value, dict):
        if nucleus is not None:
            return f"{value[nucleus]:,}"
        return " · ".join(f"{n} {value[n]:,}" for n in C.NUCLEI if n in value)
    return f"{value:,}" + ("" if nucleus is None else " (all nuclei)")


def nucleus_sort_key(e: Entry, nucleus: str) -> tuple[float, float, str]:
    rep = e.report[C.RT_NUCLEI][nucleus]
    score = rep[C.R_SCORE]
    return (
        math.inf if score is None else score,
        math.inf if rep[C.R_MAE_CQ_TILDE] is None else rep[C.R_MAE_CQ_TILDE],
        e.key[2],
    )


# ----------------------------------------------------------------- measured tables
_HEADER_HEAD = (
    "| model | kind | n_train | MAE C̃Q | MAE η̃ | MAE θ raw / reassigned (°) "
    "| MAE φ raw / reassigned (°) "
)
_HEADER_TAIL = (
    "| MAE ωQ (kHz) | \\|ΔωQ\\| ≤ 10 kHz | W1 θ / φ (°) | score | overall score "
    "| CV score / MAE C̃Q, mean ± std | fitted parameters | train / predict (s) |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)
#: Column headers of a measured table per report version.
MEASURED_HEADERS: dict[int, str] = {
    1: _HEADER_HEAD + "| mean 1 − ξ " + _HEADER_TAIL,
    2: _HEADER_HEAD + "| mean 1 − ξ raw / reassigned " + _HEADER_TAIL,
}


def _xi_cell(rep: Mapping[str, Any], version: int) -> str:
    if version == 1:
        return num_text(rep[C.R_MAE_XI])
    return pair_text(rep[C.R_MAE_XI], _one_minus(rep[C.R_MEAN_XI_REASSIGNED]))


def _measured_row(e: Entry, nucleus: str, version: int) -> str:
    rep = e.report[C.RT_NUCLEI][nucleus]
    d = e.data
    return (
        f"| {md_text(e.key[2])} | {md_text(e.report[C.RT_KIND])} "
        f"| {d[C.LB_N_TRAIN][nucleus]} "
        f"| {num_text(rep[C.R_MAE_CQ_TILDE])} | {num_text(rep[C.R_MAE_ETA_TILDE])} "
        f"| {pair_text(rep[C.R_MAE_THETA_DEG], rep[C.R_MAE_THETA_DEG_REASSIGNED])} "
        f"| {pair_text(rep[C.R_MAE_PHI_DEG], rep[C.R_MAE_PHI_DEG_REASSIGNED])} "
        f"| {_xi_cell(rep, version)} | {num_text(rep[C.R_MAE_OMEGA_Q_KHZ])} "
        f"| {_pct(rep[C.R_FRAC_OMEGA_Q_WITHIN])} "
        f"| {pair_text(rep[C.R_W1_THETA_DEG], rep[C.R_W1_PHI_DEG])} | {num_text(rep[C.R_SCORE])} "
        f"| {num_text(overall_score(e))} | {_cv_cell(e, nucleus)} | {parameters_text(e, nucleus)} "
        f"| {_seconds(d[C.LB_TRAIN_WALL_TIME_S])} / {_seconds(d[C.LB_PREDICT_WALL_TIME_S])} |"
    )


def _cv_cell(e: Entry, nucleus: str) -> str:
    """CV score and MAE C̃Q, mean ± std over the entry's runs, with the number of runs."""
    score = nucleus_spread(e, nucleus, C.R_SCORE)
    cq = nucleus_spread(e, nucleus, C.R_MAE_CQ_TILDE)
    if score == (None, None) and cq == (None, None):
        return "—"
    return f"{pm(*score)} / {pm(*cq)} ({runs_noun(e)})"


def single_version(entries: Sequence[Entry]) -> int:
    """The one report version of ``entries``.

    Raises
    ------
    LtoefgError
        The entries hold reports of more than one version (naming them), or none.
    """
    versions = sorted({report_version(e.report) for e in entries})
    if len(versions) != 1:
        names = ", ".join(f"{e.path.name} (v{report_version(e.report)})" for e in entries)
        raise LtoefgError(
            f"refusing to put report versions {versions} in one table ({names}); "
            "re-evaluate the older predictions with the current `ltoefg evaluate`."
        )
    return versions[0]


def measured_table(entries: Sequence[Entry], nucleus: str) -> list[str]:
    """Header and rows (sorted by score) of one nucleus; all entries of one report version."""
    version = single_version(entries)
    rows = sorted(entries, key=lambda e: nucleus_sort_key(e, nucleus))
    return [MEASURED_HEADERS[version], *(_measured_row(e, nucleus, version) for e in rows)]


def groups(entries: Sequence[Entry]) -> dict[tuple[int, str, str], list[Entry]]:
    """Entries by (report version, dataset, split); newest version first, then by name."""
    out: dict[tuple[int, str, str], list[Entry]] = {}
    for e in entries:
        out.setdefault((report_version(e.report), e.key[0], e.key[1]), []).append(e)
    order = sorted(out, key=lambda k: (-k[0], k[1], C.SPLITS.index(k[2])))
    return {k: out[k] for k in order}


def code_link(e: Entry, prefix: str = "../") -> str:
    """The entry's code as a Markdown link (repository paths relative to ``prefix``), or —."""
    url = e.data.get(C.LB_CODE_URL)
    if not url:
        return "—"
    if F.is_url(url):  # validated: no spaces, quotes, brackets or pipes
        return f"[code]({url.replace('&', '&amp;')})"
    return f"[{md_text(url)}]({prefix}{url})"


_MODELS_HEADER = (
    "| model | kind | overall score | CV overall score, mean ± std | fitted parameters "
    "| code | description |\n|---|---|---:|---:|---:|---|---|"
)


def models_table(group: Sequence[Entry]) -> list[str]:
    """One row per entry: overall score, its spread over runs, parameters, code, description."""
    out = [_MODELS_HEADER]
    for e in sorted(group, key=overall_sort_key):
        spread = overall_spread(e)
        cv = "—" if spread is None else f"{pm(*spread)} ({runs_noun(e)})"
        out.append(
            f"| {md_text(e.key[2])} | {md_text(e.report[C.RT_KIND])} "
            f"| {num_text(overall_score(e))} | {cv} | {parameters_text(e)} | {code_link(e)} "
            f"| {md_text(e.data.get(C.LB_DESCRIPTION, '—'))} |"
        )
    return out


def _group_section(key: tuple[int, str, str], group: list[Entry]) -> list[str]:
    version, dataset, split = key
    method = str(group[0].report[C.RT_LABEL_METHOD])
    taus = sorted({float(g.report[C.RT_TAU]) for g in group})
    ds = md_code(dataset)
    legacy = " — legacy, report version 1" if version == 1 else ""
    out = [
        f"### {ds}, split {md_code(split)}{legacy}",
        "",
        f"**Labels: {label_phrase(method)}** ({md_code(method)}); "
        f"τ = {', '.join(f'{t:g}' for t in taus)}; report version {version}.",
        "",
        f"Models{legacy} (overall score = mean of the per-nucleus scores; observables-only "
        "models have none and follow, by MAE C̃Q):",
        "",
        *models_table(group),
        "",
    ]
    for nucleus in C.NUCLEI:
        rows = [e for e in group if nucleus in e.report[C.RT_NUCLEI]]
        if not rows:
            continue
        n_test = rows[0].report[C.RT_NUCLEI][nucleus][C.R_N]
        out.append(f"#### {nucleus} ({n_test} test sites) — {ds}, {label_phrase(method)}{legacy}")
        out.append("")
        out += measured_table(rows, nucleus)
        out.append("")
    out.append("Entries: " + ", ".join(md_code(e.path.name) for e in group) + ".")
    out.append("")
    return out


# ---------------------------------------------------------------------- references
def _ref_cell(row: Mapping[str, Any], key: str, r_key: str | None = None) -> str:
    text = row.get("text", {})
    value = md_text(text[key]) if key in text else num_text(row["metrics"].get(key))
    if r_key is not None and row["metrics"].get(r_key) is not None:
        value += f" (r {row['metrics'][r_key]:.2f})"
    return value


def _reference_section(refs: References) -> list[str]:
    out: list[str] = []
    for path, ref in refs:
        method = str(ref["label_method"])
        out += [
            f"## Reference: {md_text(ref['caption'])}",
            "",
            f"Source: {md_text(ref['source'])}. Data set {md_code(ref['dataset'])}, "
            f"{label_phrase(method)} ({md_code(method)}), split {md_code(ref['split'])}. "
            f"File: {md_code(path.as_posix().split('leaderboard/', 1)[-1])}.",
            "",
            "**These are published numbers on DFT labels, not measured here; they are not "
            "comparable number-for-number with results on point-charge (pcm) labels.**",
            "",
        ]
        for nucleus in C.NUCLEI:
            rows = [r for r in ref["rows"] if r["nucleus"] == nucleus]
            if not rows:
                continue
            out += [
                f"### {nucleus} — reference rows (paper, DFT labels)",
                "",
                "| model (paper, DFT labels — not comparable number-for-number with pcm "
                "results) | kind | MAE C̃Q | MAE η̃ | MAE θ raw (°) | MAE φ raw (°) "
                "| MAE θ / φ reassigned (°) | MAE ωQ (kHz) |",
                "|---|---|---:|---:|---:|---:|---:|---:|",
            ]
            for r in rows:
                reassigned = (
                    f"{_ref_cell(r, C.R_MAE_THETA_DEG_REASSIGNED)} / "
                    f"{_ref_cell(r, C.R_MAE_PHI_DEG_REASSIGNED)}"
                )
                out.append(
                    f"| {md_text(r['model'])} | {md_text(r['kind'])} "
                    f"| {_ref_cell(r, C.R_MAE_CQ_TILDE, C.R_R_CQ_TILDE)} "
                    f"| {_ref_cell(r, C.R_MAE_ETA_TILDE, C.R_R_ETA_TILDE)} "
                    f"| {_ref_cell(r, C.R_MAE_THETA_DEG, C.R_R_THETA)} "
                    f"| {_ref_cell(r, C.R_MAE_PHI_DEG, C.R_R_PHI)} "
                    f"| {reassigned} | {_ref_cell(r, C.R_MAE_OMEGA_Q_KHZ)} |"
                )
            out.append("")
            notes = ref.get("notes")
            if isinstance(notes, str) and notes:
                out += [md_text(notes), ""]
    return out


# ----------------------------------------------------------------------- documents
def render_leaderboard(entries: Sequence[Entry], refs: References) -> str:
    """The text of ``leaderboard/README.md``."""
    out = [
        "# Leaderboard",
        "",
        "<!-- generated by `ltoefg leaderboard` from leaderboard/entries/*.json and "
        "leaderboard/reference/*.json; do not edit by hand -->",
        "",
        "Each entry in `leaderboard/entries/` is one `ltoefg evaluate` report of one model on "
        "one data set and split, with its metadata (code version, hyperparameters, n_train, "
        "wall times, machine). Metrics are defined in [docs/metrics.md](../docs/metrics.md); "
        "how to submit: [docs/submitting.md](../docs/submitting.md). Angles in degrees, ωQ in "
        "kHz; *raw* angles use the PAS labels as they are, *reassigned* angles (and ξ) allow "
        "relabelling near-degenerate axes (τ as stated per table); score = mean(MAE C̃Q, "
        "MAE η̃, mean 1 − ξ raw), lower is better, null (—) for observables-only models; "
        "overall score = mean of an entry's per-nucleus scores. *CV … mean ± std*: the spread "
        "(population std) over the CV folds or seeds an entry was run on, where it records "
        "them (`n_runs`, `runs`); *fitted parameters* and *code* where the entry gives them. "
        f"Rows are sorted by score. Report version {C.REPORT_VERSION} tables come first; a "
        "table never mixes report versions.",
        "",
        "## Measured results",
        "",
    ]
    grouped = groups(entries)
    current = {k: g for k, g in grouped.items() if k[0] != 1}
    legacy = {k: g for k, g in grouped.items() if k[0] == 1}
    if not current:
        out += [
            f"No report-version-{C.REPORT_VERSION} entries yet: no model has been evaluated "
            "with the current metrics and committed to `leaderboard/entries/`. Nothing here "
            "is a measured result.",
            "",
        ]
    for key, group in current.items():
        out += _group_section(key, group)
    if legacy:
        out += ["## Legacy results (report version 1)", "", LEGACY_NOTE, ""]
        for key, group in legacy.items():
            out += _group_section(key, group)
    out += _reference_section(refs)
    return "\n".join(out).rstrip("\n") + "\n"


def _reference_rows_block(refs: References) -> list[str]:
    """The paper's rows for the README, in their own table below the measured ones."""
    out: list[str] = []
    for _, ref in refs:
        rows = [r for n in C.NUCLEI for r in ref["rows"] if r["nucleus"] == n]
        if not rows:
            continue
        phrase = label_phrase(str(ref["label_method"]))
        out += [
            "",
            f"**Reference rows — published numbers, not measured here:** "
            f"{md_text(ref['caption'])} ({md_code(ref['dataset'])}, {phrase}). Not comparable "
            "number-for-number with the rows above, whose labels are point charges.",
            "",
            "| source (labels) | split | nucleus | model | MAE C̃Q | MAE η̃ | MAE θ (°) "
            "| MAE φ (°) | MAE ωQ (kHz) |",
            "|---|---|---|---|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            theta = (
                f"{_ref_cell(r, C.R_MAE_THETA_DEG)} / {_ref_cell(r, C.R_MAE_THETA_DEG_REASSIGNED)}"
            )
            phi = f"{_ref_cell(r, C.R_MAE_PHI_DEG)} / {_ref_cell(r, C.R_MAE_PHI_DEG_REASSIGNED)}"
            out.append(
                f"| paper ({phrase}) | {md_text(ref['split'])} "
                f"| {md_text(r['nucleus'])} | {md_text(r['model'])} "
                f"| {_ref_cell(r, C.R_MAE_CQ_TILDE)} "
                f"| {_ref_cell(r, C.R_MAE_ETA_TILDE)} | {theta} | {phi} "
                f"| {_ref_cell(r, C.R_MAE_OMEGA_Q_KHZ)} |"
            )
    return out


_README_HEADER = (
    "| data set (labels) | split | nucleus | model | MAE C̃Q | MAE η̃ | MAE θ (°) "
    "| MAE φ (°) | MAE ωQ (kHz) | \\|ΔωQ\\| ≤ 10 kHz | score | overall score |\n"
    "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _readme_rows(grouped: Mapping[tuple[int, str, str], list[Entry]]) -> list[str]:
    out: list[str] = []
    for (_, dataset, split), group in grouped.items():
        single_version(group)
        method = label_phrase(str(group[0].report[C.RT_LABEL_METHOD]))
        for nucleus in C.NUCLEI:
            rows = sorted(
                (e for e in group if nucleus in e.report[C.RT_NUCLEI]),
                key=lambda e, n=nucleus: nucleus_sort_key(e, n),
            )
            for e in rows:
                rep = e.report[C.RT_NUCLEI][nucleus]
                out.append(
                    f"| {md_code(dataset)} ({method}) | {md_text(split)} | {nucleus} "
                    f"| {md_text(e.key[2])} "
                    f"| {num_text(rep[C.R_MAE_CQ_TILDE])} | {num_text(rep[C.R_MAE_ETA_TILDE])} "
                    f"| {pair_text(rep[C.R_MAE_THETA_DEG], rep[C.R_MAE_THETA_DEG_REASSIGNED])} "
                    f"| {pair_text(rep[C.R_MAE_PHI_DEG], rep[C.R_MAE_PHI_DEG_REASSIGNED])} "
                    f"| {num_text(rep[C.R_MAE_OMEGA_Q_KHZ])} "
                    f"| {_pct(rep[C.R_FRAC_OMEGA_Q_WITHIN])} "
                    f"| {num_text(rep[C.R_SCORE])} | {num_text(overall_score(e))} |"
                )
    return out


def render_results_block(entries: Sequence[Entry], refs: References | None = None) -> str:
    """The README results tables (the text between the results markers).

    Current-version rows only (version-1 legacy tables stay in
    ``leaderboard/README.md``, linked), then the paper's published rows
    (``refs``) in their own table; measured and published numbers are never mixed.
    """
    out = ["<!-- generated by `ltoefg leaderboard`; do not edit by hand -->", ""]
    grouped = groups(entries)
    current = {k: g for k, g in grouped.items() if k[0] != 1}
    legacy = {k: g for k, g in grouped.items() if k[0] == 1}
    out.append(
        "Measured with `ltoefg evaluate` (full tables, metadata and the paper's DFT reference "
        "rows: [leaderboard/README.md](leaderboard/README.md)). Angles in degrees (raw / "
        "reassigned), ωQ in kHz; score lower is better; overall score = mean of the entry's "
        "per-nucleus scores."
    )
    out.append("")
    if current:
        out += [f"Report version {C.REPORT_VERSION} (current metrics):", "", _README_HEADER]
        out += _readme_rows(current)
    else:
        out.append(
            f"No report-version-{C.REPORT_VERSION} results yet: no model has been evaluated "
            "with the current metrics and committed to `leaderboard/entries/`."
        )
    if legacy:
        n = sum(len(g) for g in legacy.values())
        out += [
            "",
            f"{n} legacy entries (report version 1: ωQ and Vij with the per-site sign(Vzz) "
            "flip, not comparable with the rows above) are tabulated in "
            "[leaderboard/README.md](leaderboard/README.md#legacy-results-report-version-1).",
        ]
    return "\n".join(out + _reference_rows_block(refs or []))
