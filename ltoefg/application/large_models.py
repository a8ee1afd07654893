"""1512-atom Li4Ti5O12 models: Metropolis Monte Carlo of the 16d Li/Ti disorder (SPEC §9).

The paper (Harper et al. 2025, Fig. 6) predicts ωQ for the 20 lowest-energy
1512-atom LTO structures of a Monte-Carlo database (Heenen et al.). Those
structures are not public, so this module rebuilds the same kind of models:

* **Host.** A 3×3×3 supercell of the conventional cubic spinel cell
  (:func:`ltoefg.data.structures.cubic_supercell`, ``a = 8.36 Å``, O ``x =
  0.2625``; ideal, unrattled positions): 216 Li on 8a, 432 16d sites, 864 O on
  32e = 1512 atoms. Li4Ti5O12 = Li[Li1/3 Ti5/3]O4 puts 432/6 = **72 Li + 360
  Ti** on 16d, so every model has 216 + 72 = **288 Li** sites (the supercell
  must have n ≡ 0 mod 3 for an integer 16d Li count).
* **Energy.** The Ewald (Madelung) energy of formal point charges (Li +1,
  Ti +4, O −2) of the whole cell, :func:`ltoefg.data.pointcharge.ewald_energy`.
* **Sampler.** Metropolis Monte Carlo of Li↔Ti swaps on the 16d sites with a
  geometric annealing schedule followed by constant-temperature sampling, in
  independent chains; the lowest-energy *symmetry-distinct* configurations
  seen in the sampling phase are kept.

Energy decomposition (exact)
----------------------------
Split the atoms into the fixed charges F (8a Li, 32e O) and the 16d sites D,
whose charges q_D change. With the periodic pair kernel φ of
:func:`ltoefg.data.pointcharge.ewald_potential_matrix` over *all* atoms (the
whole cell is neutral, so the kernel's uniform background term cancels and
``E = ½ qᵀ φ q`` is exactly the Ewald energy),

    E(q_D) = E_F + q_Dᵀ v_ext + ½ q_Dᵀ φ_DD q_D,
    E_F = ½ q_Fᵀ φ_FF q_F,   v_ext = φ_DF q_F   (potential of F at the 16d sites, V).

A swap of sites i (charge q_i) and j (charge q_j) changes q_D by δ with
δ_i = Δq = q_j − q_i = −δ_j, hence

    ΔE = Δq (u_i − u_j) + ½ Δq² (φ_ii + φ_jj − 2 φ_ij),   u = φ_DD q_D + v_ext,

O(1) per proposal; after an accepted swap ``u += Δq (φ[:, i] − φ[:, j])``,
O(|D|). In the ideal cubic host every 16d site is symmetry-equivalent, so
v_ext is the same on all of them and drops out of ΔE (it still enters the
absolute energy); the code does not rely on that and works for any host (the
tests use a rattled 42-atom cell, where v_ext varies, and compare ΔE with
differences of full :func:`~ltoefg.data.pointcharge.ewald_energy` calls).
φ over all 1512 atoms is computed once per run (≈ 10 s on one core) and its
blocks are kept; u is recomputed from scratch at the end of every sweep, so
round-off cannot accumulate.

Temperature scale
-----------------
Unscreened formal charges give swap energies of tens of eV (a random 16d
configuration has |ΔE| ≈ 60 eV for a typical Li↔Ti swap; near the optimum a few
eV). A physical annealing temperature (kT ≈ 0.1 eV at 1200 K) would freeze the
chain in the first local minimum, so the schedule is given directly as an
*effective* k_B T in eV (equivalently: a physical temperature with the Coulomb
energy screened by a dielectric constant ε, kT_eff = ε·k_B T). Defaults
(:class:`AnnealSchedule`): 24 independent chains, each annealed with kT falling
geometrically from 20 eV (random mixing) to 0.2 eV over 3000 sweeps, then
200 sampling sweeps at 0.2 eV. One sweep = as many attempted Li↔Ti swaps as
there are 16d sites (432). Only Li↔Ti pairs are proposed (a Li↔Li or Ti↔Ti
swap changes nothing). The Ewald landscape of the 16d disorder is glassy:
independent anneals end in different minima a few eV apart (spread ≈ 25 eV per
1512-atom cell over 24 chains, ≈ 0.02 eV per atom), and longer anneals lower
the minima only slowly; 3000 sweeps per chain was the knee of that curve. The
whole default run takes ≈ 1.5 min on 2 cores (``n_jobs=2``), plus ≈ 10 s for φ.

Distinct structures
-------------------
Two configurations are the same structure if a space-group operation of the
(empty) host maps one Li set onto the other: for the 3×3×3 host that is
Fd-3m's 192 operations of the conventional cell × 27 supercell translations =
5184 permutations of the 432 16d sites. Each kept configuration is stored in
its canonical form (the lexicographically smallest image of its sorted Li
site list), which is also what is written out; the kept structures are
therefore pairwise symmetry-inequivalent. Snapshots are taken at the end of
every sampling sweep of every chain. By default at most one structure is kept
per chain (``max_per_chain=1``: the lowest-energy snapshot of each chain, then
the ``n_keep`` lowest of those), so that the kept set samples different
minima rather than near-copies (one swap apart) of the deepest one;
``max_per_chain=None`` keeps the globally lowest distinct snapshots.

Randomness
----------
Chain c draws from ``Generator(PCG64(SeedSequence(seed).spawn(n_chains)[c]))``
in this order: the initial random Li placement, then per sweep three arrays
(Li picks, Ti picks, acceptance uniforms). The same seed and schedule give
identical structures for any number of worker processes. Proposals are
evaluated strictly in order (a window of upcoming proposals is evaluated at
once with the current potential and restarted after each acceptance, which
gives the same chain as a one-at-a-time loop; a test checks this).
"""

from __future__ import annotations

import functools
import heapq
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from numpy.typing import ArrayLike, NDArray

from ltoefg.data import pointcharge
from ltoefg.data.structures import LATTICE_A, OXYGEN_X, cubic_supercell

__all__ = [
    "DEFAULT_MC_SEED",
    "AnnealSchedule",
    "LtoModels",
    "SwapEnergyModel",
    "canonical_li_sites",
    "generate_lto_models",
    "host_permutations",
    "li_count_16d",
    "read_models",
    "run_chain",
    "select_distinct",
    "write_models",
]

#: Default seed of :func:`generate_lto_models` (``numpy.random.PCG64``).
DEFAULT_MC_SEED = 20251512

_Q_LI = pointcharge.FORMAL_CHARGES["Li"]
_Q_TI = pointcharge.FORMAL_CHARGES["Ti"]


@dataclass(frozen=True)
class AnnealSchedule:
    """Temperature schedule of one Monte-Carlo chain (effective kT in eV).

    Attributes
    ----------
    kt_start_ev : float
        Effective k_B T of the first annealing sweep, eV.
    kt_sample_ev : float
        Effective k_B T of the last annealing sweep and of all sampling sweeps, eV.
    n_anneal_sweeps : int
        Sweeps with kT decreasing geometrically from ``kt_start_ev`` to
        ``kt_sample_ev``.
    n_sample_sweeps : int
        Sweeps at ``kt_sample_ev``; a snapshot is taken after each of them.
    n_chains : int
        Independent chains (each from its own random start).
    """

    kt_start_ev: float = 20.0
    kt_sample_ev: float = 0.2
    n_anneal_sweeps: int = 3000
    n_sample_sweeps: int = 200
    n_chains: int = 24

    def __post_init__(self) -> None:
        if not (self.kt_start_ev > 0 and self.kt_sample_ev > 0):
            raise ValueError("temperatures must be positive (eV)")
        if self.n_anneal_sweeps < 0 or self.n_sample_sweeps < 1 or self.n_chains < 1:
            raise ValueError("need n_anneal_sweeps ≥ 0, n_sample_sweeps ≥ 1, n_chains ≥ 1")

    def temperatures(self) -> NDArray[np.float64]:
        """kT (eV) of every sweep of one chain, annealing then sampling."""
        anneal = np.geomspace(self.kt_start_ev, self.kt_sample_ev, self.n_anneal_sweeps)
        return np.concatenate([anneal, np.full(self.n_sample_sweeps, self.kt_sample_ev)])

    @property
    def n_sweeps(self) -> int:
        """Sweeps per chain."""
        return self.n_anneal_sweeps + self.n_sample_sweeps


@dataclass
class SwapEnergyModel:
    """Exact Ewald energy of a host with variable charges on a subset D of its sites.

    ``E(q_D) = e_fixed + q_D·v_ext + ½ q_Dᵀ φ q_D`` (see the module docstring).

    Attributes
    ----------
    indices : numpy.ndarray, shape (M,), int
        Atom indices of the variable sites D.
    phi : numpy.ndarray, shape (M, M)
        Pair kernel φ_DD, eV/e².
    v_ext : numpy.ndarray, shape (M,)
        Potential of the fixed charges at the sites D, V.
    e_fixed : float
        Energy of the fixed charges alone, ``½ q_Fᵀ φ_FF q_F``, eV.
    """

    indices: NDArray[np.int64]
    phi: NDArray[np.float64]
    v_ext: NDArray[np.float64]
    e_fixed: float

    @classmethod
    def from_host(cls, atoms: Atoms, indices: ArrayLike, tol: float = 1e-10) -> SwapEnergyModel:
        """Build the model from a host whose non-D atoms carry their formal charges.

        Parameters
        ----------
        atoms : ase.Atoms
            Periodic host; the species on the sites D are ignored.
        indices : array_like of int
            Atom indices of the variable sites D.
        tol : float
            Ewald tolerance (:func:`ltoefg.data.pointcharge.ewald_parameters`).
        """
        idx = np.asarray(indices, dtype=np.int64)
        q = pointcharge.formal_charges(atoms)
        fixed = np.ones(len(atoms), dtype=bool)
        fixed[idx] = False
        q_f = np.where(fixed, q, 0.0)
        full = pointcharge.ewald_potential_matrix(atoms, tol=tol)
        v_ext = full[idx] @ q_f
        e_fixed = 0.5 * float(q_f @ full @ q_f)
        phi = np.ascontiguousarray(full[np.ix_(idx, idx)])
        return cls(indices=idx, phi=phi, v_ext=np.asarray(v_ext), e_fixed=e_fixed)

    def potential(self, q_d: NDArray[np.float64]) -> NDArray[np.float64]:
        """u = φ q_D + v_ext at the sites D, V."""
        return self.phi @ q_d + self.v_ext

    def energy(self, q_d: ArrayLike) -> float:
        """Total Ewald energy of the host with charges ``q_d`` (e) on D, eV."""
        q = np.asarray(q_d, dtype=np.float64)
        return self.e_fixed + float(q @ self.v_ext) + 0.5 * float(q @ self.phi @ q)

    def swap_delta(self, q_d: NDArray[np.float64], u: NDArray[np.float64], i: int, j: int) -> float:
        """ΔE (eV) of exchanging the charges of local sites i and j (``u``: :meth:`potential`)."""
        return pointcharge.swap_energy_change(self.phi, q_d, u, i, j)


def li_count_16d(n_16d: int) -> int:
    """Number of 16d Li of Li4Ti5O12 = Li[Li1/3 Ti5/3]O4 for ``n_16d`` 16d sites (n/6)."""
    if n_16d % 6:
        raise ValueError(
            f"{n_16d} 16d sites cannot hold Li:Ti = 1:5 exactly (need a multiple of 6; "
            "use an n×n×n supercell with n a multiple of 3)"
        )
    return n_16d // 6


def host_permutations(n: int, a: float = LATTICE_A) -> NDArray[np.int64]:
    """Permutations of the 16d sites of :func:`cubic_supercell` under the host's space group.

    Parameters
    ----------
    n : int
        Supercell size (n×n×n conventional cells).
    a : float
        Cubic lattice constant, Å (only sets the cell; the result does not depend on it).

    Returns
    -------
    numpy.ndarray, shape (192·n³, 16·n³), int
        ``perm[k, s]`` is the 16d site (local index, in the order of
        ``cubic_supercell``'s 16d atoms) onto which operation k maps site s.
        Fd-3m (origin choice 2) operations of the conventional cell combined
        with the n³ supercell translations.
    """
    from ase.spacegroup import Spacegroup

    atoms, idx16 = cubic_supercell(n, a)
    # 16d coordinates are multiples of 1/8 in conventional-cell units: work on integers
    grid = 8 * n
    frac = atoms.get_scaled_positions(wrap=True)[idx16] * n  # conventional-cell units
    ints = np.round(frac * 8).astype(np.int64) % grid
    lookup = np.full((grid, grid, grid), -1, dtype=np.int64)
    lookup[ints[:, 0], ints[:, 1], ints[:, 2]] = np.arange(len(idx16))
    sg = Spacegroup(227, setting=2)
    shifts = np.array([(i, j, k) for i in range(n) for j in range(n) for k in range(n)], float)
    perms = []
    for rot, trans in sg.get_symop():
        img = frac @ rot.T + trans  # (M, 3)
        moved = np.round((img[None, :, :] + shifts[:, None, :]) * 8).astype(np.int64) % grid
        perms.append(lookup[moved[..., 0], moved[..., 1], moved[..., 2]])
    out = np.concatenate(perms, axis=0)
    if np.any(out < 0):
        raise RuntimeError("a symmetry operation maps a 16d site off the 16d sublattice")
    out = np.unique(out, axis=0)
    if out.shape[0] != 192 * n**3:
        raise RuntimeError(f"expected {192 * n**3} operations, found {out.shape[0]}")
    return out


@functools.lru_cache(maxsize=4)
def _cubic_host_model(n_cells: int, a: float, x: float) -> SwapEnergyModel:
    """Cached :class:`SwapEnergyModel` of the ideal cubic host (arrays read-only)."""
    host, idx16 = cubic_supercell(n_cells, a, x)
    model = SwapEnergyModel.from_host(host, idx16)
    for arr in (model.indices, model.phi, model.v_ext):
        arr.flags.writeable = False
    return model


@functools.lru_cache(maxsize=4)
def _cubic_host_permutations(n_cells: int) -> NDArray[np.int64]:
    perms = host_permutations(n_cells)
    perms.flags.writeable = False
    return perms


def canonical_li_sites(li_sites: ArrayLike, perms: NDArray[np.int64] | None) -> NDArray[np.int64]:
    """Canonical representative of a Li site set under a permutation group.

    Parameters
    ----------
    li_sites : array_like of int
        Local 16d indices occupied by Li.
    perms : numpy.ndarray, shape (K, M), optional
        Site permutations (e.g. :func:`host_permutations`); None = no symmetry.

    Returns
    -------
    numpy.ndarray of int
        The lexicographically smallest sorted image of the set.
    """
    li = np.sort(np.asarray(li_sites, dtype=np.int64))
    if perms is None:
        return li
    images = np.sort(perms[:, li], axis=1)
    order = np.lexsort(images.T[::-1])
    return images[order[0]]


def run_chain(
    model: SwapEnergyModel,
    n_li: int,
    kts: ArrayLike,
    rng: np.random.Generator,
    on_sweep: Any = None,
) -> tuple[NDArray[np.bool_], float, float]:
    """One Metropolis chain of Li↔Ti swaps on the sites of ``model``.

    Parameters
    ----------
    model : SwapEnergyModel
    n_li : int
        Number of Li on the variable sites (the rest are Ti).
    kts : array_like
        Effective kT (eV) of each sweep; one sweep = ``M`` attempted swaps.
    rng : numpy.random.Generator
        Source of all random numbers (initial placement, then per sweep: Li
        picks, Ti picks, uniforms).
    on_sweep : callable, optional
        ``on_sweep(sweep, is_li, energy)`` after each sweep (``is_li`` is the
        current boolean occupation, a copy is *not* made; energy in eV).

    Returns
    -------
    is_li : numpy.ndarray of bool, shape (M,)
        Final occupation.
    energy : float
        Its total Ewald energy, eV.
    acceptance : float
        Fraction of accepted swaps over all sweeps.
    """
    m = len(model.indices)
    if not 0 < n_li < m:
        raise ValueError(f"need 0 < n_li < {m}, got {n_li}")
    phi = model.phi
    diag = np.diag(phi).copy()
    li_sites = np.sort(rng.choice(m, size=n_li, replace=False))
    is_li = np.zeros(m, dtype=bool)
    is_li[li_sites] = True
    ti_sites = np.flatnonzero(~is_li)
    q = np.where(is_li, _Q_LI, _Q_TI)
    u = model.potential(q)
    dq = _Q_TI - _Q_LI  # a Li site i receives Ti's charge
    half_dq2 = 0.5 * dq * dq
    n_ti = m - n_li
    energy = model.energy(q)
    n_acc = 0
    window = 8
    for sweep, kt in enumerate(np.asarray(kts, dtype=np.float64)):
        pick_li = rng.integers(n_li, size=m)
        pick_ti = rng.integers(n_ti, size=m)
        # accept if ΔE < kT·(−ln ξ), ξ ∈ (0, 1]
        thresholds = -np.log1p(-rng.random(m)) * kt
        # The proposals are processed strictly in order, exactly as a scalar loop
        # would; for speed, ΔE of a window of upcoming proposals is evaluated at
        # once with the current u, and the window restarts after the first
        # accepted one (the only event that changes u and the site lists).
        p = 0
        n_acc_sweep = 0
        while p < m:
            stop = min(m, p + window)
            i = li_sites[pick_li[p:stop]]
            j = ti_sites[pick_ti[p:stop]]
            de = dq * (u[i] - u[j]) + half_dq2 * (diag[i] + diag[j] - 2.0 * phi[i, j])
            hit = np.flatnonzero(de < thresholds[p:stop])
            if hit.size == 0:
                p = stop
                continue
            k = int(hit[0])
            a, b = int(i[k]), int(j[k])
            u += dq * (phi[a] - phi[b])  # rows = columns (φ symmetric), contiguous
            li_sites[pick_li[p + k]] = b
            ti_sites[pick_ti[p + k]] = a
            is_li[a] = False
            is_li[b] = True
            n_acc_sweep += 1
            p += k + 1
        n_acc += n_acc_sweep
        # next window ≈ 2 / acceptance rate of this sweep, in [8, 256]
        window = int(np.clip(2 * m / max(1, n_acc_sweep), 8, 256))
        q = np.where(is_li, _Q_LI, _Q_TI)
        u = model.potential(q)  # fresh: no accumulated round-off
        energy = model.energy(q)
        if on_sweep is not None:
            on_sweep(sweep, is_li, energy)
    return is_li, energy, n_acc / max(1, m * len(np.atleast_1d(kts)))


@dataclass
class LtoModels:
    """The kept Monte-Carlo structures.

    Attributes
    ----------
    structures : list of ase.Atoms
        Sorted by energy (lowest first); ``arrays["wyckoff"]`` and ``info`` keys
        ``structure`` (= rank), ``energy_ev``, ``chain``, ``sweep``, ``seed``.
    energies_ev : numpy.ndarray
        Total Ewald energies per cell, eV (same order).
    schedule : AnnealSchedule
    seed : int
    chains : list of dict
        Per chain: ``final_energy_ev``, ``lowest_sampled_energy_ev`` (eV) and
        ``acceptance`` (fraction of accepted swaps over the whole chain).
    """

    structures: list[Atoms]
    energies_ev: NDArray[np.float64]
    schedule: AnnealSchedule
    seed: int
    chains: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class _Candidate:
    energy: float
    key: bytes
    li_local: NDArray[np.int64]
    chain: int
    sweep: int


def _chain_job(
    model: SwapEnergyModel,
    n_li: int,
    schedule: AnnealSchedule,
    seed_seq: np.random.SeedSequence,
    chain: int,
    n_keep: int,
    perms: NDArray[np.int64] | None,
) -> tuple[list[_Candidate], dict[str, float]]:
    """Run one chain; return its ``n_keep`` lowest-energy distinct sampled configurations."""
    rng = np.random.Generator(np.random.PCG64(seed_seq))
    best: list[tuple[float, bytes, NDArray[np.int64], int]] = []  # max-heap via −E
    keys: set[bytes] = set()
    lowest = [math.inf]

    def record(sweep: int, is_li: NDArray[np.bool_], energy: float) -> None:
        if sweep < schedule.n_anneal_sweeps:
            return
        lowest[0] = min(lowest[0], energy)
        if len(best) == n_keep and energy >= -best[0][0]:
            return
        li_local = canonical_li_sites(np.flatnonzero(is_li), perms)
        key = li_local.tobytes()
        if key in keys:
            return
        keys.add(key)
        item = (-energy, key, li_local, sweep)
        if len(best) < n_keep:
            heapq.heappush(best, item)
        else:
            keys.discard(heapq.heappushpop(best, item)[1])

    _, e_final, acc = run_chain(model, n_li, schedule.temperatures(), rng, record)
    cands = [_Candidate(-ne, k, li, chain, sw) for ne, k, li, sw in best]
    stats = {
        "final_energy_ev": e_final,
        "lowest_sampled_energy_ev": lowest[0],
        "acceptance": acc,
    }
    return cands, stats


def select_distinct(
    candidates: list[_Candidate], n_keep: int, max_per_chain: int | None
) -> list[_Candidate]:
    """The ``n_keep`` lowest-energy candidates with distinct keys, ≤ ``max_per_chain`` per chain.

    Ties in energy are broken by the canonical key, so the result does not
    depend on the order in which chains finished.
    """
    chosen: list[_Candidate] = []
    seen: set[bytes] = set()
    per_chain: dict[int, int] = {}
    for c in sorted(candidates, key=lambda c: (c.energy, c.key)):
        if c.key in seen:
            continue
        if max_per_chain is not None and per_chain.get(c.chain, 0) >= max_per_chain:
            continue
        chosen.append(c)
        seen.add(c.key)
        per_chain[c.chain] = per_chain.get(c.chain, 0) + 1
        if len(chosen) == n_keep:
            break
    return chosen


def _build(
    host: Atoms, idx16: NDArray[np.int64], li_local: NDArray[np.int64], info: dict[str, Any]
) -> Atoms:
    at = host.copy()
    numbers = at.numbers.copy()
    numbers[idx16] = 22
    numbers[idx16[li_local]] = 3
    at.numbers = numbers
    at.info.update(info)
    return at


def generate_lto_models(
    n_keep: int = 20,
    n_cells: int = 3,
    a: float = LATTICE_A,
    x: float = OXYGEN_X,
    schedule: AnnealSchedule | None = None,
    seed: int = DEFAULT_MC_SEED,
    max_per_chain: int | None = 1,
    n_jobs: int = 1,
    progress: bool = False,
    use_symmetry: bool = True,
    rattle_angstrom: float = 0.0,
) -> LtoModels:
    """Sample Li4Ti5O12 supercells and keep the ``n_keep`` lowest-energy distinct ones.

    Parameters
    ----------
    n_keep : int
        Number of structures to keep (the paper: 20).
    n_cells : int
        Supercell size n (n×n×n conventional cells, 56 n³ atoms; n a multiple of 3).
    a : float
        Cubic lattice constant, Å.
    x : float
        O 32e coordinate.
    schedule : AnnealSchedule, optional
        Default :class:`AnnealSchedule()`.
    seed : int
        Root seed; chain c uses ``PCG64(SeedSequence(seed).spawn(n_chains)[c])``,
        so the result does not depend on ``n_jobs``.
    max_per_chain : int or None
        At most this many kept structures come from one chain (default 1: each
        kept structure is the best of its own annealing run, so the set is not
        dominated by near-copies — one swap apart — of a single basin). None
        keeps the globally lowest distinct configurations.
    n_jobs : int
        Chains run in parallel in this many processes.
    progress : bool
        Show a tqdm progress bar over the chains.
    use_symmetry : bool
        Treat symmetry-equivalent configurations as the same structure (default);
        otherwise only identical site sets count as equal.
    rattle_angstrom : float
        Optional Gaussian displacement (standard deviation per Cartesian
        component, Å) of every atom of the kept structures, drawn from
        ``PCG64(SeedSequence(seed).spawn(n_chains + 1)[n_chains])`` after the
        selection (default 0: ideal positions). A crude stand-in for thermal
        or relaxation disorder; the stored energies stay those of the ideal
        lattice.

    Returns
    -------
    LtoModels

    Raises
    ------
    RuntimeError
        If fewer than ``n_keep`` distinct configurations were sampled (increase
        ``n_chains``, ``n_sample_sweeps`` or ``kt_sample_ev``, or relax
        ``max_per_chain``).
    """
    schedule = schedule or AnnealSchedule()
    host, idx16 = cubic_supercell(n_cells, a, x)
    n_li = li_count_16d(len(idx16))
    model = _cubic_host_model(n_cells, float(a), float(x))
    perms = _cubic_host_permutations(n_cells) if use_symmetry else None
    seqs = np.random.SeedSequence(seed).spawn(schedule.n_chains + 1)
    jobs = [(model, n_li, schedule, seqs[c], c, n_keep, perms) for c in range(schedule.n_chains)]

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=schedule.n_chains, desc="MC chains", unit="chain")
    results: list[tuple[list[_Candidate], dict[str, float]]] = []
    if n_jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            futures = [pool.submit(_chain_job, *job) for job in jobs]
            for fut in futures:
                results.append(fut.result())
                if bar is not None:
                    bar.update(1)
    else:
        for job in jobs:
            results.append(_chain_job(*job))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()

    candidates = [c for cands, _ in results for c in cands]
    chosen = select_distinct(candidates, n_keep, max_per_chain)
    if len(chosen) < n_keep:
        raise RuntimeError(
            f"only {len(chosen)} distinct configurations sampled, {n_keep} requested; "
            "increase n_chains, n_sample_sweeps or kt_sample_ev, or relax max_per_chain"
        )
    structures = []
    rattle_rng = np.random.Generator(np.random.PCG64(seqs[schedule.n_chains]))
    for rank, c in enumerate(chosen):
        info = {
            "structure": rank,
            "energy_ev": c.energy,
            "chain": c.chain,
            "sweep": c.sweep,
            "seed": seed,
            "rattle_angstrom": float(rattle_angstrom),
        }
        at = _build(host, idx16, c.li_local, info)
        if rattle_angstrom > 0:
            at.positions += rattle_rng.normal(scale=rattle_angstrom, size=at.positions.shape)
        structures.append(at)
    energies = np.array([c.energy for c in chosen])
    return LtoModels(structures, energies, schedule, seed, [s for _, s in results])


def write_models(models: LtoModels, out_dir: str | Path) -> list[Path]:
    """Write the kept structures as ``lto_models.extxyz`` plus a JSON summary.

    Parameters
    ----------
    models : LtoModels
    out_dir : str or Path
        Created if needed.

    Returns
    -------
    list of Path
        The extxyz file (all structures as frames, energy order) and
        ``lto_models.json`` (seed, schedule, energies in eV, chain statistics).
    """
    import json

    from ase.io import write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    xyz = out / "lto_models.extxyz"
    write(xyz, models.structures, format="extxyz")
    meta = out / "lto_models.json"
    meta.write_text(
        json.dumps(
            {
                "seed": models.seed,
                "schedule": asdict(models.schedule),
                "energies_ev": models.energies_ev.tolist(),
                "chains": models.chains,
                "energy": "Ewald energy of formal point charges Li+1 Ti+4 O-2 per cell, eV",
                "lattice": "ideal cubic spinel supercell (unrattled)",
            },
            indent=2,
        )
        + "\n"
    )
    return [xyz, meta]


def read_models(path: str | Path) -> list[Atoms]:
    """Read the structures written by :func:`write_models` (all frames, Wyckoff labels kept)."""
    from ase.io import read

    frames = read(path, index=":")
    return list(frames)
