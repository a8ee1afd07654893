"""Optional leaderboard entry fields of SPEC §8 v2: code, description, parameters, run spread.

All four are optional, so entries written before them stay valid:

=====================  ===========================================================
``code_url``           str: an ``http://`` or ``https://`` URL, or a relative path
                       inside this repository (``baselines/models/pair_ridge.py``); ≤ 300
                       characters, no spaces, quotes, brackets or ``..``
``description``        str: a paper reference or a sentence; ≤ 500 characters, no
                       control characters (escaped when rendered)
``n_parameters``       int in [1, 10¹²]: fitted parameters of the whole model, or an
                       object nucleus -> such an int for every nucleus of the report
``n_runs``             int in [2, 10000]: how many runs (CV folds or seeds) ``runs``
                       summarises; given together with ``runs``
``runs``               object: ``over`` ("folds" or "seeds"), optional ``protocol``
                       (str, ≤ 500 characters), and ``nuclei``: nucleus ->
                       ``{"mean": {key: x}, "std": {key: x}, "per_run": [{key: x}, …]}``
=====================  ===========================================================

In ``runs``, keys are per-nucleus report keys (not ``n``; the baselines record
:data:`ltoefg.constants.RUN_HEADLINE_KEYS`), values numbers or null (null in
every run, e.g. the score of an observables-only model). ``std`` is the
population standard deviation (ddof = 0, as ``ltoefg.Task.cv_score``);
``per_run`` is optional, and where given ``mean`` and ``std`` must be its mean
and standard deviation (relative tolerance 10⁻⁶).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ltoefg import constants as C
from ltoefg import names

#: An http(s) URL of characters that need no escaping in a Markdown link or HTML attribute.
URL_PATTERN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~:/?#@!$&+,;=%-]*)?")
#: A relative path inside the repository: plain segments, no ``..``, not absolute.
REPO_PATH_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*")
MAX_URL_CHARS = 300
MAX_DESCRIPTION_CHARS = 500
MAX_PARAMETERS = 10**12
MAX_RUNS = 10_000
#: Relative tolerance of "mean and std are those of per_run".
SPREAD_RTOL = 1e-6

#: The optional fields of this module, in the order entries hold them.
OPTIONAL_FIELDS: tuple[str, ...] = (
    C.LB_CODE_URL,
    C.LB_DESCRIPTION,
    C.LB_N_PARAMETERS,
    C.LB_N_RUNS,
    C.LB_RUNS,
)

Problem = Callable[[str], Exception]


def is_url(text: str) -> bool:
    """Whether ``code_url`` is a web address (else it is a repository path)."""
    return text.startswith(("http://", "https://"))


def _code_url_problem(value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if len(value) > MAX_URL_CHARS:
        return f"is {len(value)} characters long, more than {MAX_URL_CHARS}"
    if is_url(value):
        return None if URL_PATTERN.fullmatch(value) else "is not a plain http(s) URL"
    if ":" in value or value.startswith("/"):
        return "must be an http:// or https:// URL or a relative path inside the repository"
    if not REPO_PATH_PATTERN.fullmatch(value) or ".." in value.split("/"):
        return "is not a plain relative path (letters, digits, '.', '_', '-', '/'; no '..')"
    return None


def _count_problem(value: Any, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"must be an integer in [{low}, {high}]"
    return None


def _n_parameters_problem(value: Any, nuclei: Sequence[str]) -> str | None:
    if isinstance(value, dict):
        if sorted(value) != sorted(nuclei):
            return f"must give a count for exactly the report's nuclei ({', '.join(nuclei)})"
        for nucleus, count in value.items():
            problem = _count_problem(count, 1, MAX_PARAMETERS)
            if problem:
                return f"for {nucleus} {problem}"
        return None
    return _count_problem(value, 1, MAX_PARAMETERS)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=SPREAD_RTOL, abs_tol=1e-12)


def _stats_problem(
    where: str,
    stats: Any,
    n_runs: int,
    check_value: Callable[[str, str, float], None],
) -> str | None:
    if not isinstance(stats, dict) or not {C.RUNS_MEAN, C.RUNS_STD} <= set(stats):
        return f"{where} must be an object with 'mean' and 'std'"
    extra = set(stats) - {C.RUNS_MEAN, C.RUNS_STD, C.RUNS_PER_RUN}
    if extra:
        return f"{where} has the unknown field {sorted(extra)[0]!r}"
    mean, std = stats[C.RUNS_MEAN], stats[C.RUNS_STD]
    if not isinstance(mean, dict) or not isinstance(std, dict) or not mean:
        return f"{where}: 'mean' and 'std' must be non-empty objects"
    if set(mean) != set(std):
        return f"{where}: 'mean' and 'std' must hold the same keys"
    allowed = set(C.NUCLEUS_REPORT_KEYS) - {C.R_N}
    for key in mean:
        if key not in allowed:
            return f"{where}: {key!r} is not a per-nucleus report key"
        m, s = mean[key], std[key]
        if (m is None) != (s is None):
            return f"{where}: {key} mean and std must both be numbers or both null"
        if m is None:
            continue
        check_value(where, key, m)
        if s < 0 or s > MAX_PARAMETERS:
            return f"{where}: std of {key} must be a number ≥ 0"
    per_run = stats.get(C.RUNS_PER_RUN)
    if per_run is None:
        return None
    if not isinstance(per_run, list) or len(per_run) != n_runs:
        return f"{where}: 'per_run' must be a list of n_runs = {n_runs} objects"
    for i, run in enumerate(per_run):
        if not isinstance(run, dict) or set(run) != set(mean):
            return f"{where}: per_run[{i}] must hold the keys of 'mean'"
    for key in mean:
        values = [run[key] for run in per_run]
        if mean[key] is None:
            if any(v is not None for v in values):
                return f"{where}: {key} is null in 'mean' but not in every run"
            continue
        if any(v is None for v in values):
            return f"{where}: {key} is null in a run but not in 'mean'"
        for v in values:
            check_value(where, key, v)
        mu = math.fsum(values) / n_runs
        sd = math.sqrt(math.fsum((v - mu) ** 2 for v in values) / n_runs)
        if not _close(mean[key], mu):
            return f"{where}: mean of {key} is {mean[key]!r}, but per_run averages {mu!r}"
        if not _close(std[key], sd):
            return (
                f"{where}: std of {key} is {std[key]!r}, but the population standard deviation "
                f"(ddof = 0) of per_run is {sd!r}"
            )
    return None


def _runs_problem(
    runs: Any, n_runs: int, nuclei: Sequence[str], check_value: Callable[[str, str, float], None]
) -> str | None:
    if not isinstance(runs, dict):
        return "'runs' must be an object"
    extra = set(runs) - {C.RUNS_OVER, C.RUNS_PROTOCOL, C.RUNS_NUCLEI}
    if extra:
        return f"'runs' has the unknown field {sorted(extra)[0]!r}"
    if runs.get(C.RUNS_OVER) not in C.RUNS_OVER_CHOICES:
        return f"runs.over must be one of {', '.join(C.RUNS_OVER_CHOICES)}"
    if C.RUNS_PROTOCOL in runs:
        problem = names.text_problem(runs[C.RUNS_PROTOCOL], max_chars=MAX_DESCRIPTION_CHARS)
        if problem:
            return f"runs.protocol {problem}"
    per_nucleus = runs.get(C.RUNS_NUCLEI)
    if not isinstance(per_nucleus, dict) or not per_nucleus:
        return "runs.nuclei must be a non-empty object"
    for nucleus, stats in per_nucleus.items():
        if nucleus not in nuclei:
            return f"runs.nuclei has {nucleus!r}, which is not a nucleus of the report"
        problem = _stats_problem(f"runs.nuclei.{nucleus}", stats, n_runs, check_value)
        if problem:
            return problem
    return None


def validate_optional(
    data: Mapping[str, Any],
    nuclei: Sequence[str],
    fail: Problem,
    check_value: Callable[[str, str, float], None],
) -> None:
    """Check the optional fields of an entry (module docstring).

    Parameters
    ----------
    data : mapping
        The entry (its required fields already validated).
    nuclei : sequence of str
        Nuclei of the entry's report.
    fail : callable
        Makes the exception for a problem (a clause naming the field).
    check_value : callable
        ``check_value(where, key, value)`` raises for a value outside the range
        of report key ``key`` (fractions, correlations, non-negative errors).
    """
    checks: dict[str, Callable[[Any], str | None]] = {
        C.LB_CODE_URL: _code_url_problem,
        C.LB_DESCRIPTION: lambda v: names.text_problem(v, max_chars=MAX_DESCRIPTION_CHARS),
        C.LB_N_PARAMETERS: lambda v: _n_parameters_problem(v, nuclei),
        C.LB_N_RUNS: lambda v: _count_problem(v, 2, MAX_RUNS),
    }
    for key, check in checks.items():
        if key in data:
            problem = check(data[key])
            if problem:
                raise fail(f"the field {key!r} {problem}")
    if (C.LB_N_RUNS in data) != (C.LB_RUNS in data):
        raise fail("the fields 'n_runs' and 'runs' come together (give both or neither)")
    if C.LB_RUNS in data:
        problem = _runs_problem(data[C.LB_RUNS], data[C.LB_N_RUNS], nuclei, check_value)
        if problem:
            raise fail(problem)


def spread(per_run: Sequence[Mapping[str, float | None]]) -> dict[str, Any]:
    """``{"mean", "std", "per_run"}`` of one nucleus from its per-run metrics.

    Parameters
    ----------
    per_run : sequence of mapping
        One mapping report key -> value (or None) per run, all with the same keys.

    Returns
    -------
    dict
        Mean and population standard deviation (ddof = 0) per key (None where
        the runs give None), and the runs themselves as plain floats.
    """
    keys = list(per_run[0])
    runs = [{k: None if r[k] is None else float(r[k]) for k in keys} for r in per_run]
    mean: dict[str, float | None] = {}
    std: dict[str, float | None] = {}
    for k in keys:
        values = [r[k] for r in runs]
        if any(v is None for v in values):
            mean[k] = std[k] = None
            for r in runs:
                r[k] = None
            continue
        mu = math.fsum(values) / len(values)
        mean[k] = mu
        std[k] = math.sqrt(math.fsum((v - mu) ** 2 for v in values) / len(values))
    return {C.RUNS_MEAN: mean, C.RUNS_STD: std, C.RUNS_PER_RUN: runs}


def make_runs(
    per_nucleus: Mapping[str, Sequence[Mapping[str, float | None]]],
    over: str = C.RUNS_OVER_FOLDS,
    protocol: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """``(n_runs, runs)`` fields of an entry from per-run metrics per nucleus.

    Parameters
    ----------
    per_nucleus : mapping
        nucleus -> one mapping of report keys per run (the same number of runs
        for every nucleus).
    over : str
        ``"folds"`` (cross-validation folds) or ``"seeds"``.
    protocol : str, optional
        How the runs were made, in one sentence.

    Raises
    ------
    ValueError
        Fewer than two runs, or a different number of runs per nucleus.
    """
    counts = {len(v) for v in per_nucleus.values()}
    if len(counts) != 1 or min(counts) < 2:
        raise ValueError(f"need the same number (≥ 2) of runs for every nucleus, got {counts}")
    runs: dict[str, Any] = {C.RUNS_OVER: over}
    if protocol is not None:
        runs[C.RUNS_PROTOCOL] = protocol
    runs[C.RUNS_NUCLEI] = {n: spread(v) for n, v in per_nucleus.items()}
    return counts.pop(), runs


def overall_runs(runs: Mapping[str, Any], key: str = C.R_SCORE) -> tuple[float, float] | None:
    """Mean and std over runs of the per-run mean over nuclei of ``key``.

    Needs ``per_run`` with a number for ``key`` in every nucleus; None otherwise.
    Run *k* of every nucleus is taken as one run of the whole model (fold *k*
    of the frozen folds, or seed *k*).
    """
    per_nucleus = runs.get(C.RUNS_NUCLEI, {})
    columns = []
    for stats in per_nucleus.values():
        per_run = stats.get(C.RUNS_PER_RUN)
        if not per_run or any(r.get(key) is None for r in per_run):
            return None
        columns.append([float(r[key]) for r in per_run])
    if not columns:
        return None
    overall = [math.fsum(c[i] for c in columns) / len(columns) for i in range(len(columns[0]))]
    mu = math.fsum(overall) / len(overall)
    return mu, math.sqrt(math.fsum((v - mu) ** 2 for v in overall) / len(overall))
