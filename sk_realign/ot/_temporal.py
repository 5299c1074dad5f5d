"""Structure operators and the Gromov-Wasserstein gradient.

The GW gradient needs the products ``Cx @ T`` and ``T @ Cy`` with the structure costs of
both sequences. For temporal structure, ``Cx[i, i'] = |i - i'| / (N - 1)`` is Toeplitz, and
``Cx @ T`` is computed with prefix sums in ``O(N M)`` without forming the ``N x N``
matrix. Dense structures (feature or kernelised temporal) use a batched matrix product.
"""

import torch

__all__ = ["DenseStructure", "TemporalStructure", "gw_gradient", "toeplitz_abs_product"]

# Smallest number of frames at which the prefix-sum product beats a dense BLAS product of
# the temporal structure on the CPU. Measured with benchmarks/bench_solver.py
# (``--structure-crossover``) on 2 cores, float32 and float64.
PREFIX_SUM_MIN_FRAMES = 512


def toeplitz_abs_product(values, dim):
    r"""Compute :math:`\sum_k |i - k| \, V_k` along one dimension of ``values``.

    With column sums ``S0`` (inclusive prefix sums of ``V`` along ``dim``), the product is
    ``sum_k k V_k`` at ``i = 0`` and grows by ``2 S0[i - 1] - S0[-1]`` from each index to
    the next, so two cumulative sums give it in ``O(size)`` per column. This form adds
    quantities of one sign and avoids the cancellation of ``i S0[i] - sum_{k<=i} k V_k``.

    Parameters
    ----------
    values : torch.Tensor
    dim : int
        The dimension summed over.

    Returns
    -------
    product : torch.Tensor of the shape of ``values``
        Equal to ``D @ values`` along ``dim`` with ``D[i, k] = |i - k|``.
    """
    size = values.shape[dim]
    shape = [1] * values.dim()
    shape[dim] = size
    index = torch.arange(size, dtype=values.dtype, device=values.device).reshape(shape)

    prefix = values.cumsum(dim)
    total = prefix.narrow(dim, size - 1, 1)
    first = (index * values).sum(dim, keepdim=True)
    steps = 2.0 * prefix - total
    # Exclusive prefix sum of the steps: index i adds the steps of indices 0 .. i - 1.
    increments = steps.cumsum(dim) - steps
    return first + increments


class DenseStructure:
    """A structure cost held as a dense ``(B, N, N)`` matrix (feature or kernel structure)."""

    def __init__(self, matrix):
        self.matrix = matrix
        self._squared = matrix * matrix

    def apply(self, values, dim):
        """Multiply ``values`` by the (symmetric) structure matrix along ``dim`` (-2 or -1)."""
        if dim in (-2, values.dim() - 2):
            return self.matrix @ values
        return values @ self.matrix.transpose(-1, -2)

    def squared_apply(self, vector):
        """Compute ``(C * C) @ vector`` for a ``(B, N)`` vector."""
        return (self._squared @ vector.unsqueeze(-1)).squeeze(-1)


class TemporalStructure:
    r"""The temporal structure :math:`C[i, i'] = |i - i'| / (n - 1)`, never formed densely.

    Parameters
    ----------
    n_frames : int
        Number of frames, padding included.
    n_real : torch.Tensor of shape (B,)
        Real frames per sequence; the scale ``1 / (n - 1)`` differs per sequence.
    prefix_sums : bool
        Use the ``O(N M)`` prefix-sum product instead of a dense one.
    """

    def __init__(self, n_frames, n_real, *, dtype, device, prefix_sums):
        self.n_frames = n_frames
        self.scale = 1.0 / (n_real.to(dtype=dtype, device=device) - 1).clamp_min(1)
        self.prefix_sums = prefix_sums
        index = torch.arange(n_frames, dtype=torch.float64, device=device)
        self._index = index
        if not prefix_sums:
            self._dense = (index[:, None] - index[None, :]).abs().to(dtype)

    def apply(self, values, dim):
        """Multiply ``values`` by the structure matrix along ``dim`` (-2 or -1)."""
        scale = self.scale.reshape(-1, *([1] * (values.dim() - 1)))
        if self.prefix_sums:
            return toeplitz_abs_product(values, dim) * scale
        if dim in (-2, values.dim() - 2):
            return (self._dense @ values) * scale
        return (values @ self._dense) * scale

    def squared_apply(self, vector):
        r"""Compute ``(C * C) @ vector`` in ``O(N)`` from the moments of ``vector``.

        :math:`\sum_k (i - k)^2 v_k = i^2 m_0 - 2 i m_1 + m_2`, evaluated in float64
        because its terms cancel.
        """
        index = self._index
        wide = vector.to(torch.float64)
        moment0 = wide.sum(-1, keepdim=True)
        moment1 = (wide * index).sum(-1, keepdim=True)
        moment2 = (wide * index * index).sum(-1, keepdim=True)
        product = index * index * moment0 - 2.0 * index * moment1 + moment2
        return product.to(vector.dtype) * (self.scale * self.scale)[:, None]


def gw_gradient(plan, structure_x, structure_y):
    r"""Compute the gradient of the square-loss GW term at ``plan``.

    With row and column sums :math:`p = T 1`, :math:`q = T^\top 1`,

    .. math::
        G = 2 \left( (C_x \odot C_x) p 1^\top + 1 q^\top (C_y \odot C_y)^\top
            - 2 C_x T C_y^\top \right),

    and :math:`GW(T) = \langle G, T \rangle / 2`.

    Parameters
    ----------
    plan : torch.Tensor of shape (B, N, M)
        The real block of the transport plan (zero on padding frames).
    structure_x, structure_y : DenseStructure or TemporalStructure
        Structure costs of the two sequences.

    Returns
    -------
    gradient : torch.Tensor of shape (B, N, M)
    """
    row_sums = plan.sum(-1)
    column_sums = plan.sum(-2)
    cross = structure_y.apply(structure_x.apply(plan, -2), -1)
    marginal_x = structure_x.squared_apply(row_sums)
    marginal_y = structure_y.squared_apply(column_sums)
    return 2.0 * (marginal_x[:, :, None] + marginal_y[:, None, :]) - 4.0 * cross
