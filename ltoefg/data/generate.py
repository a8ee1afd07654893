"""Build data-set files: ``pcm-v1`` from scratch, or a DFT version from CASTEP ``.magres`` files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ltoefg.data import h5format
from ltoefg.errors import DataError

PCM_NAME = "pcm-v1"
PCM_LABEL_METHOD = "point-charge-ewald"
PCM_DESCRIPTION = (
    "EFG labels from an Ewald-summed point-charge model (formal charges Li +1, Ti +4, O -2; "
    "Sternheimer factors 1 - gamma_inf: Li+ 0.729, Ti4+ 1, O2- 1). These are NOT DFT "
    "(CASTEP/GIPAW) EFGs: a physically grounded, exactly equivariant surrogate of the "
    "paper's labels on the paper's structure protocol."
)
DFT_LABEL_METHOD = "dft-castep-gipaw"


def pcm_arrays(progress: bool = False, n_structures: int | None = None) -> h5format.DatasetArrays:
    """Generate the ``pcm-v1`` structures and label them (in memory).

    Parameters
    ----------
    progress : bool
        Show progress bars (tqdm).
    n_structures : int, optional
        Fewer structures than the registered 1640 (for tests); same seed.
    """
    from tqdm import tqdm

    from ltoefg.data import pointcharge, structures

    n = structures.N_STRUCTURES if n_structures is None else n_structures
    frames, table = structures.generate_structures(n_structures=n, progress=progress)
    efg = np.concatenate(
        [
            pointcharge.pcm_efg(a)
            for a in tqdm(frames, desc="point-charge EFG", disable=not progress)
        ]
    )
    params = {
        "structures": structures.GENERATOR_PARAMETERS,
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
        PCM_NAME, PCM_LABEL_METHOD, PCM_DESCRIPTION, frames, efg, table, params
    )


def generate_pcm(out: str | Path, progress: bool = False, n_structures: int | None = None) -> Path:
    """Rebuild ``pcm-v1`` from scratch and write it to ``out`` (atomically).

    A rebuilt file equals the registered one numerically (floating-point results
    may differ in the last bits between machines, so compare arrays, not hashes).
    """
    out = Path(out)
    if not out.parent.is_dir():
        raise DataError(f"{out}: the folder {out.parent} does not exist; create it first.")
    return h5format.write(out, pcm_arrays(progress=progress, n_structures=n_structures))


def build_from_magres(directory: str | Path, out: str | Path, name: str | None = None) -> Path:
    """Import every ``*.magres`` file of a folder (sorted by name) into one data-set file.

    Parameters
    ----------
    directory : str or pathlib.Path
        Folder with CASTEP ``.magres`` files (EFG in atomic units).
    out : str or pathlib.Path
        Destination ``.h5`` file.
    name : str, optional
        Version name stored in the file (default: the folder name).
    """
    from ltoefg.data.magres import read_magres

    directory, out = Path(directory), Path(out)
    files = sorted(directory.glob("*.magres"))
    if not files:
        raise DataError(
            f"{directory}: no .magres files found; point --magres at the folder that holds them."
        )
    if not out.parent.is_dir():
        raise DataError(f"{out}: the folder {out.parent} does not exist; create it first.")
    frames, tensors = [], []
    for path in files:
        atoms, efg = read_magres(path)
        frames.append(atoms)
        tensors.append(efg)
    table = pd.DataFrame({"source": [p.name for p in files]})
    data = h5format.from_structures(
        name or directory.name,
        DFT_LABEL_METHOD,
        "EFG tensors imported from CASTEP .magres files (DFT/GIPAW), converted from atomic "
        "units to V/Angstrom^2 (1 a.u. = 97.1736242 V/Angstrom^2).",
        frames,
        np.concatenate(tensors),
        table,
        {"importer": "ltoefg.data.magres", "files": [p.name for p in files]},
    )
    return h5format.write(out, data)
