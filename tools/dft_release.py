"""Maintainer tool: assemble the embedded DFT release ``dft-pbe-v1`` and pin it in the registry.

    python tools/dft_release.py [--results dft-results]

Reads the ``ok`` results of the frozen selection
(:data:`ltoefg.dft.selection.DFT_PBE_V1_IDS`, pcm-v2 structures, production
protocol) from ``dft-results/<production protocol>/``, writes
``ltoefg/data/files/dft-pbe-v1.h5`` and its frozen splits
``ltoefg/data/files/dft-pbe-v1-splits.npz`` (structure-wise split and 5 folds,
plus the random and ordering splits of every release), and records both SHA-256
in ``ltoefg/data/files/registry.json``. Refuses to run while a structure of the
selection lacks an ``ok`` result.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ltoefg import constants as C
from ltoefg.data import h5format, registry, splits
from ltoefg.data.fetch import sha256
from ltoefg.data.loader import Dataset
from ltoefg.dft.protocol import PRODUCTION
from ltoefg.dft.release import DFT_LABEL_METHOD, assemble
from ltoefg.dft.selection import DFT_PBE_V1_IDS

NAME = "dft-pbe-v1"
REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--results", type=Path, default=REPO / "dft-results")
    args = p.parse_args(argv)
    data = assemble(args.results, PRODUCTION, list(DFT_PBE_V1_IDS), name=NAME)
    files = registry.FILES_DIR
    data_path = h5format.write(files / f"{NAME}.h5", data)
    ds = Dataset(data_path, split_scheme=2)
    frozen = {
        (kind, nucleus): ds.generate_split(kind, nucleus)
        for kind in C.SPLITS
        for nucleus in C.NUCLEI
    }
    split_path = files / f"{NAME}-splits.npz"
    splits.save_frozen(split_path, splits.to_arrays(frozen))
    written = h5format.read(data_path)
    raw = json.loads(registry.REGISTRY_FILE.read_text())
    raw["versions"][NAME] = {
        "label_method": DFT_LABEL_METHOD,
        "description": data.label_description,
        "data": {
            "filename": data_path.name,
            "sha256": sha256(data_path),
            "size": data_path.stat().st_size,
        },
        "url": None,
        "embedded": True,
        "splits": {
            "filename": split_path.name,
            "sha256": sha256(split_path),
            "size": split_path.stat().st_size,
        },
        "n_structures": written.n_structures,
        "n_sites": written.n_sites,
        "counts": {k: int(v["n"]) for k, v in written.stats.items()},
        "split_scheme": 2,
    }
    registry.REGISTRY_FILE.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(raw["versions"][NAME], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
