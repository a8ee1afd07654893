"""Build data-set files: point-charge releases from scratch, or a DFT version from ``.magres``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ltoefg.data import h5format
from ltoefg.errors import DataError

#: The current point-charge release (the embedded default).
PCM_NAME = "pcm-v2"
#: Point-charge releases → structure protocol of :mod:`ltoefg.data.structures`.
PCM_PROTOCOLS: dict[str, str] = {"pcm-v1": "v1", "pcm-v2": "v2"}
PCM_LABEL_METHOD = "point-charge-ewald"
_PCM_LABELS = (
    "EFG labels from an Ewald-summed point-charge model (formal charges Li +1, Ti +4, O -2; "
    "Sternheimer factors 1 - gamma_inf: Li+ 0.729, Ti4+ 1, O2- 1). These are NOT DFT EFGs: "
    "a physically grounded, exactly equivariant surrogate on the paper's structure protocol; "
    "on the structures measured, ABINIT PAW-PBE EFGs of Ti and O are not even close to them "
    "(see docs/dft.md)."
)
PCM_DESCRIPTIONS: dict[str, str] = {
    "pcm-v1": _PCM_LABELS + " Structures of protocol v1 (one 1.5 Angstrom guard for every "
    "pair; superseded by pcm-v2, whose structures have no unphysical contacts).",
    "pcm-v2": _PCM_LABELS + " Structures of protocol v2 (one minimum-distance guard per "
    "species pair; every structure passes ABINIT's PAW-sphere overlap check).",
}
#: Backwards-compatible name of the current description.
PCM_DESCRIPTION = PCM_DESCRIPTIONS[PCM_NAME]
DFT_LABEL_METHOD = "dft-castep-gipaw"


def _check_pcm_name(name: str) -> str:
    if name not in PCM_PROTOCOLS:
        known = ", ".join(PCM_PROTOCOLS)
        raise DataError(f"{name!r} is not a point-charge release; choose one of {known}.")
    return PCM_PROTOCOLS[name]


def pcm_arrays(
    progress: bool = False, n_structures: int | None = None, name: str = PCM_NAME
) -> h5format.DatasetArrays:
    """Generate the structures of a point-charge release and label them (in memory).

    Parameters
    ----------
    progress : bool
        Show progress bars (tqdm).
    n_structures : int, optional
        Fewer structures than the registered 1640 (for tests); same seed.
    name : str
        ``"pcm-v2"`` (default) or ``"pcm-v1"``.
    """
    from tqdm import tqdm

    from ltoefg.data import pointcharge, structures

    protocol = _check_pcm_name(name)
    n = structures.N_STRUCTURES if n_structures is None else n_structures
    frames, table = structures.generate_structures(
        n_structures=n, progress=progress, protocol=protocol
    )
    efg = np.concatenate(
        [
            pointcharge.pcm_efg(a)
            for a in tqdm(frames, desc="point-charge EFG", disable=not progress)
        ]
    )
    params = {
        "structures": structures.generator_parameters(protocol),
        "labels": {
            "method": PCM_LABEL_METHOD,
            "formal_charges": pointcharge.FORMAL_CHARGES,
            "sternheimer_gamma_inf": pointcharge.STERNHEIMER_GAMMA,
            "antishielding_factors": pointcharge.ANTISHIELDING_FACTORS,
            "coulomb_constant_V_A": pointcharge.K_E,
            "ewald_tolerance": 1e-10,
        },
        "n_structures": n,
    }
    return h5format.from_structures(
        name, PCM_LABEL_METHOD, PCM_DESCRIPTIONS[name], frames, efg, table, params
    )


def generate_pcm(
    out: str | Path,
    progress: bool = False,
    n_structures: int | None = None,
    name: str = PCM_NAME,
) -> Path:
    """Rebuild a point-charge release from scratch and write it to ``out`` (atomically).

    A rebuilt file equals the registered one numerically (floating-point results
    may differ in the last bits between machines, so compare arrays, not hashes).

    Parameters
    ----------
    out : str or pathlib.Path
        Destination ``.h5`` file; its folder must exist.
    progress : bool
        Show progress bars.
    n_structures : int, optional
        Fewer structures (tests).
    name : str
        ``"pcm-v2"`` (default) or ``"pcm-v1"``.
    """
    from ltoefg.io.outputs import check_file_target, output_error

    _check_pcm_name(name)
    out = check_file_target(out, "data-set file")  # before ~30 s of work
    data = pcm_arrays(progress=progress, n_structures=n_structures, name=name)
    try:
        return h5format.write(out, data)
    except OSError as exc:
        raise output_error(out, exc) from None


def _check_statistics(directory: Path, data: h5format.DatasetArrays, files: list[Path]) -> None:
    """Refuse a data set whose μ or σ of |Vzz| is zero (or not finite) for a nucleus."""
    from ase.data import atomic_numbers

    offsets = np.asarray(data.offsets)
    for nucleus, s in h5format.vzz_statistics(data.efg, data.numbers).items():
        mu, sigma = s["mu"], s["sigma"]
        if np.isfinite(mu) and np.isfinite(sigma) and mu > 0 and sigma > 0:
            continue
        has = data.numbers == atomic_numbers[nucleus]
        first = files[int(np.searchsorted(offsets, np.flatnonzero(has)[0], side="right") - 1)]
        raise DataError(
            f"{directory}: the {int(s['n'])} {nucleus} tensors of these .magres files (e.g. "
            f"{first.name}) have mean |Vzz| = {mu:g} and standard deviation {sigma:g} V/Å²; "
            "the metrics divide by both, so add calculations with non-zero, varied "
            f"{nucleus} EFGs (or leave out the files with {nucleus})."
        )


def build_from_magres(directory: str | Path, out: str | Path, name: str | None = None) -> Path:
    """Import every ``*.magres`` file of a folder (sorted by name) into one data-set file.

    Checked before anything is written: the output path can be written (before
    the files are read), the version name is a plain name, every tensor is
    finite (naming the file), and μ and σ of |Vzz| are positive for every
    nucleus present (the metrics divide by them).

    Parameters
    ----------
    directory : str or pathlib.Path
        Folder with CASTEP ``.magres`` files (EFG in atomic units).
    out : str or pathlib.Path
        Destination ``.h5`` file.
    name : str, optional
        Version name stored in the file (default: the folder name).

    Raises
    ------
    DataError
        No files, a bad file, a bad name or degenerate statistics.
    LtoefgError
        The output cannot be written (one sentence naming it).
    """
    from ltoefg import names
    from ltoefg.data.magres import read_magres
    from ltoefg.io.outputs import check_file_target, output_error

    directory, out = Path(directory), Path(out)
    version = name or directory.name
    problem = names.name_problem(version)
    if problem:
        raise DataError(f"{directory}: the data-set name {problem}; pass --name NAME.")
    files = sorted(directory.glob("*.magres"))
    if not files:
        raise DataError(
            f"{directory}: no .magres files found; point --magres at the folder that holds them."
        )
    check_file_target(out, "data-set file")
    frames, tensors = [], []
    for path in files:
        atoms, efg = read_magres(path)
        frames.append(atoms)
        tensors.append(efg)
    table = pd.DataFrame({"source": [p.name for p in files]})
    data = h5format.from_structures(
        version,
        DFT_LABEL_METHOD,
        "EFG tensors imported from CASTEP .magres files (DFT/GIPAW), converted from atomic "
        "units to V/Angstrom^2 (1 a.u. = 97.1736242 V/Angstrom^2).",
        frames,
        np.concatenate(tensors),
        table,
        {"importer": "ltoefg.data.magres", "files": [p.name for p in files]},
    )
    _check_statistics(directory, data, files)
    try:
        return h5format.write(out, data)
    except OSError as exc:
        raise output_error(out, exc) from None
