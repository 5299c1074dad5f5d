"""Bundled real data and readers for the layouts of procedure-learning benchmarks."""

from ._breakfast import load_breakfast_coffee
from ._readers import (
    load_breakfast,
    load_crosstask,
    load_egoprocel,
    load_procel,
    read_crosstask_csv,
    read_crosstask_tasks,
    read_frame_labels,
    read_step_csv,
)

__all__ = [
    "load_breakfast_coffee",
    "load_breakfast",
    "load_crosstask",
    "load_egoprocel",
    "load_procel",
    "read_crosstask_csv",
    "read_crosstask_tasks",
    "read_frame_labels",
    "read_step_csv",
]
