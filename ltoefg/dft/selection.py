"""The frozen choice of pcm-v2 structures that get DFT labels (``dft-pbe-v1`` and later).

Stratified over the 6 Li/Ti orderings of the 16d sites and the rattle
amplitudes: within each ordering the structures are sorted by
``rattle_amplitude`` and cut into ``per_ordering`` equal-count bins
(``numpy.array_split``); one structure is drawn from each bin by a seeded
generator. The labelling order interleaves the orderings bin by bin (bin 0 of
orderings 0…5, then bin 1, …), so that a batch stopped early still covers
every ordering and the low and high rattle amplitudes alike.

The list of the first release is frozen in :data:`DFT_PBE_V1_IDS`; a test
checks that :func:`stratified_selection` regenerates it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ltoefg.dft.errors import DftInputError

__all__ = ["DFT_PBE_V1_IDS", "SELECTION_SEED", "parse_ids", "stratified_selection"]

#: Seed of the selection generator.
SELECTION_SEED = 20250410

#: pcm-v2 structure ids of ``dft-pbe-v1`` (8 per ordering, 48), in labelling order;
#: ``stratified_selection(ltoefg.load("pcm-v2").structure_table, 8)``.
# fmt: off
DFT_PBE_V1_IDS: tuple[int, ...] = (
    103, 541, 784, 952, 1252, 1433,
    40, 446, 802, 1071, 1298, 1373,
    151, 542, 813, 954, 1117, 1413,
    263, 431, 683, 857, 1229, 1460,
    197, 353, 688, 972, 1111, 1480,
    36, 394, 783, 841, 1285, 1639,
    14, 399, 732, 939, 1165, 1632,
    219, 287, 678, 845, 1346, 1401,
)
# fmt: on


def stratified_selection(
    table: pd.DataFrame, per_ordering: int, seed: int = SELECTION_SEED
) -> list[int]:
    """Structure ids stratified over orderings and rattle amplitudes, in labelling order.

    Parameters
    ----------
    table : pandas.DataFrame
        The pcm-v2 structure table (columns ``structure``, ``ordering``,
        ``rattle_amplitude``).
    per_ordering : int
        Structures per ordering (= rattle-amplitude bins per ordering).
    seed : int
        Seed of the generator.

    Returns
    -------
    list of int
        ``6 · per_ordering`` structure ids: bin 0 of every ordering, then bin 1, ….
    """
    rng = np.random.default_rng(seed)
    orderings = sorted(int(o) for o in table["ordering"].unique())
    picks: dict[int, list[int]] = {}
    for o in orderings:
        sub = table[table["ordering"] == o].sort_values(["rattle_amplitude", "structure"])
        ids = sub["structure"].to_numpy(dtype=np.int64)
        if ids.size < per_ordering:
            raise DftInputError(
                f"ordering {o} has {ids.size} structures, fewer than {per_ordering} to select."
            )
        picks[o] = [int(rng.choice(b)) for b in np.array_split(ids, per_ordering)]
    return [picks[o][k] for k in range(per_ordering) for o in orderings]


def parse_ids(text: str, n_structures: int) -> list[int]:
    """Structure ids from ``"0,5,10-19"`` (ranges inclusive), checked against the data set.

    Parameters
    ----------
    text : str
        Comma-separated ids and ``a-b`` ranges.
    n_structures : int
        Number of structures of the data set.

    Raises
    ------
    DftInputError
        On a malformed or out-of-range id.
    """
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                ids.extend(range(lo, hi + 1))
            else:
                ids.append(int(part))
        except ValueError:
            raise DftInputError(f"bad structure id {part!r}; give ids like 0,5,10-19.") from None
    bad = [i for i in ids if not 0 <= i < n_structures]
    if bad:
        raise DftInputError(
            f"structure id {bad[0]} does not exist; the data set has ids 0…{n_structures - 1}."
        )
    if not ids:
        raise DftInputError("no structure ids given; give ids like 0,5,10-19.")
    return list(dict.fromkeys(ids))
