"""The leaderboard (SPEC §8): validated result entries and the rendered tables.

Layout of a checkout::

    leaderboard/entries/*.json      one entry per (dataset, split, model)
    leaderboard/reference/*.json    published numbers (the paper, DFT labels)
    leaderboard/README.md           rendered by ``ltoefg leaderboard``
    README.md                       its results table between the markers
                                    <!-- results:start --> and <!-- results:end -->

Entry schema (``ltoefg-leaderboard-entry/1``), a JSON object with exactly:

=====================  ===========================================================
``schema``             ``"ltoefg-leaderboard-entry/1"``
``model``              str, equal to ``report["model"]``
``code_version``       str (ltoefg version and/or git commit of the model code)
``hyperparameters``    object (JSON; free structure)
``n_train``            object nucleus -> int ≥ 0, one per nucleus of the report
``train_wall_time_s``  number ≥ 0, seconds (all nuclei)
``predict_wall_time_s`` number ≥ 0, seconds (all nuclei)
``machine``            str (CPU, cores, memory)
``report``             the ``ltoefg evaluate`` JSON report, unchanged
``date``, ``notes``    optional str
``code_url``, ``description``, ``n_parameters``, ``n_runs``, ``runs``
                       optional (SPEC §8 v2), see :mod:`ltoefg.leaderboard.fields`
=====================  ===========================================================

Reference schema (``ltoefg-leaderboard-reference/1``): ``source``, ``dataset``,
``label_method``, ``split``, ``caption`` (str) and ``rows``: a list of
``{"model", "kind", "nucleus", "metrics": {report key: number or null},
"text": {report key: str}}`` where ``text`` overrides how a value is shown
(e.g. "> 10" where the source gives no exact number).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ltoefg import constants as C
from ltoefg import names
from ltoefg.io import json_safe
from ltoefg.leaderboard import fields as F
from ltoefg.leaderboard import render as R
from ltoefg.leaderboard.entry import Entry, EntryError

ENTRIES_DIR = Path("leaderboard") / "entries"
REFERENCE_DIR = Path("leaderboard") / "reference"
LEADERBOARD_README = Path("leaderboard") / "README.md"
TOP_README = Path("README.md")
REFERENCE_SCHEMA_VERSION = "ltoefg-leaderboard-reference/1"

_REQUIRED: dict[str, tuple[type, ...]] = {
    C.LB_SCHEMA: (str,),
    C.LB_MODEL: (str,),
    C.LB_CODE_VERSION: (str,),
    C.LB_HYPERPARAMETERS: (dict,),
    C.LB_N_TRAIN: (dict,),
    C.LB_TRAIN_WALL_TIME_S: (int, float),
    C.LB_PREDICT_WALL_TIME_S: (int, float),
    C.LB_MACHINE: (str,),
    C.LB_REPORT: (dict,),
}
_OPTIONAL: dict[str, tuple[type, ...]] = {C.LB_DATE: (str,), C.LB_NOTES: (str,)}
_REPORT_STR = (C.RT_DATASET, C.RT_SPLIT, C.RT_MODEL, C.RT_KIND, C.RT_VERSION, C.RT_LABEL_METHOD)


def _err(path: Path, problem: str) -> EntryError:
    return EntryError(f"{path}: {problem.rstrip('.')}.")


def _is_number(x: Any) -> bool:
    """A finite int or float of sane size (|x| ≤ ``json_safe.MAX_MAGNITUDE``)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return False
    if isinstance(x, int):
        return abs(x) <= json_safe.MAX_MAGNITUDE
    return math.isfinite(x) and abs(x) <= json_safe.MAX_MAGNITUDE


#: Report keys whose values are fractions in [0, 1].
_FRACTIONS = (C.R_FRAC_REASSIGNED, C.R_FRAC_OMEGA_Q_WITHIN, C.R_MEAN_XI, C.R_MEAN_XI_REASSIGNED)
#: Report keys that are Pearson correlations in [−1, 1].
_CORRELATIONS = (C.R_R_CQ_TILDE, C.R_R_ETA_TILDE, C.R_R_THETA, C.R_R_PHI, C.R_R_OMEGA_Q)


def _check_range(path: Path, where: str, key: str, v: float) -> None:
    if key == C.R_N and not (isinstance(v, int) and 0 < v <= 10**7):
        raise _err(path, f"report value {where}.{key} must be a positive integer count")
    if key in _FRACTIONS and not 0.0 <= v <= 1.0:
        raise _err(path, f"report value {where}.{key} = {v!r} must lie in [0, 1]")
    if key in _CORRELATIONS and not -1.0 <= v <= 1.0:
        raise _err(path, f"report value {where}.{key} = {v!r} must lie in [-1, 1]")
    if key not in _CORRELATIONS and v < 0:
        raise _err(path, f"report value {where}.{key} = {v!r} must not be negative")


def validate_report(report: Any, path: Path) -> None:
    """Check that ``report`` has the shape of an ``ltoefg evaluate`` report.

    Raises
    ------
    EntryError
        Naming ``path`` and the first problem found.
    """
    if not isinstance(report, dict):
        raise _err(path, "'report' must be an object")
    version = report.get(C.RT_REPORT_VERSION, 1)
    if (
        not isinstance(version, int)
        or isinstance(version, bool)
        or version not in C.REPORT_VERSIONS
        or (C.RT_REPORT_VERSION in report and version == 1)
    ):
        raise _err(
            path,
            f"report field {C.RT_REPORT_VERSION!r} is {version!r}, expected one of "
            f"{', '.join(str(v) for v in C.REPORT_VERSIONS[1:])} (version 1 reports have "
            "no such field)",
        )
    keys = C.nucleus_report_keys(version)
    for key in _REPORT_STR:
        if not isinstance(report.get(key), str):
            raise _err(path, f"report field {key!r} is missing or not a string")
    for key in (C.RT_DATASET, C.RT_LABEL_METHOD):
        problem = names.name_problem(report[key])
        if problem:
            raise _err(path, f"report field {key!r}: {problem}")
    problem = names.text_problem(report[C.RT_MODEL])
    if problem:
        raise _err(path, f"report field 'model' {problem}")
    if report[C.RT_KIND] not in C.KINDS:
        raise _err(path, f"report kind {report[C.RT_KIND]!r} is not one of {', '.join(C.KINDS)}")
    if report[C.RT_SPLIT] not in C.SPLITS:
        raise _err(path, f"report split {report[C.RT_SPLIT]!r} is not one of {', '.join(C.SPLITS)}")
    if not _is_number(report.get(C.RT_TAU)) or not 0.0 <= report[C.RT_TAU] < 1.0:
        raise _err(path, "report field 'tau' is missing or not a number in [0, 1)")
    nuclei = report.get(C.RT_NUCLEI)
    if not isinstance(nuclei, dict) or not nuclei:
        raise _err(path, "report field 'nuclei' must be a non-empty object")
    tensor = report[C.RT_KIND] == C.KIND_TENSOR
    for nucleus, rep in nuclei.items():
        if nucleus not in C.NUCLEI:
            raise _err(path, f"report nucleus {nucleus!r} is not one of {', '.join(C.NUCLEI)}")
        if not isinstance(rep, dict):
            raise _err(path, f"report nucleus {nucleus} must be an object")
        missing = [k for k in keys if k not in rep]
        if missing:
            raise _err(
                path, f"report nucleus {nucleus} lacks {missing[0]!r} (report version {version})"
            )
        for k in keys:
            v = rep[k]
            if v is not None and not _is_number(v):
                raise _err(path, f"report value {nucleus}.{k} must be a number or null")
            if v is not None:
                _check_range(path, nucleus, k, v)
            if not tensor and k in C.TENSOR_ONLY_KEYS and v is not None:
                raise _err(
                    path, f"report value {nucleus}.{k} must be null for an observables report"
                )
        if tensor and rep[C.R_SCORE] is None:
            raise _err(path, f"report value {nucleus}.score is null in a tensor report")
    score = report.get(C.RT_SCORE, "missing")
    if not (score is None or _is_number(score)):
        raise _err(path, "report field 'score' must be a number or null")


def validate_entry(data: Any, path: Path) -> Entry:
    """Validate one entry (schema in the module docstring).

    Raises
    ------
    EntryError
        Naming ``path`` and the first problem found.
    """
    if not isinstance(data, dict):
        raise _err(path, "an entry must be a JSON object")
    try:
        json_safe.check_values(data)
    except json_safe.JSONBoundsError as exc:
        raise _err(path, f"refused: {exc}") from None
    for key, types in _REQUIRED.items():
        if key not in data:
            raise _err(path, f"the entry lacks the field {key!r}")
        if not isinstance(data[key], types) or isinstance(data[key], bool):
            raise _err(path, f"the field {key!r} has the wrong type")
    unknown = [
        k for k in data if k not in _REQUIRED and k not in _OPTIONAL and k not in F.OPTIONAL_FIELDS
    ]
    if unknown:
        raise _err(path, f"unknown field {unknown[0]!r}")
    for key, types in _OPTIONAL.items():
        if key in data and not isinstance(data[key], types):
            raise _err(path, f"the field {key!r} must be a string")
    if data[C.LB_SCHEMA] != C.LB_SCHEMA_VERSION:
        raise _err(path, f"schema {data[C.LB_SCHEMA]!r} is not {C.LB_SCHEMA_VERSION!r}")
    for key in (C.LB_TRAIN_WALL_TIME_S, C.LB_PREDICT_WALL_TIME_S):
        if not _is_number(data[key]) or data[key] < 0:
            raise _err(path, f"the field {key!r} must be a number of seconds ≥ 0")
    validate_report(data[C.LB_REPORT], path)
    report = data[C.LB_REPORT]
    if data[C.LB_MODEL] != report[C.RT_MODEL]:
        raise _err(
            path,
            f"the entry model {data[C.LB_MODEL]!r} differs from the report's "
            f"{report[C.RT_MODEL]!r}",
        )
    n_train = data[C.LB_N_TRAIN]
    for nucleus in report[C.RT_NUCLEI]:
        v = n_train.get(nucleus)
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 10**9:
            raise _err(path, f"n_train has no non-negative integer for {nucleus}")
    for key in (C.LB_CODE_VERSION, C.LB_MACHINE, C.LB_DATE):
        problem = names.text_problem(data.get(key, ""), max_chars=500)
        if problem:
            raise _err(path, f"the field {key!r} {problem}")

    def check_value(where: str, key: str, value: Any) -> None:
        if not _is_number(value):
            raise _err(path, f"{where}.{key} must be a number or null")
        _check_range(path, where, key, value)

    F.validate_optional(
        data, list(report[C.RT_NUCLEI]), lambda problem: _err(path, problem), check_value
    )
    return Entry(path=path, data=data)


def _read_json(path: Path) -> Any:
    """Parse a file within :mod:`ltoefg.io.json_safe`'s bounds (size, depth, numbers)."""
    try:
        return json_safe.load(path)
    except json_safe.JSONBoundsError as exc:
        raise _err(path, f"refused: {exc}") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _err(path, f"not readable JSON ({' '.join(str(exc).split())[:200]})") from None


def load_entries(root: str | os.PathLike[str] = ".") -> list[Entry]:
    """All entries of ``root/leaderboard/entries`` (validated; unique per dataset, split, model)."""
    folder = Path(root) / ENTRIES_DIR
    entries = [validate_entry(_read_json(p), p) for p in sorted(folder.glob("*.json"))]
    seen: dict[tuple[str, str, str], Path] = {}
    for e in entries:
        if e.key in seen:
            raise _err(e.path, f"it repeats (dataset, split, model) = {e.key} of {seen[e.key]}")
        seen[e.key] = e.path
    return entries


def validate_reference(data: Any, path: Path) -> dict[str, Any]:
    """Validate a reference file (schema in the module docstring)."""
    if not isinstance(data, dict) or data.get(C.LB_SCHEMA) != REFERENCE_SCHEMA_VERSION:
        raise _err(
            path, f"a reference file must be an object with schema {REFERENCE_SCHEMA_VERSION!r}"
        )
    try:
        json_safe.check_values(data)
    except json_safe.JSONBoundsError as exc:
        raise _err(path, f"refused: {exc}") from None
    for key in ("source", "dataset", "label_method", "split", "caption"):
        if not isinstance(data.get(key), str):
            raise _err(path, f"the reference field {key!r} is missing or not a string")
    rows = data.get("rows")
    if not isinstance(rows, list) or not rows:
        raise _err(path, "'rows' must be a non-empty list")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _err(path, f"row {i} must be an object")
        for key in ("model", "kind", "nucleus"):
            if not isinstance(row.get(key), str):
                raise _err(path, f"row {i} lacks a string {key!r}")
        if row["nucleus"] not in C.NUCLEI or row["kind"] not in C.KINDS:
            raise _err(path, f"row {i} has an unknown nucleus or kind")
        metrics = row.get("metrics")
        if not isinstance(metrics, dict):
            raise _err(path, f"row {i} lacks a 'metrics' object")
        for k, v in metrics.items():
            if k not in C.NUCLEUS_REPORT_KEYS:
                raise _err(path, f"row {i} has an unknown metric {k!r}")
            if v is not None and not _is_number(v):
                raise _err(path, f"row {i} metric {k!r} must be a number or null")
        text = row.get("text", {})
        if not isinstance(text, dict) or not all(isinstance(v, str) for v in text.values()):
            raise _err(path, f"row {i} 'text' must map metric keys to strings")
    return data


def load_references(root: str | os.PathLike[str] = ".") -> list[tuple[Path, dict[str, Any]]]:
    """All reference files of ``root/leaderboard/reference`` (validated)."""
    folder = Path(root) / REFERENCE_DIR
    return [(p, validate_reference(_read_json(p), p)) for p in sorted(folder.glob("*.json"))]


# ------------------------------------------------------------------------------ entries
def entry_filename(dataset: str, split: str, model: str) -> str:
    """File name of an entry: ``<dataset>__<split>__<model slug>.json``.

    ``dataset`` and ``split`` must be plain names (:data:`ltoefg.names.NAME_PATTERN`);
    the model is reduced to a slug of letters, digits, ``.``, ``_`` and ``-``
    (at most 64 characters), so the name never holds a path.

    Raises
    ------
    EntryError
        ``dataset`` or ``split`` is not a plain name.
    """
    for what, value in (("dataset", dataset), ("split", split)):
        problem = names.name_problem(value)
        if problem:
            raise EntryError(f"entry {what} {problem}; it would become part of a file name.")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", str(model)).strip("-.").lower()[:64].strip("-.")
    return f"{dataset}__{split}__{slug or 'model'}.json"


def make_entry(
    report: Mapping[str, Any],
    *,
    code_version: str,
    hyperparameters: Mapping[str, Any],
    n_train: Mapping[str, int],
    train_wall_time_s: float,
    predict_wall_time_s: float,
    machine: str,
    date: str | None = None,
    notes: str | None = None,
    code_url: str | None = None,
    description: str | None = None,
    n_parameters: int | Mapping[str, int] | None = None,
    runs: Mapping[str, Any] | None = None,
    n_runs: int | None = None,
) -> dict[str, Any]:
    """Assemble (and validate) an entry from an evaluator report and its metadata.

    Parameters
    ----------
    report : dict
        From :func:`ltoefg.evaluate`.
    code_version : str
        Version of the model code (e.g. ``"ltoefg 0.1.0, git abc1234"``).
    hyperparameters : dict
        JSON-serialisable.
    n_train : dict
        Training-set size per nucleus.
    train_wall_time_s, predict_wall_time_s : float
        Wall-clock seconds over all nuclei.
    machine : str
        CPU model, cores, memory.
    date, notes : str, optional
    code_url : str, optional
        http(s) URL of the model's code, or a path inside this repository.
    description : str, optional
        Paper reference or a sentence about the model.
    n_parameters : int or dict, optional
        Fitted parameters: of the whole model, or per nucleus.
    runs : dict, optional
        Spread over CV folds or seeds, from
        :func:`ltoefg.leaderboard.fields.make_runs` (which also returns ``n_runs``).
    n_runs : int, optional
        Number of runs in ``runs``; taken from ``runs["nuclei"][…]["per_run"]`` if omitted.
    """
    data: dict[str, Any] = {
        C.LB_SCHEMA: C.LB_SCHEMA_VERSION,
        C.LB_MODEL: report[C.RT_MODEL],
        C.LB_CODE_VERSION: code_version,
        C.LB_HYPERPARAMETERS: json.loads(json.dumps(dict(hyperparameters))),
        C.LB_N_TRAIN: {k: int(v) for k, v in n_train.items()},
        C.LB_TRAIN_WALL_TIME_S: float(train_wall_time_s),
        C.LB_PREDICT_WALL_TIME_S: float(predict_wall_time_s),
        C.LB_MACHINE: machine,
        C.LB_REPORT: json.loads(json.dumps(dict(report))),
    }
    if date is not None:
        data[C.LB_DATE] = date
    if notes is not None:
        data[C.LB_NOTES] = notes
    if isinstance(n_parameters, Mapping):
        n_parameters = {k: int(v) for k, v in n_parameters.items()}
    optional = {
        C.LB_CODE_URL: code_url,
        C.LB_DESCRIPTION: description,
        C.LB_N_PARAMETERS: n_parameters,
    }
    if runs is not None:
        if n_runs is None:
            per_run = [s.get(C.RUNS_PER_RUN) for s in runs.get(C.RUNS_NUCLEI, {}).values()]
            n_runs = len(per_run[0]) if per_run and per_run[0] else None
        optional[C.LB_N_RUNS] = n_runs
        optional[C.LB_RUNS] = json.loads(json.dumps(dict(runs)))
    data.update({k: v for k, v in optional.items() if v is not None})
    validate_entry(data, Path("<new entry>"))
    return data


def write_entry(root: str | os.PathLike[str], entry: Mapping[str, Any]) -> Path:
    """Write an entry into ``root/leaderboard/entries`` (atomically); returns its path.

    The entry is validated first and its file name made from validated names
    (:func:`entry_filename`); the path is checked to lie in the entries folder.

    Raises
    ------
    EntryError
        A bad entry, or a name that would leave the entries folder.
    LtoefgError
        The file cannot be written (one sentence naming it).
    """
    from ltoefg.io.outputs import check_file_target, commit, json_text

    r = entry[C.LB_REPORT] if isinstance(entry, Mapping) else None
    if not isinstance(r, Mapping):
        raise EntryError("an entry needs a 'report' object.")
    folder = Path(root) / ENTRIES_DIR
    name = entry_filename(r.get(C.RT_DATASET), r.get(C.RT_SPLIT), r.get(C.RT_MODEL, ""))
    path = folder / name
    if path.parent != folder or not names.NAME_PATTERN.fullmatch(name.removesuffix(".json")[:64]):
        raise EntryError(f"{path}: refusing to write an entry outside {folder}.")
    validate_entry(dict(entry), path)
    text = json_text(dict(entry), path)
    if not folder.is_dir():
        check_file_target(folder, "entries folder")
        folder.mkdir(parents=True, exist_ok=True)
    commit({check_file_target(path, "leaderboard entry"): text})
    return path


# ---------------------------------------------------------------------------- rendering
render_leaderboard = R.render_leaderboard
render_results_block = R.render_results_block


def replace_between_markers(text: str, block: str) -> str | None:
    """``text`` with the part between the results markers replaced by ``block``.

    Returns None if the markers are absent or out of order.
    """
    start = text.find(C.LB_RESULTS_START)
    end = text.find(C.LB_RESULTS_END, start + 1) if start >= 0 else -1
    if start < 0 or end < 0:
        return None
    head = text[: start + len(C.LB_RESULTS_START)]
    return f"{head}\n{block.strip()}\n{text[end:]}"


@dataclass
class Rendered:
    """Rendered files of a checkout.

    Attributes
    ----------
    files : dict
        path -> new content (the README only if it has the markers).
    current : dict
        path -> content on disk (None if missing).
    n_entries : int
    readme_note : str
        Non-empty if the top-level README was left alone (and why).
    """

    files: dict[Path, str] = field(default_factory=dict)
    current: dict[Path, str | None] = field(default_factory=dict)
    n_entries: int = 0
    readme_note: str = ""


def _read_text(path: Path) -> str | None:
    """Current content of a rendered file; None if missing or not a file (it gets rewritten)."""
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise EntryError(f"{path}: cannot be read ({exc}); fix or remove it.") from None


def render_files(root: str | os.PathLike[str] = ".") -> Rendered:
    """Render ``leaderboard/README.md`` and the README results block of checkout ``root``.

    Raises
    ------
    EntryError
        A bad entry or reference file (named), or no ``leaderboard/`` folder.
    """
    root = Path(root)
    if not (root / "leaderboard").is_dir():
        raise EntryError(
            f"{root / 'leaderboard'}: no leaderboard folder here; run from the checkout "
            "or pass --root."
        )
    entries = load_entries(root)
    refs = load_references(root)
    out = Rendered(n_entries=len(entries))
    lb = root / LEADERBOARD_README
    out.files[lb] = render_leaderboard(entries, refs)
    out.current[lb] = _read_text(lb)
    readme = root / TOP_README
    text = _read_text(readme)
    if text is None:
        out.readme_note = f"{readme} does not exist; only {lb} was rendered."
    else:
        new = replace_between_markers(text, render_results_block(entries, refs))
        if new is None:
            out.readme_note = (
                f"{readme} lacks the markers {C.LB_RESULTS_START} … {C.LB_RESULTS_END}; "
                "it was left alone."
            )
        else:
            out.files[readme] = new
            out.current[readme] = text
    return out


def stale_files(rendered: Rendered) -> list[Path]:
    """Rendered files whose content on disk differs."""
    return [p for p, text in rendered.files.items() if rendered.current.get(p) != text]


def write_rendered(rendered: Rendered) -> list[Path]:
    """Write the files that changed, all or none (atomically); returns their paths."""
    from ltoefg.io.outputs import check_file_target, commit

    changed = stale_files(rendered)
    for path in changed:
        check_file_target(path, "rendered leaderboard")
    return commit({path: rendered.files[path] for path in changed})
