"""Shared fixtures: paths to ../shared, random generators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MAGRES_DIR = SHARED / "data" / "magres"


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20251125)


@pytest.fixture
def magres_dir() -> Path:
    if not MAGRES_DIR.is_dir():
        pytest.skip(
            f"{MAGRES_DIR} is absent (CI and developers have ../shared beside the checkout)"
        )
    return MAGRES_DIR
