"""Known answers for ltoefg.tensors."""

from __future__ import annotations

import numpy as np
import pytest

from ltoefg import tensors as T


def test_projection_of_known_matrix() -> None:
    m = np.array([[1.0, 2.0, 0.0], [0.0, 4.0, 6.0], [0.0, 0.0, 7.0]])
    p = T.symmetric_traceless(m)
    expected = np.array([[-3.0, 1.0, 0.0], [1.0, 0.0, 3.0], [0.0, 3.0, 3.0]])
    np.testing.assert_allclose(p, expected, atol=1e-15)
    assert T.asymmetry(m)[0] == 6.0
    assert T.abs_trace(m)[0] == 12.0


def test_projection_is_idempotent(rng: np.random.Generator) -> None:
    a = rng.normal(size=(50, 3, 3))
    p = T.symmetric_traceless(a)
    np.testing.assert_allclose(T.symmetric_traceless(p), p, atol=1e-15)
    np.testing.assert_allclose(np.trace(p, axis1=1, axis2=2), 0.0, atol=1e-14)


def test_spherical_of_known_tensor() -> None:
    # diag(-1, -1, 2): only the m = 0 component, (2*2 + 1 + 1)/sqrt(6) = sqrt(6)
    s = T.to_spherical(np.diag([-1.0, -1.0, 2.0]))
    np.testing.assert_allclose(s, [0, 0, np.sqrt(6), 0, 0], atol=1e-15)
    s = T.to_spherical(np.array([[0, 1.0, 0], [1.0, 0, 0], [0, 0, 0]]))
    np.testing.assert_allclose(s, [np.sqrt(2), 0, 0, 0, 0], atol=1e-15)


def test_spherical_round_trip_and_norm(rng: np.random.Generator) -> None:
    p = T.symmetric_traceless(rng.normal(size=(200, 3, 3)))
    s = T.to_spherical(p)
    np.testing.assert_allclose(T.from_spherical(s), p, atol=1e-14)
    # orthonormal: Frobenius norm is preserved
    np.testing.assert_allclose(
        np.linalg.norm(s, axis=1), np.linalg.norm(p, axis=(1, 2)), rtol=1e-13
    )


def test_isotropic_component() -> None:
    assert T.isotropic_component(np.eye(3) * 2.0) == pytest.approx(-6.0 / np.sqrt(3.0))


def test_rotation_known_angle() -> None:
    # 90° about z maps x -> y: diag(1, 0, -1) -> diag(0, 1, -1)
    r = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(
        T.rotate(np.diag([1.0, 0.0, -1.0]), r), np.diag([0.0, 1.0, -1.0]), atol=1e-15
    )


def test_random_rotations_are_proper(rng: np.random.Generator) -> None:
    r = T.random_rotations(20, rng)
    np.testing.assert_allclose(
        r @ np.swapaxes(r, 1, 2), np.broadcast_to(np.eye(3), r.shape), atol=1e-13
    )
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-13)


def test_matches_featomic_cartesian_to_spherical(rng: np.random.Generator) -> None:
    pytest.importorskip("featomic", reason="featomic (extra 'baselines') is not installed")
    import metatensor as mts
    from featomic.clebsch_gordan import cartesian_to_spherical

    p = T.symmetric_traceless(rng.normal(size=(6, 3, 3)))
    block = mts.TensorBlock(
        values=p[..., None],
        samples=mts.Labels(["sample"], np.arange(6)[:, None]),
        components=[
            mts.Labels(["xyz_1"], np.arange(3)[:, None]),
            mts.Labels(["xyz_2"], np.arange(3)[:, None]),
        ],
        properties=mts.Labels(["property"], np.array([[0]])),
    )
    tmap = mts.TensorMap(mts.Labels(["_"], np.array([[0]])), [block])
    out = cartesian_to_spherical(tmap, ["xyz_1", "xyz_2"])
    lam2 = [b for k, b in out.items() if int(k["o3_lambda"]) == 2]
    assert len(lam2) == 1
    np.testing.assert_allclose(lam2[0].values[..., 0], T.to_spherical(p), atol=1e-13)
