"""Maintainer tool: (re)build an embedded point-charge release and its frozen splits, pin both.

    python tools/release_pcm.py [pcm-v2 | pcm-v1]

writes ``ltoefg/data/files/<name>.h5`` and ``ltoefg/data/files/<name>-splits.npz``
and records their SHA-256 in ``ltoefg/data/files/registry.json``. Run it only to
cut a new release of the file; users rebuild with ``ltoefg generate`` and compare
numerically (tests/test_dataset_pcm.py).
"""

from __future__ import annotations

import json
import sys
import time

from ltoefg import constants as C
from ltoefg.data import h5format, registry, splits
from ltoefg.data.fetch import sha256
from ltoefg.data.generate import PCM_NAME, generate_pcm


def main(name: str = PCM_NAME) -> None:
    files = registry.FILES_DIR
    data_path = files / f"{name}.h5"
    t0 = time.perf_counter()
    generate_pcm(data_path, progress=True, name=name)
    print(f"built {data_path} in {time.perf_counter() - t0:.1f} s")
    data = h5format.read(data_path)
    from ltoefg.data.loader import Dataset

    raw = json.loads(registry.REGISTRY_FILE.read_text())
    entry = raw["versions"][name]
    ds = Dataset(data_path, split_scheme=int(entry.get("split_scheme", 2)))
    frozen = {
        (kind, nucleus): ds.generate_split(kind, nucleus)
        for kind in C.SPLITS
        for nucleus in C.NUCLEI
    }
    split_path = files / f"{name}-splits.npz"
    splits.save_frozen(split_path, splits.to_arrays(frozen))
    entry["data"] = {
        "filename": data_path.name,
        "sha256": sha256(data_path),
        "size": data_path.stat().st_size,
    }
    entry["splits"] = {
        "filename": split_path.name,
        "sha256": sha256(split_path),
        "size": split_path.stat().st_size,
    }
    entry["embedded"] = True
    entry["n_structures"] = data.n_structures
    entry["n_sites"] = data.n_sites
    entry["counts"] = {k: int(v["n"]) for k, v in data.stats.items()}
    registry.REGISTRY_FILE.write_text(json.dumps(raw, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(entry, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:2])
