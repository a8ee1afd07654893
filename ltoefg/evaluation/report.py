"""Readable text form of an evaluator report: one table per nucleus, metrics with units."""

from __future__ import annotations

import math
import textwrap
import unicodedata
from collections.abc import Mapping
from typing import Any

from ltoefg import constants as C
from ltoefg import nmr

#: Label prefix of the point-charge label methods (``point-charge-ewald``).
_POINT_CHARGE_PREFIX = "point-charge"


def label_phrase(label_method: str) -> str:
    """Short plain-words name of a label method, e.g. "point-charge labels, not DFT"."""
    if label_method.startswith(C.LABEL_METHOD_DFT_PREFIX):
        return "DFT labels"
    if label_method.startswith(_POINT_CHARGE_PREFIX):
        return "point-charge labels, not DFT"
    return f"{label_method} labels, not DFT"


def _rows(tau: float) -> list[tuple[str, str, str]]:
    """(report key, label, unit) of every printed row, in SPEC §6.3 order."""
    t = f"τ = {tau:g}"
    return [
        (C.R_N, "test sites scored", ""),
        (C.R_MAE_CQ_TILDE, "MAE C̃Q  (|Vzz|−μ)/σ", "–"),
        (C.R_MAE_ETA_TILDE, "MAE η̃  η|Vzz|/μ", "–"),
        (C.R_MAE_THETA_DEG, "MAE θ, raw PAS labels", "deg"),
        (C.R_MAE_PHI_DEG, "MAE φ, raw PAS labels", "deg"),
        (C.R_MAE_THETA_DEG_REASSIGNED, f"MAE θ, reassigned ({t})", "deg"),
        (C.R_MAE_PHI_DEG_REASSIGNED, f"MAE φ, reassigned ({t})", "deg"),
        (C.R_FRAC_REASSIGNED, f"sites relabelled ({t})", "%"),
        (C.R_MEAN_XI, "mean ξ (quaternion dot, 1 = aligned)", "–"),
        (C.R_MAE_XI, "mean 1 − ξ", "–"),
        (C.R_MEAN_XI_REASSIGNED, f"mean ξ, reassigned ({t})", "–"),
        (C.R_MEDIAN_MISORIENTATION_DEG, "median misorientation 2·arccos ξ", "deg"),
        (C.R_MAE_OMEGA_Q_KHZ, "MAE ωQ/2π (±3/2↔±1/2, signed)", "kHz"),
        (C.R_FRAC_OMEGA_Q_WITHIN, f"sites with |ΔωQ| ≤ {C.OMEGA_Q_THRESHOLD_KHZ:g} kHz", "%"),
        (C.R_MAE_VIJ, "MAE Vij (9 elements of P(V), Eq. 6)", "V/Å²"),
        (C.R_RMSE_VIJ, "RMSE Vij", "V/Å²"),
        (C.R_R_CQ_TILDE, "Pearson r C̃Q", "–"),
        (C.R_R_ETA_TILDE, "Pearson r η̃", "–"),
        (C.R_R_THETA, "Pearson r θ (raw)", "–"),
        (C.R_R_PHI, "Pearson r φ (raw)", "–"),
        (C.R_R_OMEGA_Q, "Pearson r ωQ", "–"),
        (C.R_W1_CQ_TILDE, "W1 distribution distance C̃Q", "–"),
        (C.R_W1_ETA_TILDE, "W1 distribution distance η̃", "–"),
        (C.R_W1_THETA_DEG, "W1 distribution distance θ", "deg"),
        (C.R_W1_PHI_DEG, "W1 distribution distance φ", "deg"),
        (C.R_W1_OMEGA_Q_KHZ, "W1 distribution distance ωQ", "kHz"),
        (C.R_MAX_ASYMMETRY, "max |Vij − Vji| before projection", "V/Å²"),
        (C.R_MAX_ABS_TRACE, "max |tr V| before projection", "V/Å²"),
        (C.R_SCORE, "score = mean(MAE C̃Q, MAE η̃, 1 − ξ)", "–"),
    ]


def format_value(key: str, value: Any, kind: str) -> str:
    """One cell: numbers to 4 significant digits, fractions in %, None explained."""
    if value is None:
        if kind == C.KIND_OBSERVABLES and key in C.TENSOR_ONLY_KEYS:
            return "null (needs tensors)"
        return "null (undefined)"
    if key == C.R_N:
        return f"{int(value):d}"
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if key in (C.R_FRAC_REASSIGNED, C.R_FRAC_OMEGA_Q_WITHIN):
        return f"{100.0 * v:.1f}"
    if key in (C.R_MEAN_XI, C.R_MEAN_XI_REASSIGNED):
        return f"{v:.6f}"
    return f"{v:.4g}" if v != 0 else "0"


def _width(text: str) -> int:
    """Display width: combining marks (the tilde of C̃Q, η̃) take no column."""
    return sum(0 if unicodedata.combining(ch) else 1 for ch in text)


def _ljust(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _rjust(text: str, width: int) -> str:
    return " " * (width - _width(text)) + text


def format_nucleus(nucleus: str, rep: Mapping[str, Any], kind: str, tau: float) -> str:
    """The table of one nucleus (rows = metrics; columns: metric, value, unit)."""
    rows = [(label, format_value(key, rep.get(key), kind), unit) for key, label, unit in _rows(tau)]
    w_label = max(_width(r[0]) for r in rows)
    w_value = max(_width(r[1]) for r in rows)
    try:
        iso = nmr.isotope(nucleus).name
    except ValueError:
        iso = nucleus
    title = f"{nucleus} ({iso}), {rep.get(C.R_N, '?')} test sites"
    lines = [title, "  " + "-" * (w_label + w_value + 10)]
    lines.append(f"  {_ljust('metric', w_label)}  {_rjust('value', w_value)}  unit")
    lines += [
        f"  {_ljust(label, w_label)}  {_rjust(value, w_value)}  {unit}".rstrip()
        for label, value, unit in rows
    ]
    return "\n".join(lines)


def _nucleus_notes(nucleus: str, omega_source: Any) -> list[str]:
    """Caveats printed under a nucleus table: the ωQ sign assumption, the threshold basis."""
    notes = []
    if omega_source == C.OMEGA_Q_DERIVED_ASSUMED:
        notes.append(
            f"note: ωQ of {nucleus} was derived from C̃Q, η̃, θ, φ assuming Vzz > 0 for every "
            f"site (the submission has no '{C.PRED_SIGN_VZZ}'); sites with Vzz < 0 get the "
            "wrong sign of ωQ."
        )
    if nucleus != "Li":
        notes.append(
            f"note: the {C.OMEGA_Q_THRESHOLD_KHZ:g} kHz threshold is the ⁷Li SAE-NMR "
            f"resolution; for {nucleus} it is reported for comparison but has no "
            "experimental basis."
        )
    return notes


def format_report(report: Mapping[str, Any], source: str | None = None) -> str:
    """The whole report as text: header (data set, labels, τ), per-nucleus tables, score.

    Parameters
    ----------
    report : dict
        As returned by :func:`ltoefg.evaluate`.
    source : str, optional
        The submission file name, for the header.
    """
    label_method = str(report.get(C.RT_LABEL_METHOD, ""))
    description = str(report.get(C.RT_LABEL_DESCRIPTION, "")).strip()
    if description and not description.endswith("."):
        description += "."
    kind = str(report.get(C.RT_KIND))
    tau = float(report.get(C.RT_TAU, C.DEFAULT_TAU))
    head = [
        f"ltoefg {report.get(C.RT_VERSION, '')} evaluation" + (f" of {source}" if source else "")
    ]
    head.append(f"  data set   {report.get(C.RT_DATASET)} (split: {report.get(C.RT_SPLIT)})")
    head.append(f"  labels     {label_phrase(label_method)}")
    head.append(f"  model      {report.get(C.RT_MODEL) or '(unnamed)'}")
    head.append(f"  kind       {kind}")
    head.append(f"  τ          {tau:g} (eigenvalue-reassignment tolerance, fraction of |Vzz_ref|)")
    out = ["\n".join(head)]
    if not label_method.startswith(C.LABEL_METHOD_DFT_PREFIX):
        note = (
            f"NOTE: data set {report.get(C.RT_DATASET)} has {label_phrase(label_method)}. "
            f"{description} These numbers are not comparable number-for-number with results "
            "on DFT labels, such as the paper's."
        )
        out.append(textwrap.fill(note, width=88))
    if kind == C.KIND_OBSERVABLES:
        out.append(
            textwrap.fill(
                "Observables-only submission: ξ, misorientation, reassigned angles, Vij "
                "errors and the score need full tensors and are null, not zero.",
                width=88,
            )
        )
    projected = report.get(C.RT_N_PROJECTED) or {}
    sources = report.get(C.RT_OMEGA_Q_SOURCE) or {}
    for nucleus, rep in (report.get(C.RT_NUCLEI) or {}).items():
        out.append(format_nucleus(nucleus, rep, kind, tau))
        for note in _nucleus_notes(nucleus, sources.get(nucleus)):
            out.append(textwrap.fill(note, width=88, initial_indent="  ", subsequent_indent="  "))
        n_proj = projected.get(nucleus)
        if n_proj:
            out.append(
                textwrap.fill(
                    f"note: {n_proj} predicted {nucleus} tensors were not symmetric traceless "
                    f"(relative tolerance {report.get(C.RT_SYMMETRY_RTOL)}); they were projected "
                    f"before scoring (max |Vij − Vji| = {rep.get(C.R_MAX_ASYMMETRY):.3g} V/Å², "
                    f"max |tr V| = {rep.get(C.R_MAX_ABS_TRACE):.3g} V/Å²; --strict refuses them).",
                    width=88,
                    initial_indent="  ",
                    subsequent_indent="  ",
                )
            )
    score = report.get(C.RT_SCORE)
    if score is None:
        out.append("overall score: null (observables-only submission has no ξ)")
    else:
        out.append(
            f"overall score (mean over {len(report.get(C.RT_NUCLEI) or {})} nuclei, "
            f"lower is better): {score:.4g}"
        )
    return "\n\n".join(out) + "\n"
