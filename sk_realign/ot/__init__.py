"""Optimal transport on torch tensors: costs, unbalanced Sinkhorn and the R-FPGWOT solver.

Every function takes torch tensors on the CPU or a CUDA device, in float32 or float64,
and broadcasts over a leading batch dimension, so that many pairs of sequences are solved
as one batched tensor program. Pairs of unequal length are right-padded and described by
boolean masks.
"""

from ._costs import (
    augment_with_sink,
    feature_cost,
    kernel_structure_cost,
    laplace_prior,
    temporal_positions,
    temporal_structure_cost,
)
from ._memory import available_memory, solver_memory_bytes
from ._sinkhorn import sinkhorn_unbalanced
from ._solver import solve_rfpgwot
from ._temporal import gw_gradient, toeplitz_abs_product

__all__ = [
    "augment_with_sink",
    "available_memory",
    "feature_cost",
    "gw_gradient",
    "kernel_structure_cost",
    "laplace_prior",
    "sinkhorn_unbalanced",
    "solve_rfpgwot",
    "solver_memory_bytes",
    "temporal_positions",
    "temporal_structure_cost",
    "toeplitz_abs_product",
]
