"""Known answers for ltoefg.nmr: PAS, CQ, η, angles, ωQ."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ltoefg import nmr
from ltoefg.data.magres import read_magres


def tensor_with_pas(
    eigenvalues: tuple[float, float, float], theta: float, phi: float, psi: float = 0.4
) -> np.ndarray:
    """Lab-frame tensor with PAS eigenvalues (Vxx, Vyy, Vzz) and B0 at (θ, φ) in the PAS.

    S = Rz(φ) Ry(θ) Rz(ψ) maps ẑ to b = (sinθcosφ, sinθsinφ, cosθ); the frame is
    R = Sᵀ so that Rᵀẑ = b; ψ (a rotation of the crystal about B0) must not matter.
    """
    s = Rotation.from_euler("ZYZ", [phi, theta, psi]).as_matrix()
    r = s.T
    return r @ np.diag(eigenvalues) @ r.T


def expected_omega_li(vzz: float, eta: float, theta: float, phi: float) -> float:
    """SPEC §3.1 v2 for ⁷Li: (CQ/4)(3cos²θ − 1 + η sin²θ cos 2φ) with the signed CQ."""
    cq = nmr.cq_khz(vzz, "Li")
    return cq / 4 * (3 * np.cos(theta) ** 2 - 1 + eta * np.sin(theta) ** 2 * np.cos(2 * phi))


def test_cq_factor_from_constants() -> None:
    # e * 1 mb * 1 V/Å² / h = 2.417989 kHz
    assert nmr.CQ_KHZ_PER_V_A2_MB == pytest.approx(2.417989242, rel=1e-9)
    assert nmr.cq_khz(1.0, "Li") == pytest.approx(-40.1 * 2.417989242, rel=1e-9)


@pytest.mark.parametrize(
    ("eig", "theta", "phi"),
    [
        ((-0.3, -0.7, 1.0), np.radians(30), np.radians(20)),
        ((0.3, 0.7, -1.0), np.radians(75), np.radians(-60)),
        ((-0.5, -0.5, 1.0), np.radians(45), np.radians(10)),  # axial: φ irrelevant for ωQ
        ((-0.05, -1.45, 1.5), np.radians(5), np.radians(89)),
    ],
)
def test_known_tensor(eig: tuple[float, float, float], theta: float, phi: float) -> None:
    v = tensor_with_pas(eig, theta, phi)
    obs = nmr.observables(v[None], "Li", mu=1.0, sigma=0.5).iloc[0]
    vzz = eig[2]
    eta = (eig[0] - eig[1]) / eig[2]
    assert obs["vzz"] == pytest.approx(vzz, abs=1e-12)
    assert obs["eta"] == pytest.approx(eta, abs=1e-12)
    assert obs["cq_tilde"] == pytest.approx((abs(vzz) - 1.0) / 0.5, abs=1e-12)
    assert obs["eta_tilde"] == pytest.approx(eta * abs(vzz) / 1.0, abs=1e-12)
    assert obs["theta"] == pytest.approx(theta, abs=1e-9)
    if eta > 1e-9:  # φ is undefined for an axial tensor
        assert obs["phi"] == pytest.approx(phi, abs=1e-9)
    assert obs["omega_q_khz"] == pytest.approx(expected_omega_li(vzz, eta, theta, phi), abs=1e-9)
    assert obs["cq_khz"] == pytest.approx(nmr.cq_khz(vzz, "Li"), rel=1e-12)


def test_pas_ordering_and_proper_frames(rng: np.random.Generator) -> None:
    v = rng.normal(size=(500, 3, 3))
    pas = nmr.principal_axes(v)
    a = np.abs(pas.eigenvalues)
    assert np.all(a[:, 0] <= a[:, 1]) and np.all(a[:, 1] <= a[:, 2])
    np.testing.assert_allclose(np.linalg.det(pas.frames), 1.0, atol=1e-12)
    # R diag(λ) Rᵀ reproduces the projected tensor: eigenvectors are the columns
    sym = 0.5 * (v + np.swapaxes(v, 1, 2))
    sym -= np.trace(sym, axis1=1, axis2=2)[:, None, None] * np.eye(3) / 3
    rebuilt = pas.frames @ (pas.eigenvalues[:, :, None] * np.swapaxes(pas.frames, 1, 2))
    np.testing.assert_allclose(rebuilt, sym, atol=1e-12)
    b = pas.frames[:, 2, :]
    assert np.all(b[:, 2] >= 0) and np.all(b[:, 0] >= 0)


def test_angle_ranges(rng: np.random.Generator) -> None:
    theta, phi = nmr.angles(nmr.principal_axes(rng.normal(size=(2000, 3, 3))).frames)
    assert theta.min() >= 0 and theta.max() <= np.pi / 2
    assert phi.min() >= -np.pi / 2 and phi.max() <= np.pi / 2


def test_eigenvector_signs_do_not_matter(rng: np.random.Generator) -> None:
    pas = nmr.principal_axes(rng.normal(size=(100, 3, 3)))
    flips = rng.choice([-1.0, 1.0], size=(100, 1, 3))
    t1, p1 = nmr.angles(pas.frames)
    t2, p2 = nmr.angles(pas.frames * flips)
    np.testing.assert_allclose(t1, t2, atol=1e-12)
    np.testing.assert_allclose(p1, p2, atol=1e-12)


def test_zero_tensor_is_defined_without_warnings() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obs = nmr.observables(np.zeros((3, 3, 3)), "O", mu=1.0, sigma=1.0)
    assert np.all(np.isfinite(obs.to_numpy()))
    assert np.all(obs["eta"] == 0.0) and np.all(obs["theta"] == 0.0) and np.all(obs["phi"] == 0.0)
    assert np.all(obs["omega_q_khz"] == 0.0)


def test_negation_changes_only_the_signs_of_vzz_and_omega(rng: np.random.Generator) -> None:
    v = rng.normal(size=(300, 3, 3))
    a = nmr.observables(v, "Ti", 1.0, 0.3)
    b = nmr.observables(-v, "Ti", 1.0, 0.3)
    np.testing.assert_allclose(b["vzz"], -a["vzz"], atol=1e-12)
    # ωQ uses the signed tensor (SPEC §2 v2): V → −V reverses it
    np.testing.assert_allclose(b["omega_q_khz"], -a["omega_q_khz"], atol=1e-9)
    for col in ("eta", "cq_tilde", "eta_tilde", "theta", "phi"):
        np.testing.assert_allclose(b[col], a[col], atol=1e-9, err_msg=col)


@pytest.mark.parametrize("nucleus", ["Li", "Ti", "O"])
def test_omega_from_angles_equals_lab_element(rng: np.random.Generator, nucleus: str) -> None:
    v = rng.normal(size=(1000, 3, 3))
    obs = nmr.observables(v, nucleus, 1.0, 1.0)
    np.testing.assert_allclose(obs["omega_q_khz"], nmr.omega_q_khz(v, nucleus), atol=1e-9)


def spin_matrices(spin: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = np.arange(spin, -spin - 1, -1)
    iz = np.diag(m)
    ip = np.diag(np.sqrt(spin * (spin + 1) - m[1:] * (m[1:] + 1)), 1)
    ix = (ip + ip.T) / 2
    iy = (ip - ip.T) / 2j
    return ix, iy, iz


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_omega_matches_exact_diagonalisation_spin_three_halves(seed: int) -> None:
    """Zeeman + quadrupolar Hamiltonian for ⁷Li (I = 3/2) in the high-field limit.

    H/h = ν0 Iz + eQ/(6I(2I−1)h) Σ_ab V_ab [3/2(I_a I_b + I_b I_a) − δ_ab I²] (kHz).
    Half the splitting of the two satellite lines, (ν(3/2↔1/2) − ν(−1/2↔−3/2))/2,
    is eQ V_ẑẑ/(2h) to first order (second-order shifts cancel in the difference),
    with Q and V_ẑẑ signed: exactly ωQ of SPEC §3.1 v2, no sign flip.
    """
    rng = np.random.default_rng(seed)
    v = nmr.principal_axes(rng.normal(size=(1, 3, 3)) * 20.0)
    tensor = (v.frames @ np.diag(v.eigenvalues[0]) @ v.frames[0].T)[0]
    spin = 1.5
    ops = spin_matrices(spin)
    q_mb = nmr.isotope("Li").quadrupole_mb
    pref = q_mb * nmr.CQ_KHZ_PER_V_A2_MB / (6 * spin * (2 * spin - 1))
    i2 = spin * (spin + 1) * np.eye(4)
    hq = sum(
        tensor[a, b] * (1.5 * (ops[a] @ ops[b] + ops[b] @ ops[a]) - (a == b) * i2)
        for a in range(3)
        for b in range(3)
    )
    nu0 = 1e9  # kHz: high-field limit
    energies = np.linalg.eigvalsh(nu0 * ops[2] + pref * hq)  # ascending: m = -3/2 ... 3/2
    upper = energies[3] - energies[2]
    lower = energies[1] - energies[0]
    half_splitting = (upper - lower) / 2
    omega = nmr.omega_q_khz(tensor[None], "Li")[0]
    assert abs(omega) > 1.0
    assert omega == pytest.approx(half_splitting, rel=1e-6, abs=1e-6)
    # the same tensor negated: the satellites swap, ωQ changes sign
    assert nmr.omega_q_khz(-tensor[None], "Li")[0] == pytest.approx(-half_splitting, rel=1e-6)


def test_isotopes_match_soprano() -> None:
    sop = pytest.importorskip("soprano.data.nmr", reason="soprano (extra 'test') is not installed")
    iso = {"Li": 7, "Ti": 47, "O": 17}
    q = sop._get_isotope_data(["Li", "Ti", "O"], "Q", isotopes=iso)
    spin = sop._get_isotope_data(["Li", "Ti", "O"], "I", isotopes=iso)
    for k, el in enumerate(["Li", "Ti", "O"]):
        assert nmr.isotope(el).quadrupole_mb == q[k]
        assert nmr.isotope(el).spin == spin[k]


@pytest.mark.parametrize("name", ["EDIZUM.magres", "ethanol.magres", "nacl.magres"])
def test_observables_agree_with_soprano(magres_dir: Path, name: str) -> None:
    props = pytest.importorskip("soprano.properties.nmr", reason="soprano is not installed")
    import ase.io

    atoms, efg = read_magres(magres_dir / name)
    raw = ase.io.read(magres_dir / name)
    obs = nmr.observables(efg, "O", mu=1.0, sigma=1.0)
    au = 97.1736242
    vzz_sop = props.EFGVzz.get(raw) * au
    eta_sop = props.EFGAsymmetry.get(raw)
    big = np.abs(vzz_sop) > 1e-6  # η is undefined on the (numerically) zero tensors of NaCl
    np.testing.assert_allclose(obs["vzz"], vzz_sop, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(obs["eta"][big], eta_sop[big], rtol=1e-8, atol=1e-10)
    oxygen = np.array(atoms.get_chemical_symbols()) == "O"
    if oxygen.any():
        cq_sop_khz = props.EFGQuadrupolarConstant.get(raw, isotopes={"O": 17})[oxygen] / 1e3
        np.testing.assert_allclose(obs["cq_khz"][oxygen], cq_sop_khz, rtol=1e-8)
