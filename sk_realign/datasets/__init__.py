"""Bundled real data and readers for the layouts of procedure-learning benchmarks."""

from ._breakfast import load_breakfast_coffee

__all__ = ["load_breakfast_coffee"]
