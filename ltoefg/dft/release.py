"""Assemble a DFT data-set version (``dft-pbe-v1``) from per-structure results.

The data set has the HDF5 format of :mod:`ltoefg.data.h5format`. Its
structures are pcm-v2 structures, in ascending pcm-v2 id; the structure table
keeps every pcm-v2 column, so ``structure`` is the pcm-v2 id and PCM and DFT
labels of a structure can be compared. Every result must be ``"ok"``, computed
with the named protocol, and belong to exactly that pcm-v2 structure (species
order, cell and positions are checked).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ltoefg.data import h5format
from ltoefg.dft.errors import DftError
from ltoefg.dft.protocol import Protocol
from ltoefg.dft.results import check_matches, load_ok, result_efg

__all__ = ["DFT_LABEL_METHOD", "assemble", "label_description"]

#: Label method of data sets made by this package with Elk (all-electron FP-LAPW, PBE).
DFT_LABEL_METHOD = "dft-elk-pbe"


def label_description(protocol: Protocol, elk_version: str) -> str:
    """Plain-words description of the labels of a DFT data set."""
    return (
        f"DFT EFG labels computed by ltoefg with Elk {elk_version} (all-electron "
        f"full-potential LAPW, PBE; protocol {protocol.name}: {protocol.description}; "
        "task 115, total EFG), in V/Angstrom^2. Structures are pcm-v2 structures (same ids "
        "in the structure table's 'structure' column), stratified over the 6 Li/Ti "
        "orderings and the rattle amplitudes. Real DFT, but not the paper's CASTEP/GIPAW "
        "data: code and basis differ (see docs/dft.md)."
    )


def assemble(
    results_dir: str | Path,
    protocol: Protocol,
    ids: list[int],
    name: str = "dft-pbe-v1",
    source: str = "pcm-v2",
) -> h5format.DatasetArrays:
    """Collect the results of ``ids`` into data-set arrays.

    Parameters
    ----------
    results_dir : str or pathlib.Path
        Results folder (``<results_dir>/<protocol>/<source>-sNNNNNN.json``).
    protocol : Protocol
        The protocol every result must have been computed with (same settings).
    ids : list of int
        Source structure ids to include (all must have an ``ok`` result).
    name : str
        Version name.
    source : str
        Registered data set the structures come from.

    Raises
    ------
    DftError
        If a result is missing, failed, of another protocol, or of another structure.
    """
    from ltoefg.data import load

    results = load_ok(results_dir, source, protocol.name)
    missing = [i for i in ids if i not in results]
    if missing:
        raise DftError(
            f"{Path(results_dir) / protocol.name}: no ok result for {source} structures "
            f"{missing[:10]}; run `ltoefg dft run` for them first."
        )
    ds = load(source)
    frames, tensors, versions = [], [], set()
    for sid in sorted(ids):
        res = results[sid]
        if Protocol.from_dict(res["protocol"]) != protocol:
            raise DftError(
                f"result of {source} structure {sid} was computed with other settings than "
                f"protocol {protocol.name!r}; recompute it."
            )
        atoms = ds.atoms(sid)
        check_matches(res, atoms)
        frames.append(atoms)
        tensors.append(result_efg(res))
        versions.add(str(res["elk_version"]))
    table = ds.structure_table.iloc[sorted(ids)].reset_index(drop=True)
    first = results[sorted(ids)[0]]
    params: dict[str, Any] = {
        "source_dataset": source,
        "structure_ids": sorted(int(i) for i in ids),
        "protocol": protocol.to_dict(),
        "elk_versions": sorted(versions),
        "species_files": first["species"],
        "selection": "ltoefg.dft.selection.DFT_PBE_V1_IDS (stratified over orderings and "
        "rattle amplitudes)",
    }
    return h5format.from_structures(
        name,
        DFT_LABEL_METHOD,
        label_description(protocol, ", ".join(sorted(versions))),
        frames,
        np.concatenate(tensors),
        table,
        params,
    )
