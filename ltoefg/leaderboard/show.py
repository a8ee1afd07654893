"""``ltoefg leaderboard show``: the board as fixed-width text for a terminal.

Pure functions of validated entries (:class:`ltoefg.leaderboard.entry.Entry`).
One block per (report version, data set, split): entries with a score sorted
by their overall score (the mean of their per-nucleus scores), then the
observables-only entries, which have no ξ and so no score, sorted by MAE C̃Q
(never shown as a score of 0). With a nucleus, one detailed table of that
nucleus instead. Report-version-1 (legacy) entries are shown only when asked
for (``--legacy``, or ``--dataset``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ltoefg import constants as C
from ltoefg.errors import LtoefgError
from ltoefg.leaderboard import render as R

if TYPE_CHECKING:  # pragma: no cover
    from ltoefg.leaderboard.entry import Entry

#: Longest model name shown in full (longer ones end in "…").
MODEL_WIDTH = 34


def display_width(text: str) -> int:
    """Terminal columns of ``text``: combining marks (the tilde of C̃Q) take none, wide ones 2."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _clip(text: str, width: int) -> str:
    if display_width(text) <= width:
        return text
    out = ""
    for ch in text:
        if display_width(out + ch) > width - 1:
            break
        out += ch
    return out + "…"


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * (width - display_width(text))
    return space + text if right else text + space


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[bool]
) -> list[str]:
    """Fixed-width lines: a header, a rule, the rows; columns two spaces apart."""
    widths = [max(display_width(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        cols = zip(cells, widths, right, strict=True)
        return "  ".join(_pad(str(c), w, a) for c, w, a in cols).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]


def _pct(value: Any) -> str:
    return "—" if value is None else f"{100 * float(value):.1f} %"


def _model(e: Entry) -> str:
    return _clip(e.key[2], MODEL_WIDTH)


def _total_parameters(e: Entry) -> str:
    value = e.data.get(C.LB_N_PARAMETERS)
    if value is None:
        return "—"
    return f"{sum(value.values()) if isinstance(value, dict) else value:,}"


def _cv_overall(e: Entry) -> str:
    spread = R.overall_spread(e)
    return "—" if spread is None else f"{R.pm(*spread)} ({R.runs_noun(e)})"


def _cv(e: Entry, nucleus: str, key: str) -> str:
    mean, std = R.nucleus_spread(e, nucleus, key)
    return "—" if mean is None else f"{R.pm(mean, std)} ({R.runs_noun(e)})"


def _nuclei(group: Sequence[Entry]) -> list[str]:
    return [n for n in C.NUCLEI if any(n in e.report[C.RT_NUCLEI] for e in group)]


def _cell(e: Entry, nucleus: str, key: str, fmt: Callable[[Any], str] = R.num_text) -> str:
    rep = e.report[C.RT_NUCLEI].get(nucleus)
    return "" if rep is None else fmt(rep[key])


def _overview(group: Sequence[Entry]) -> list[str]:
    nuclei = _nuclei(group)
    scored = sorted((e for e in group if R.overall_score(e) is not None), key=R.overall_sort_key)
    others = sorted((e for e in group if R.overall_score(e) is None), key=R.overall_sort_key)
    out: list[str] = []
    if scored:
        rows = [
            [
                str(i),
                _model(e),
                R.num_text(R.overall_score(e)),
                *(_cell(e, n, C.R_SCORE) for n in nuclei),
                _cv_overall(e),
                _total_parameters(e),
            ]
            for i, e in enumerate(scored, 1)
        ]
        heads = ["#", "model", "overall", *(f"{n} score" for n in nuclei)]
        heads += ["CV overall, mean ± std", "fitted params"]
        right = [True, False, True, *([True] * len(nuclei)), True, True]
        out += table(heads, rows, right)
    if others:
        out += ["", "Observables only (no ξ, so no score), sorted by MAE C̃Q (mean over nuclei):"]
        rows = [
            [
                "-",
                _model(e),
                R.num_text(R.mean_mae_cq(e)),
                *(_cell(e, n, C.R_MAE_CQ_TILDE) for n in nuclei),
                _total_parameters(e),
            ]
            for e in others
        ]
        heads = ["#", "model", "MAE C̃Q", *(f"{n} MAE C̃Q" for n in nuclei), "fitted params"]
        out += table(heads, rows, [True, False, True, *([True] * len(nuclei)), True])
    return out


def _detail(group: Sequence[Entry], nucleus: str) -> list[str]:
    rows_of = [e for e in group if nucleus in e.report[C.RT_NUCLEI]]
    if not rows_of:
        return [f"(no entry of this data set and split has {nucleus})"]
    ranked = sorted(rows_of, key=lambda e: R.nucleus_sort_key(e, nucleus))
    heads = [
        "#",
        "model",
        "score",
        "CV score, mean ± std",
        "MAE C̃Q",
        "MAE η̃",
        "1 − ξ",
        "θ raw/re (°)",
        "φ raw/re (°)",
        "MAE ωQ (kHz)",
        "≤ 10 kHz",
        "n_train",
        "fitted params",
    ]
    rows = []
    rank = 0
    for e in ranked:
        rep = e.report[C.RT_NUCLEI][nucleus]
        scored = rep[C.R_SCORE] is not None
        rank += scored
        cv_key = C.R_SCORE if scored else C.R_MAE_CQ_TILDE
        cv = _cv(e, nucleus, cv_key)
        rows.append(
            [
                str(rank) if scored else "-",
                _model(e),
                R.num_text(rep[C.R_SCORE]),
                cv if scored or cv == "—" else f"C̃Q {cv}",
                R.num_text(rep[C.R_MAE_CQ_TILDE]),
                R.num_text(rep[C.R_MAE_ETA_TILDE]),
                R.num_text(rep[C.R_MAE_XI]),
                R.pair_text(rep[C.R_MAE_THETA_DEG], rep[C.R_MAE_THETA_DEG_REASSIGNED]),
                R.pair_text(rep[C.R_MAE_PHI_DEG], rep[C.R_MAE_PHI_DEG_REASSIGNED]),
                R.num_text(rep[C.R_MAE_OMEGA_Q_KHZ]),
                _pct(rep[C.R_FRAC_OMEGA_Q_WITHIN]),
                str(e.data[C.LB_N_TRAIN][nucleus]),
                R.parameters_text(e, nucleus),
            ]
        )
    out = table(heads, rows, [True, False, *([True] * (len(heads) - 2))])
    if any(e.report[C.RT_NUCLEI][nucleus][C.R_SCORE] is None for e in ranked):
        out.append("(-: observables only, no ξ and so no score; listed by MAE C̃Q)")
    return out


def _about(group: Sequence[Entry]) -> list[str]:
    lines = []
    for e in sorted(group, key=R.overall_sort_key):
        about = [
            f"    {label}{e.data[key]}"
            for key, label in ((C.LB_DESCRIPTION, ""), (C.LB_CODE_URL, "code: "))
            if e.data.get(key)
        ]
        if about:
            lines += [f"  {e.key[2]}", *about]
    return ["", "About the models:", *lines] if lines else []


def _heading(key: tuple[int, str, str], group: Sequence[Entry], nucleus: str | None) -> list[str]:
    from ltoefg.evaluation.report import label_phrase

    version, dataset, split = key
    method = label_phrase(str(group[0].report[C.RT_LABEL_METHOD]))
    taus = ", ".join(sorted({f"{float(e.report[C.RT_TAU]):g}" for e in group}))
    legacy = "LEGACY, " if version == 1 else ""
    what = f", nucleus {nucleus}" if nucleus else ""
    out = [
        f"{dataset}, split {split}{what} — {method} ({legacy}report version {version}, τ = {taus})"
    ]
    if version == 1:
        out.append(
            "  legacy: ωQ and Vij with the per-site sign(Vzz) flip; not comparable with "
            "report-version-2 numbers"
        )
    return out


def render_show(
    entries: Sequence[Entry],
    dataset: str | None = None,
    split: str | None = None,
    nucleus: str | None = None,
    legacy: bool = False,
) -> str:
    """The text of ``ltoefg leaderboard show``.

    Parameters
    ----------
    entries : sequence of Entry
        Validated entries (:func:`ltoefg.leaderboard.load_entries`).
    dataset, split, nucleus : str, optional
        Show only these (a nucleus gives its detailed table).
    legacy : bool
        Include report-version-1 entries (also included when ``dataset`` is given).

    Raises
    ------
    LtoefgError
        No entry matches the filters (one sentence naming what is on the board).
    """
    chosen = [
        e
        for e in entries
        if (dataset is None or e.key[0] == dataset)
        and (split is None or e.key[1] == split)
        and (nucleus is None or nucleus in e.report[C.RT_NUCLEI])
    ]
    if not chosen:
        board = sorted({f"{e.key[0]} {e.key[1]}" for e in entries})
        asked = " ".join(
            f"--{k} {v}"
            for k, v in (("dataset", dataset), ("split", split), ("nucleus", nucleus))
            if v is not None
        )
        raise LtoefgError(
            f"no leaderboard entry matches {asked or 'the board'}; on the board: "
            f"{', '.join(board) or 'nothing yet (leaderboard/entries/ is empty)'}."
        )
    show_legacy = legacy or dataset is not None
    current = [e for e in chosen if R.report_version(e.report) != 1]
    hidden = 0
    if not show_legacy and current:
        hidden = len(chosen) - len(current)
        chosen = current
    out = [
        "score = mean(MAE C̃Q, MAE η̃, mean 1 − ξ) per nucleus, lower is better; overall = mean "
        "of an entry's per-nucleus scores; CV ± = population std over the entry's CV folds or "
        "seeds.",
    ]
    for key, group in R.groups(chosen).items():
        out += ["", *_heading(key, group, nucleus), ""]
        out += _detail(group, nucleus) if nucleus else _overview(group)
        out += _about(group)
    out.append("")
    if hidden:
        out.append(
            f"{hidden} legacy (report version 1) entries not shown: add --legacy, or --dataset."
        )
    out.append(
        "Full tables, metadata and the paper's published DFT reference rows: leaderboard/README.md."
    )
    return "\n".join(out) + "\n"
