"""Installation script for sk_realign."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "sk_realign" / "__init__.py").read_text(), re.M
).group(1)

EXTRAS = {
    "video": ["av>=12"],
    "plots": ["matplotlib>=3.7"],
    "frames": ["torchvision>=0.16"],
    "distributed": ["dask[distributed]>=2024.1"],
    "docs": [
        "sphinx>=7",
        "numpydoc>=1.6",
        "pydata-sphinx-theme>=0.15",
        "sphinx-gallery>=0.15",
        "myst-parser>=3",
        "matplotlib>=3.7",
        "av>=12",
    ],
    "tests": [
        "pytest>=7",
        "pytest-timeout>=2",
        "hypothesis>=6",
        "av>=12",
        "matplotlib>=3.7",
        "dask[distributed]>=2024.1",
    ],
}
EXTRAS["all"] = sorted({req for reqs in EXTRAS.values() for req in reqs})

setup(
    name="sk_realign",
    version=VERSION,
    description=(
        "Self-supervised key-step discovery in procedure videos with regularized "
        "fused partial Gromov-Wasserstein optimal transport, as scikit-learn estimators."
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="BSD-3-Clause",
    python_requires=">=3.10",
    packages=find_packages(include=["sk_realign", "sk_realign.*"]),
    package_data={"sk_realign.datasets": ["data/*.npz", "data/*.txt"]},
    include_package_data=True,
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.6",
        "torch>=2.1",
        "pot>=0.9.4",
        "gco-wrapper>=3.0.8",
        "joblib>=1.3",
        "threadpoolctl>=3.1",
    ],
    extras_require=EXTRAS,
    entry_points={"console_scripts": ["sk-realign=sk_realign.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
