"""Shared fixtures: the bundled Breakfast coffee videos and the paths of the test files."""

from pathlib import Path

import numpy as np
import pytest

DATA_DIR = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def coffee():
    """The five bundled Breakfast coffee videos (features, labels, names)."""
    from sk_realign.datasets import load_breakfast_coffee

    return load_breakfast_coffee()


@pytest.fixture(scope="session")
def data_dir():
    return DATA_DIR


@pytest.fixture
def rng():
    return np.random.default_rng(0)
