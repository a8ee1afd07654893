"""Per-structure DFT results: one JSON file each, written atomically.

A result file (schema :data:`RESULT_SCHEMA`) holds the structure it belongs to
(cell, symbols, reduced positions, ase order), the status (``"ok"``,
``"unconverged"`` or ``"failed"``, the last two with a reason), the Elk EFG of
every atom in V/Å² (``efg``, physical sign, ase order) and the provenance:
protocol (every setting), Elk version, species files with SHA-256, the
BLAS/LAPACK libraries, SCF iterations, final RMS change of the potential, the
EFG-change history, band gap, wall time, threads, host. Only ``"ok"`` results
ever enter a data set (:func:`load_ok`).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from numpy.typing import NDArray

from ltoefg.dft.errors import DftError, DftOutputError

__all__ = [
    "RESULT_SCHEMA",
    "STATUSES",
    "STATUS_FAILED",
    "STATUS_OK",
    "STATUS_UNCONVERGED",
    "check_matches",
    "load_ok",
    "read_result",
    "result_efg",
    "result_name",
    "write_json_atomic",
]

RESULT_SCHEMA = "ltoefg-dft-result/2"
_INNER_LIST = re.compile(r"\[\s*([-+0-9.eE,\s]*?)\s*\]")
STATUS_OK = "ok"
STATUS_UNCONVERGED = "unconverged"
STATUS_FAILED = "failed"
STATUSES = (STATUS_OK, STATUS_UNCONVERGED, STATUS_FAILED)


def result_name(dataset: str, structure: int) -> str:
    """Result file name of a structure of a data set, e.g. ``pcm-v2-s000123.json``."""
    return f"{dataset}-s{int(structure):06d}.json"


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write JSON to ``path`` atomically (temporary file in the same folder, then rename).

    Raises
    ------
    DftError
        If the folder does not exist or is not writable.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise DftError(
            f"{path.parent}: cannot write results there ({exc.strerror}); create the folder or "
            "choose a writable one."
        ) from None
    try:
        text = json.dumps(obj, indent=1, sort_keys=True)
        # one line per innermost list of numbers (tensor rows, positions): small, diffable
        text = _INNER_LIST.sub(lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
        with os.fdopen(fd, "w") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_result(path: str | Path) -> dict[str, Any]:
    """Read and validate a result file.

    Raises
    ------
    DftOutputError
        If the file is unreadable or not a result of this schema.
    """
    path = Path(path)
    try:
        res = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DftOutputError(
            f"{path}: not a readable DFT result ({exc}); delete it to recompute."
        ) from None
    if not isinstance(res, dict) or res.get("schema") != RESULT_SCHEMA:
        raise DftOutputError(f"{path}: not a {RESULT_SCHEMA} result; delete it to recompute.")
    if res.get("status") not in STATUSES:
        raise DftOutputError(f"{path}: unknown status {res.get('status')!r}; delete it.")
    if res["status"] == STATUS_OK:
        try:
            n = len(res["structure"]["symbols"])
            efg = np.asarray(res["efg"], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise DftOutputError(
                f"{path}: an ok result without structure or EFG; delete it."
            ) from None
        if efg.shape != (n, 3, 3) or not np.isfinite(efg).all():
            raise DftOutputError(f"{path}: 'efg' is not ({n}, 3, 3) finite numbers; delete it.")
    return res


def result_efg(res: dict[str, Any]) -> NDArray[np.float64]:
    """The EFG of an ``ok`` result, (natom, 3, 3), V/Å², ase order.

    Raises
    ------
    DftError
        If the result is not ``ok`` (unconverged or failed results never enter a data set).
    """
    if res.get("status") != STATUS_OK:
        raise DftError(f"result of {res.get('key')} is {res.get('status')!r}, not usable.")
    return np.asarray(res["efg"], float)


def structure_record(atoms: Atoms) -> dict[str, Any]:
    """The structure as stored in a result: cell (Å), symbols, reduced positions."""
    return {
        "cell": atoms.cell.array.tolist(),
        "symbols": atoms.get_chemical_symbols(),
        "scaled_positions": atoms.get_scaled_positions(False).tolist(),
    }


def check_matches(res: dict[str, Any], atoms: Atoms, tol: float = 1e-8) -> None:
    """Check that a result belongs to ``atoms`` (same species order, cell and positions).

    Raises
    ------
    DftOutputError
        If it does not.
    """
    s = res["structure"]
    key = res.get("key", "?")
    if list(s["symbols"]) != atoms.get_chemical_symbols():
        raise DftOutputError(f"result {key}: species/order differ from the structure.")
    if np.abs(np.asarray(s["cell"]) - atoms.cell.array).max() > tol:
        raise DftOutputError(f"result {key}: the cell differs from the structure's.")
    d = np.asarray(s["scaled_positions"]) - atoms.get_scaled_positions(False)
    if np.abs(d - np.round(d)).max() > tol:
        raise DftOutputError(f"result {key}: positions differ from the structure's.")


def load_ok(folder: str | Path, dataset: str, protocol: str) -> dict[int, dict[str, Any]]:
    """All ``ok`` results of a data set and protocol in a folder, by structure id.

    Parameters
    ----------
    folder : str or pathlib.Path
        Results folder (``<folder>/<protocol>/<dataset>-s*.json``).
    dataset, protocol : str
        Names.
    """
    out = {}
    for path in sorted((Path(folder) / protocol).glob(f"{dataset}-s*.json")):
        res = read_result(path)
        if res["status"] == STATUS_OK and res["protocol"]["name"] == protocol:
            out[int(res["key"]["structure"])] = res
    return out
