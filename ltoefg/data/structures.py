"""Li4Ti5O12 (LTO) structure builder: the paper's 42-atom R-3m protocol (SPEC §4.1).

The data set of Harper et al. (J. Mater. Chem. A 2025) is built from the 42-atom
hexagonal (R-3m) cell of spinel Li4Ti5O12:

1. **Spinel parent.** Fd-3m (No. 227, origin choice 2), ``a = 8.36 Å``: Li on 8a
   (1/8, 1/8, 1/8), the 16d sites (1/2, 1/2, 1/2) shared by Li and Ti in the ratio
   1 : 5, O on 32e (x, x, x) with ``x = 0.2625`` (:func:`parent_cell`).
2. **42-atom cell.** The hexagonal setting of the spinel primitive cell,
   ``A = a1 − a2``, ``B = a2 − a3``, ``C = a1 + a2 + a3`` with the fcc primitive
   vectors ``a1 = a/2 (0, 1, 1)``, ``a2 = a/2 (1, 0, 1)``, ``a3 = a/2 (1, 1, 0)``
   (``|A| = a/√2 ≈ 5.911 Å``, ``|C| = a√3 ≈ 14.480 Å``), three times the primitive
   cell: 6 8a + 12 16d + 24 32e sites. It is stored in the standard hexagonal
   orientation: A along x, B in the xy plane (γ = 120°), C along z (the cubic
   [111] axis).
3. **Orderings.** 2 Li + 10 Ti on the 12 16d sites: C(12, 2) = 66 placements,
   grouped under the 36 symmetry operations of the unsubstituted cell (the 12
   point operations of -3m that keep the hexagonal lattice × the 3 fcc
   translations that are not lattice vectors of the 42-atom cell) into 6
   inequivalent orderings with multiplicities 18, 3, 9, 9, 9, 18
   (:func:`enumerate_orderings`).
4. **Distortions.** Each structure takes its ordering's representative
   assignment, an isotropic lattice scale, a small random symmetric strain, and a
   Monte-Carlo rattle with hard minimum-distance guards
   (:func:`generate_structures`, parameters in :data:`GENERATOR_PARAMETERS`).

Protocol versions
-----------------
``"v1"`` (the structures of ``pcm-v1``) uses one guard, 1.5 Å, for every pair of
atoms; it lets O–O come to 1.51 Å and Ti–O to 1.5 Å, contacts no known
Li–Ti–O crystal has and that overlap ABINIT's PAW spheres. ``"v2"`` (the
structures of ``pcm-v2`` and ``dft-pbe-v1``) uses one guard per species pair,
:data:`PAIR_GUARDS_V2`, each sourced in ``docs/dataset.md`` (shortest distances
in known Li–Ti–O crystals, and ABINIT's PAW-sphere overlap limit for Ti–O).
Everything else (seed, draw order, ranges) is the same in both.

The symmetry operations are found by a self-contained brute-force search
(:func:`symmetry_operations`), so the package does not need spglib; the test
suite checks them against spglib.

Atom order (identical in every structure)
------------------------------------------
Indices 0–5: Li on 8a; 6–17: the 16d sites (species from the ordering);
18–41: O on 32e. Inside each group the sites are sorted by their fractional
coordinates (z, then y, then x) in the ideal hexagonal cell. ``li_16d`` of an
:class:`Ordering` counts from 0 within the 16d group, i.e. atom index
``6 + li_16d``. Every structure carries ``atoms.arrays["wyckoff"]`` (``'8a'``,
``'16d'`` or ``'32e'``).

Order of the orderings
----------------------
Orderings are sorted by the shortest Li–Li distance between the two 16d Li
(minimum image, ideal parent cell), then by the number of Li–Li pairs at that
distance (images included), then by the lexicographically smallest member of
the orbit; the representative of an ordering is that smallest member. See
``docs/dataset.md`` for the resulting table.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from ase import Atoms
from numpy.typing import NDArray

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_SEED",
    "GENERATOR_PARAMETERS",
    "LATTICE_A",
    "OXYGEN_X",
    "Ordering",
    "cubic_supercell",
    "enumerate_orderings",
    "generate_structures",
    "generator_parameters",
    "guard_matrix",
    "min_distances",
    "pair_min_distances",
    "parent_cell",
    "symmetry_operations",
]

#: Default seed of :func:`generate_structures` (``numpy.random.PCG64``).
DEFAULT_SEED = 20250142

#: Cubic spinel lattice constant, Å.
LATTICE_A = 8.36
#: O 32e coordinate x (origin choice 2).
OXYGEN_X = 0.2625

#: Number of structures of the data set.
N_STRUCTURES = 1640
#: Isotropic lattice scale factor, drawn uniformly from this interval.
SCALE_RANGE: tuple[float, float] = (0.96, 1.04)
#: Each of the 6 independent components of the symmetric strain tensor ε
#: (dimensionless) is drawn uniformly from [−STRAIN_MAX, STRAIN_MAX].
STRAIN_MAX = 0.02
#: Rattle amplitude σ (Å, per Cartesian component of the total trial
#: displacement), drawn uniformly per structure from this interval.
RATTLE_AMPLITUDE_RANGE: tuple[float, float] = (0.02, 0.30)
#: Number of Monte-Carlo rattle sweeps; each trial step has std σ/√n.
RATTLE_N_ITER = 20
#: Protocol v1 hard guard: a rattle move is rejected if it brings an atom closer
#: than this to any other atom (Å, minimum image). Used by ``pcm-v1`` only.
GUARD_DISTANCE = 1.5

#: Protocol v2 guards per species pair (Å, minimum image). Sources (docs/dataset.md):
#: shortest distances in known Li–Ti–O crystals; Ti–O also keeps ABINIT's PAW
#: spheres (ti.hpc.paw 2.312 a0, O.xml 1.415 a0) below its default 5 %
#: voluminal overlap (reached at 1.720 Å).
PAIR_GUARDS_V2: dict[tuple[str, str], float] = {
    ("Li", "Li"): 2.10,  # Li2O antifluorite Li–Li 2.31 Å (a/2, a = 4.62 Å)
    ("Li", "Ti"): 2.50,  # Li2TiO3 / LTO edge-sharing octahedra 2.95 Å
    ("Li", "O"): 1.75,  # shortest tetrahedral Li–O: LiOH 1.96 Å, Li2O 2.00 Å
    ("Ti", "Ti"): 2.55,  # face-sharing Ti2O3 2.58 Å (rutile edge-sharing 2.96 Å)
    ("Ti", "O"): 1.75,  # titanyl Ti=O 1.66–1.70 Å; PAW 5 % overlap at 1.720 Å
    ("O", "O"): 2.25,  # shared octahedral edges: rutile 2.53 Å, LTO 2.66 Å
}

#: Structure protocol versions (see the module docstring).
PROTOCOLS: tuple[str, ...] = ("v1", "v2")
DEFAULT_PROTOCOL = "v2"

#: Wyckoff labels of the three sublattices.
WYCKOFF_8A, WYCKOFF_16D, WYCKOFF_32E = "8a", "16d", "32e"

# Hexagonal supercell of the fcc primitive cell (rows: A, B, C in a1, a2, a3).
_HEX_FROM_PRIMITIVE = np.array([[1, -1, 0], [0, 1, -1], [1, 1, 1]])
_N_8A, _N_16D, _N_32E = 6, 12, 24
_N_LI_16D = 2
_STRAIN_COLUMNS = ("strain_xx", "strain_yy", "strain_zz", "strain_yz", "strain_xz", "strain_xy")


@dataclass(frozen=True)
class Ordering:
    """One symmetry-inequivalent Li/Ti ordering on the 16d sites of the 42-atom cell.

    Attributes
    ----------
    index : int
        Position in the canonical order (0–5).
    multiplicity : int
        Number of the 66 placements equivalent to this one (orbit size).
    li_16d : tuple of int
        The representative: indices (0–11, into the 16d sites of
        :func:`parent_cell`, i.e. atoms ``6 + li_16d``) of the two 16d Li.
    members : tuple of tuple of int
        All placements of the orbit (sorted pairs, sorted).
    li_li_distance : float
        Shortest Li–Li distance between the two 16d Li in the ideal parent cell, Å.
    """

    index: int
    multiplicity: int
    li_16d: tuple[int, ...]
    members: tuple[tuple[int, ...], ...]
    li_li_distance: float


def _ideal_fractional(x: float) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Fractional coordinates (hexagonal cell) and Wyckoff labels of the 42 sites, sorted."""
    from ase.build import make_supercell
    from ase.spacegroup import crystal

    prim = crystal(
        ["Li", "Ti", "O"],
        basis=[(1 / 8, 1 / 8, 1 / 8), (1 / 2, 1 / 2, 1 / 2), (x, x, x)],
        spacegroup=227,
        setting=2,
        cellpar=[1.0, 1.0, 1.0, 90, 90, 90],
        primitive_cell=True,
    )
    hexa = make_supercell(prim, _HEX_FROM_PRIMITIVE)
    frac = hexa.get_scaled_positions(wrap=True)
    frac = np.where(np.abs(frac - 1.0) < 1e-9, 0.0, frac)
    symbols = np.array(hexa.get_chemical_symbols())
    labels = np.select(
        [symbols == "Li", symbols == "Ti"], [WYCKOFF_8A, WYCKOFF_16D], WYCKOFF_32E
    ).astype(str)
    keys = np.round(frac, 6)
    group = np.select([labels == WYCKOFF_8A, labels == WYCKOFF_16D], [0, 1], 2)
    order = np.lexsort((keys[:, 0], keys[:, 1], keys[:, 2], group))
    return frac[order], labels[order]


def _hexagonal_cell(a: float) -> NDArray[np.float64]:
    """The 42-atom cell in standard orientation (rows A, B, C), Å."""
    ah = a / np.sqrt(2.0)
    return np.array(
        [[ah, 0.0, 0.0], [-0.5 * ah, 0.5 * np.sqrt(3.0) * ah, 0.0], [0.0, 0.0, a * np.sqrt(3.0)]]
    )


def parent_cell(a: float = LATTICE_A, x: float = OXYGEN_X) -> Atoms:
    """The unsubstituted 42-atom R-3m cell (all 16d sites Ti), ideal positions.

    Parameters
    ----------
    a : float
        Cubic spinel lattice constant, Å (the cell is ``a/√2 × a/√2 × a√3``).
    x : float
        O 32e coordinate (origin choice 2).

    Returns
    -------
    ase.Atoms
        42 atoms, periodic, in the fixed atom order of the module docstring
        (Li 8a ×6, Ti 16d ×12, O 32e ×24), with ``arrays["wyckoff"]``.
    """
    frac, labels = _ideal_fractional(x)
    symbols = np.select([labels == WYCKOFF_8A, labels == WYCKOFF_16D], ["Li", "Ti"], "O")
    atoms = Atoms(symbols=list(symbols), scaled_positions=frac, cell=_hexagonal_cell(a), pbc=True)
    atoms.new_array("wyckoff", labels.astype(str))
    return atoms


def symmetry_operations(
    atoms: Atoms, symprec: float = 1e-4
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64]]:
    """All space-group operations of a periodic cell that map it onto itself.

    Brute force: every integer matrix W with entries in {−1, 0, 1} that keeps the
    metric (Wᵀ G W = G in the lattice basis), combined with every translation that
    maps the first atom of the rarest species onto an atom of that species, is kept
    if it maps every atom onto an atom of the same species. Species are told apart
    by ``atoms.numbers`` and, if present, ``arrays["wyckoff"]``.

    Parameters
    ----------
    atoms : ase.Atoms
        A periodic cell (reasonably reduced, e.g. the 42-atom hexagonal cell).
    symprec : float
        Tolerance on fractional coordinates (and relative tolerance on the metric).

    Returns
    -------
    rotations : numpy.ndarray, shape (K, 3, 3), int
        W acting on fractional column vectors: f' = W f + t.
    translations : numpy.ndarray, shape (K, 3)
        t, fractional, in [0, 1).
    permutations : numpy.ndarray, shape (K, N), int
        ``permutations[k, i]`` is the atom onto which operation k maps atom i.
    """
    cell = np.asarray(atoms.cell[:], dtype=float)
    frac = atoms.get_scaled_positions(wrap=True)
    kinds = atoms.numbers.astype(np.int64)
    if "wyckoff" in atoms.arrays:
        _, wk = np.unique(atoms.arrays["wyckoff"], return_inverse=True)
        kinds = kinds * 1000 + wk
    metric = cell @ cell.T
    cands = np.array(list(itertools.product((-1, 0, 1), repeat=9)), dtype=np.int64).reshape(
        -1, 3, 3
    )
    # f are column vectors; r = cellᵀ f; metric preserved: Wᵀ G W = G
    kept = np.einsum("kji,jl,klm->kim", cands, metric, cands)
    ok = np.all(np.abs(kept - metric) <= symprec * np.abs(metric).max(), axis=(1, 2))
    rots = cands[ok]
    rots = rots[np.abs(np.round(np.linalg.det(rots))) == 1]

    uniq, counts = np.unique(kinds, return_counts=True)
    rare = uniq[np.argmin(counts)]
    ref = int(np.flatnonzero(kinds == rare)[0])
    targets = np.flatnonzero(kinds == rare)
    out_r, out_t, out_p = [], [], []
    for w in rots:
        rotated = frac @ w.T  # (N, 3)
        for k in targets:
            t = (frac[k] - rotated[ref]) % 1.0
            img = rotated + t
            diff = img[:, None, :] - frac[None, :, :]
            diff -= np.round(diff)
            match = np.all(np.abs(diff) < symprec, axis=-1) & (kinds[:, None] == kinds[None, :])
            if np.all(match.sum(axis=1) == 1):
                perm = np.argmax(match, axis=1)
                if len(np.unique(perm)) == len(perm):
                    out_r.append(w)
                    out_t.append(np.where(np.abs(t - 1.0) < symprec, 0.0, t))
                    out_p.append(perm)
    return np.array(out_r), np.array(out_t), np.array(out_p)


def _li_li_distance(parent: Atoms, sites: NDArray[np.int64], pair: tuple[int, ...]) -> float:
    i, j = sites[pair[0]], sites[pair[1]]
    return float(parent.get_distance(int(i), int(j), mic=True))


def _li_li_pair_count(parent: Atoms, sites: NDArray[np.int64], pair: tuple[int, ...], d: float):
    """Number of periodic images of atom j at distance d (±1e-6 Å) from atom i."""
    i, j = sites[pair[0]], sites[pair[1]]
    vec = parent.positions[j] - parent.positions[i]
    shifts = np.array(list(itertools.product((-2, -1, 0, 1, 2), repeat=3)))
    dists = np.linalg.norm(vec + shifts @ parent.cell[:], axis=1)
    return int(np.sum(np.abs(dists - d) < 1e-6))


def enumerate_orderings(parent: Atoms | None = None) -> list[Ordering]:
    """The symmetry-inequivalent placements of 2 Li + 10 Ti on the 12 16d sites.

    Parameters
    ----------
    parent : ase.Atoms, optional
        The unsubstituted 42-atom cell (default :func:`parent_cell`), with
        ``arrays["wyckoff"]``.

    Returns
    -------
    list of Ordering
        The 6 orderings in the canonical order of the module docstring; their
        multiplicities sum to C(12, 2) = 66.
    """
    if parent is None:
        parent = parent_cell()
    sites = np.flatnonzero(parent.arrays["wyckoff"] == WYCKOFF_16D)
    _, _, perms = symmetry_operations(parent)
    # permutations restricted to the 16d sites, in 16d-local indices
    local = np.full(len(parent), -1)
    local[sites] = np.arange(len(sites))
    perm16 = local[perms[:, sites]]
    if np.any(perm16 < 0):
        raise RuntimeError("a symmetry operation maps a 16d site off the 16d sublattice")
    pairs = list(itertools.combinations(range(len(sites)), _N_LI_16D))
    seen: dict[tuple[int, ...], int] = {}
    orbits: list[list[tuple[int, ...]]] = []
    for pair in pairs:
        if pair in seen:
            continue
        images = {tuple(sorted(int(p[s]) for s in pair)) for p in perm16}
        for im in images:
            seen[im] = len(orbits)
        orbits.append(sorted(images))
    keyed = []
    for orb in orbits:
        rep = orb[0]
        d = _li_li_distance(parent, sites, rep)
        keyed.append((round(d, 6), -_li_li_pair_count(parent, sites, rep, d), rep, orb, d))
    keyed.sort(key=lambda k: (k[0], k[1], k[2]))
    return [
        Ordering(
            index=n,
            multiplicity=len(orb),
            li_16d=rep,
            members=tuple(orb),
            li_li_distance=d,
        )
        for n, (_, _, rep, orb, d) in enumerate(keyed)
    ]


def _counts_per_ordering(n_structures: int, n_orderings: int) -> list[int]:
    base, rest = divmod(n_structures, n_orderings)
    return [base + (1 if k < rest else 0) for k in range(n_orderings)]


def _min_image_sq(
    diff: NDArray[np.float64], cell: NDArray[np.float64], inv: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Squared minimum-image lengths of batched difference vectors (exact for short ones).

    ``diff`` (B, ..., 3), ``cell``/``inv`` (B, 3, 3). The vector is first reduced
    by rounding its fractional coordinates, then compared with its images shifted
    by the 8 in-plane lattice vectors n₁A + n₂B, n ∈ {−1, 0, 1}². For the LTO
    cells (C ⟂ A, B within the strain, |C| ≈ 14.5 Å) this is the exact minimum
    image of every vector shorter than :func:`_exact_radius` (≈ 5.6 Å), beyond
    half the in-plane cell width (≈ 2.5 Å), where rounding alone can overestimate
    (hexagonal cells, γ = 120°).
    """
    shape = diff.shape
    d = diff.reshape(shape[0], -1, 3)
    f = d @ inv
    f -= np.round(f)
    c = f @ cell
    best = np.einsum("bnk,bnk->bn", c, c)
    for n1 in (-1, 0, 1):
        for n2 in (-1, 0, 1):
            if n1 == 0 and n2 == 0:
                continue
            t = n1 * cell[:, 0, :] + n2 * cell[:, 1, :]
            ct = c + t[:, None, :]
            np.minimum(best, np.einsum("bnk,bnk->bn", ct, ct), out=best)
    return best.reshape(shape[:-1])


def _exact_radius(cell: NDArray[np.float64]) -> NDArray[np.float64]:
    """Length below which :func:`_min_image_sq` is the exact minimum image, per cell (B,), Å.

    A vector u = v + t with v the rounded representative (fractional
    coordinates in [−½, ½]) and t a lattice vector: if t has a C component,
    |u| ≥ ½·W_C (W_C the perpendicular width along C); if t is in-plane and not
    one of the 8 checked shifts, |t| ≥ L₂ (the shortest such in-plane vector) and
    |u| ≥ L₂ − |v_AB|, with |v_AB| ≤ ½ max(|A + B|, |A − B|). The radius is the
    smaller of the two bounds.
    """
    inv = np.linalg.inv(cell)
    w_c = 1.0 / np.linalg.norm(inv[:, :, 2], axis=1)
    a, b = cell[:, 0, :], cell[:, 1, :]
    half_diag = 0.5 * np.maximum(np.linalg.norm(a + b, axis=1), np.linalg.norm(a - b, axis=1))
    far = [
        n1 * a + n2 * b for n1 in range(-2, 3) for n2 in range(-2, 3) if max(abs(n1), abs(n2)) == 2
    ]
    l2 = np.min([np.linalg.norm(t, axis=1) for t in far], axis=0)
    return np.minimum(0.5 * w_c, l2 - half_diag)


def min_distances(positions: NDArray[np.float64], cell: NDArray[np.float64]) -> NDArray[np.float64]:
    """Shortest interatomic distance (minimum image) of each structure in a batch.

    Parameters
    ----------
    positions : numpy.ndarray, shape (B, N, 3)
        Cartesian positions, Å.
    cell : numpy.ndarray, shape (B, 3, 3)
        Cells (rows are lattice vectors), Å.

    Returns
    -------
    numpy.ndarray, shape (B,)
        Minimum distance, Å. Exact when it is below :func:`_exact_radius`
        (≈ 5.6 Å for LTO cells); a :class:`RuntimeError` is raised otherwise.
    """
    inv = np.linalg.inv(cell)
    n = positions.shape[1]
    d2 = _min_image_sq(positions[:, None, :, :] - positions[:, :, None, :], cell, inv)
    d2[:, np.arange(n), np.arange(n)] = np.inf
    dmin = np.sqrt(d2.min(axis=(1, 2)))
    if np.any(dmin >= _exact_radius(cell)):
        raise RuntimeError("minimum distance not resolvable by the minimum-image search")
    return dmin


def guard_matrix(
    numbers: NDArray[np.int64], guards: dict[tuple[str, str], float] | float
) -> NDArray[np.float64]:
    """Pairwise minimum distances (Å) for atoms of the given atomic numbers.

    Parameters
    ----------
    numbers : numpy.ndarray of int, shape (..., N)
        Atomic numbers (a batch of structures is allowed).
    guards : dict or float
        One guard per unordered species pair (keys like ``("Li", "O")``), or one
        value for every pair.

    Returns
    -------
    numpy.ndarray, shape (..., N, N)
        Guard distance of every atom pair, Å (symmetric).
    """
    numbers = np.asarray(numbers)
    if not isinstance(guards, dict):
        return np.full((*numbers.shape, numbers.shape[-1]), float(guards))
    from ase.data import atomic_numbers

    table = np.full((119, 119), np.nan)
    for (a, b), d in guards.items():
        za, zb = atomic_numbers[a], atomic_numbers[b]
        table[za, zb] = table[zb, za] = d
    out = table[numbers[..., :, None], numbers[..., None, :]]
    if np.isnan(out).any():
        raise ValueError("a species pair of the structure has no guard distance")
    return out


def pair_min_distances(
    positions: NDArray[np.float64], cell: NDArray[np.float64], numbers: NDArray[np.int64]
) -> dict[tuple[str, str], NDArray[np.float64]]:
    """Shortest distance per species pair (minimum image) of each structure in a batch.

    Parameters
    ----------
    positions : numpy.ndarray, shape (B, N, 3)
        Cartesian positions, Å.
    cell : numpy.ndarray, shape (B, 3, 3)
        Cells (rows are lattice vectors), Å.
    numbers : numpy.ndarray of int, shape (B, N)
        Atomic numbers.

    Returns
    -------
    dict
        ``(a, b)`` (symbols, sorted by atomic number) → (B,) shortest a–b
        distance, Å (``inf`` where a structure lacks the pair).
    """
    from ase.data import chemical_symbols

    inv = np.linalg.inv(cell)
    n = positions.shape[1]
    d2 = _min_image_sq(positions[:, None, :, :] - positions[:, :, None, :], cell, inv)
    d2[:, np.arange(n), np.arange(n)] = np.inf
    out: dict[tuple[str, str], NDArray[np.float64]] = {}
    zs = np.unique(numbers)
    for i, za in enumerate(zs):
        for zb in zs[i:]:
            mask = (numbers[:, :, None] == za) & (numbers[:, None, :] == zb)
            vals = np.where(mask, d2, np.inf).min(axis=(1, 2))
            out[(chemical_symbols[za], chemical_symbols[zb])] = np.sqrt(vals)
    return out


def _mc_rattle(
    positions: NDArray[np.float64],
    cell: NDArray[np.float64],
    amplitude: NDArray[np.float64],
    rng: np.random.Generator,
    n_iter: int,
    guard: float | NDArray[np.float64],
    chunk: int = 128,
    callback: Any = None,
) -> NDArray[np.float64]:
    """Monte-Carlo rattle of a batch of structures with hard minimum-distance guards.

    Each sweep draws a Gaussian trial displacement (std ``amplitude/√n_iter`` per
    Cartesian component) for every atom of every structure at once. Atom i's
    move is accepted if its new position keeps at least the pair's guard from the
    new positions *and* from the old positions of all other atoms. Accepted and
    rejected atoms together then still satisfy the guards: accepted–accepted pairs
    were checked new–new, accepted–rejected pairs new–old, rejected–rejected pairs
    are unchanged. (All atoms moving at once is what makes this vectorisable; a
    sequential per-atom sweep as in hiPhive's ``mc_rattle`` gives the same kind of
    ensemble.)

    ``guard`` is one distance for every pair (protocol v1) or an array
    (B, N, N) of per-pair distances (protocol v2, :func:`guard_matrix`), Å.
    """
    pos = positions.copy()
    nb, n, _ = pos.shape
    inv = np.linalg.inv(cell)
    g = np.broadcast_to(np.asarray(guard, dtype=float), (nb, n, n))
    if np.any(g.max(axis=(1, 2)) >= _exact_radius(cell)):
        raise ValueError("a guard distance exceeds the exact minimum-image radius of a cell")
    step = (amplitude / np.sqrt(n_iter))[:, None, None]
    eye = np.eye(n, dtype=bool)
    g2_all = g * g
    for _ in range(n_iter):
        trial_all = pos + step * rng.normal(size=pos.shape)
        for s in range(0, nb, chunk):
            sl = slice(s, s + chunk)
            old, new = pos[sl], trial_all[sl]
            c, iv, g2 = cell[sl], inv[sl], g2_all[sl]
            d_nn = _min_image_sq(new[:, None, :, :] - new[:, :, None, :], c, iv) - g2
            d_no = _min_image_sq(old[:, None, :, :] - new[:, :, None, :], c, iv) - g2
            d_nn[:, eye] = np.inf
            d_no[:, eye] = np.inf
            ok = (d_nn.min(axis=2) >= 0.0) & (d_no.min(axis=2) >= 0.0)
            pos[sl] = np.where(ok[..., None], new, old)
        if callback is not None:
            callback()
    return pos


def _generator_parameters(protocol: str = DEFAULT_PROTOCOL) -> dict[str, Any]:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown structure protocol {protocol!r}; known: {PROTOCOLS}")
    if protocol == "v1":
        guards: dict[str, Any] = {"guard_distance_angstrom": GUARD_DISTANCE}
    else:
        guards = {
            "pair_guards_angstrom": {f"{a}-{b}": d for (a, b), d in PAIR_GUARDS_V2.items()},
            "pair_guards_sources": "docs/dataset.md (shortest distances in known Li-Ti-O "
            "crystals; Ti-O also below ABINIT's default 5 % PAW-sphere overlap)",
        }
    return {
        "protocol": "Harper et al. J. Mater. Chem. A 2025, 42-atom R-3m LTO cell (SPEC 4.1)",
        "protocol_version": protocol,
        "lattice_a_angstrom": LATTICE_A,
        "oxygen_x": OXYGEN_X,
        "n_structures": N_STRUCTURES,
        "default_seed": DEFAULT_SEED,
        "bit_generator": "numpy.random.PCG64",
        "scale_range": list(SCALE_RANGE),
        "strain_max": STRAIN_MAX,
        "strain_voigt_order": list(_STRAIN_COLUMNS),
        "rattle_amplitude_range_angstrom": list(RATTLE_AMPLITUDE_RANGE),
        "rattle_n_iter": RATTLE_N_ITER,
        **guards,
        "atom_order": "Li 8a (6), 16d (12), O 32e (24); each sorted by fractional (z, y, x)",
        "ordering_order": "shortest 16d Li-Li distance, then -(pairs at it), then smallest member",
        "structures_per_ordering": "n // 6 each, the remainder to the first orderings; "
        "structures grouped by ordering in index order",
    }


def generator_parameters(protocol: str = DEFAULT_PROTOCOL) -> dict[str, Any]:
    """All parameters of :func:`generate_structures` (JSON-serialisable), for file metadata."""
    return _generator_parameters(protocol)


#: Parameters of the default protocol (v2), for file metadata.
GENERATOR_PARAMETERS: dict[str, Any] = _generator_parameters()


def generate_structures(
    n_structures: int = N_STRUCTURES,
    seed: int = DEFAULT_SEED,
    progress: bool = False,
    protocol: str = DEFAULT_PROTOCOL,
) -> tuple[list[Atoms], pd.DataFrame]:
    """Generate the LTO structures of the data set.

    Structure k belongs to ordering ``o`` in blocks (the first
    ``n_structures // 6 + 1`` to ordering 0, …; counts ``n // 6`` each with the
    remainder given to the first orderings: 274, 274, 273, 273, 273, 273 for
    1640). Each structure: ideal parent cell with the ordering's representative
    16d assignment; cell ``scale · C · (1 + ε)`` (rows of C are lattice vectors;
    fractional coordinates kept) with ``scale ~ U(SCALE_RANGE)`` and the six
    components of the symmetric strain ε ~ U(−STRAIN_MAX, STRAIN_MAX); then a
    Monte-Carlo rattle with amplitude σ ~ U(RATTLE_AMPLITUDE_RANGE) Å and the
    hard guards of the protocol (v1: ``GUARD_DISTANCE`` for every pair; v2:
    ``PAIR_GUARDS_V2`` per species pair).

    Random numbers are drawn from one ``numpy.random.Generator(PCG64(seed))`` in
    this order: scales (n), strains (n × 6), amplitudes (n), then per rattle sweep
    one (n × 42 × 3) array of standard normals. The same seed gives bit-identical
    structures.

    Parameters
    ----------
    n_structures : int
        Number of structures (default 1640).
    seed : int
        Seed of the PCG64 bit generator.
    progress : bool
        Show a tqdm progress bar over the rattle sweeps.
    protocol : str
        ``"v2"`` (default; ``pcm-v2``) or ``"v1"`` (``pcm-v1``).

    Returns
    -------
    structures : list of ase.Atoms
        42 atoms each, fixed atom order, ``arrays["wyckoff"]``, and ``info``
        keys ``ordering`` and ``structure``.
    records : pandas.DataFrame
        One row per structure: ``structure``, ``ordering``, ``scale``,
        ``strain_xx … strain_xy`` (tensor components, Voigt order xx, yy, zz,
        yz, xz, xy, dimensionless), ``rattle_amplitude`` (Å), ``rattle_rms``
        (realised RMS displacement per Cartesian component, Å) and
        ``min_distance`` (shortest interatomic distance, Å).
    """
    import pandas as pd

    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown structure protocol {protocol!r}; known: {PROTOCOLS}")
    rng = np.random.Generator(np.random.PCG64(seed))
    parent = parent_cell()
    orderings = enumerate_orderings(parent)
    counts = _counts_per_ordering(n_structures, len(orderings))
    ordering_of = np.repeat(np.arange(len(orderings)), counts)
    sites16 = np.flatnonzero(parent.arrays["wyckoff"] == WYCKOFF_16D)
    numbers = np.repeat(parent.numbers[None], n_structures, axis=0)
    for k, o in enumerate(orderings):
        rows = np.flatnonzero(ordering_of == k)
        numbers[np.ix_(rows, sites16[list(o.li_16d)])] = 3  # Li
    guard: float | NDArray[np.float64] = (
        GUARD_DISTANCE if protocol == "v1" else guard_matrix(numbers, PAIR_GUARDS_V2)
    )

    scales = rng.uniform(*SCALE_RANGE, size=n_structures)
    strains = rng.uniform(-STRAIN_MAX, STRAIN_MAX, size=(n_structures, 6))
    amplitudes = rng.uniform(*RATTLE_AMPLITUDE_RANGE, size=n_structures)

    eps = np.zeros((n_structures, 3, 3))
    for k, (i, j) in enumerate([(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]):
        eps[:, i, j] = strains[:, k]
        eps[:, j, i] = strains[:, k]
    base_cell = np.asarray(parent.cell[:])
    cells = scales[:, None, None] * (base_cell[None] @ (np.eye(3)[None] + eps))
    frac = parent.get_scaled_positions()
    ideal = frac[None] @ cells

    if progress:
        from tqdm import tqdm

        with tqdm(total=RATTLE_N_ITER, desc="rattle sweeps") as bar:
            pos = _mc_rattle(
                ideal,
                cells,
                amplitudes,
                rng,
                RATTLE_N_ITER,
                guard,
                callback=lambda: bar.update(1),
            )
    else:
        pos = _mc_rattle(ideal, cells, amplitudes, rng, RATTLE_N_ITER, guard)

    dmin = min_distances(pos, cells)
    rms = np.sqrt(np.mean((pos - ideal) ** 2, axis=(1, 2)))

    wyckoff = parent.arrays["wyckoff"].copy()
    structures: list[Atoms] = []
    for k in range(n_structures):
        at = Atoms(numbers=numbers[k], positions=pos[k], cell=cells[k], pbc=True)
        at.new_array("wyckoff", wyckoff.copy())
        at.info["structure"] = k
        at.info["ordering"] = int(ordering_of[k])
        structures.append(at)

    records = pd.DataFrame(
        {
            "structure": np.arange(n_structures),
            "ordering": ordering_of,
            "scale": scales,
            **{name: strains[:, k] for k, name in enumerate(_STRAIN_COLUMNS)},
            "rattle_amplitude": amplitudes,
            "rattle_rms": rms,
            "min_distance": dmin,
        }
    )
    return structures, records


def cubic_supercell(
    n: int = 3, a: float = LATTICE_A, x: float = OXYGEN_X
) -> tuple[Atoms, NDArray[np.int64]]:
    """An n×n×n supercell of the conventional cubic spinel cell, 16d unassigned.

    Parameters
    ----------
    n : int
        Repetitions along each cubic axis (n = 3 gives 56·27 = 1512 atoms).
    a : float
        Cubic lattice constant, Å.
    x : float
        O 32e coordinate (origin choice 2).

    Returns
    -------
    atoms : ase.Atoms
        Li on 8a, Ti on *all* 16d sites (placeholders: assign 1/6 of them Li to
        get Li4Ti5O12), O on 32e; atom order Li 8a, 16d, O 32e, each sorted by
        fractional (z, y, x); ``arrays["wyckoff"]``.
    indices_16d : numpy.ndarray of int
        Atom indices of the 16d sites (``16·n³``).
    """
    from ase.spacegroup import crystal

    conv = crystal(
        ["Li", "Ti", "O"],
        basis=[(1 / 8, 1 / 8, 1 / 8), (1 / 2, 1 / 2, 1 / 2), (x, x, x)],
        spacegroup=227,
        setting=2,
        cellpar=[a, a, a, 90, 90, 90],
    )
    big = conv.repeat((n, n, n))
    frac = big.get_scaled_positions(wrap=True)
    frac = np.where(np.abs(frac - 1.0) < 1e-9, 0.0, frac)
    sym = np.array(big.get_chemical_symbols())
    group = np.select([sym == "Li", sym == "Ti"], [0, 1], 2)
    keys = np.round(frac, 6)
    order = np.lexsort((keys[:, 0], keys[:, 1], keys[:, 2], group))
    atoms = Atoms(
        symbols=list(sym[order]), scaled_positions=frac[order], cell=big.cell[:], pbc=True
    )
    labels = np.array([WYCKOFF_8A, WYCKOFF_16D, WYCKOFF_32E])[group[order]]
    atoms.new_array("wyckoff", labels.astype(str))
    return atoms, np.flatnonzero(labels == WYCKOFF_16D)
