"""Structure operators and the Gromov-Wasserstein gradient.

The GW gradient needs the products ``Cx @ T`` and ``T @ Cy`` with the structure costs of
both sequences. For temporal structure, ``Cx[i, i'] = |i - i'| / (N - 1)`` is Toeplitz, and
``Cx @ T`` is computed with prefix sums in ``O(N M)`` without forming the ``N x N``
matrix. Dense structures (feature or kernelised temporal) use a batched matrix product.
"""

import torch

__all__ = ["DenseStructure", "TemporalStructure", "gw_gradient", "toeplitz_abs_product"]

# Smallest number of frames at which the prefix-sum product beats a dense BLAS product of
# the temporal structure on the CPU. In ``benchmarks/bench_solver.py crossover`` (float32,
# torch 2.13, 1 and 2 threads), dense won at 32 frames and the two tied at 64. Prefix sums
# won from 128 frames on, by 6 times at 1,024.
PREFIX_SUM_MIN_FRAMES = 64


def _cumsum_rows_(values):
    """Cumulative sum along dimension -2, in place.

    On a large CPU tensor, ``torch.cumsum`` over a non-last dimension ran about 40 times
    slower than one pass over memory (torch 2.13, 4,096 x 4,096 float32). Adding each row
    to the next works on contiguous rows and is close to a memory pass. On other devices
    one kernel launch per row would cost more than ``cumsum`` saves, so they keep it.
    """
    if values.device.type != "cpu":
        return values.cumsum_(-2)
    for row in range(1, values.shape[-2]):
        values[..., row, :] += values[..., row - 1, :]
    return values


def toeplitz_abs_product(values, dim, out=None):
    r"""Compute :math:`\sum_k |i - k| \, V_k` along one dimension of ``values``.

    With the exclusive prefix sums :math:`E_i = \sum_{k < i} V_k` and the total
    :math:`S`, the product is :math:`\sum_k k V_k` at :math:`i = 0` and grows by
    :math:`2 E_i - S` from index :math:`i - 1` to :math:`i`, so two cumulative sums give it
    in ``O(size)`` per column, without forming the ``size x size`` matrix.

    Parameters
    ----------
    values : torch.Tensor of at least 2 dimensions
    dim : {-2, -1}
        The dimension summed over.
    out : torch.Tensor, default=None
        Contiguous buffer of the shape of ``values`` (not overlapping it) that receives
        the product; used only when no autograd graph is recorded.

    Returns
    -------
    product : torch.Tensor of the shape of ``values``
        Equal to ``D @ values`` along ``dim`` with ``D[i, k] = |i - k|``.

    Examples
    --------
    >>> import torch
    >>> from sk_realign.ot import toeplitz_abs_product
    >>> values = torch.tensor([[1.0], [2.0], [3.0]])
    >>> toeplitz_abs_product(values, dim=-2)
    tensor([[8.],
            [4.],
            [4.]])
    >>> D = torch.tensor([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 1.0, 0.0]])
    >>> torch.equal(D @ values, toeplitz_abs_product(values, dim=-2))
    True
    """
    last = dim in (-1, values.dim() - 1)
    axis = -1 if last else -2
    size = values.shape[axis]
    index = torch.arange(size, dtype=values.dtype, device=values.device)
    first = (values @ index).unsqueeze(-1) if last else (index @ values).unsqueeze(-2)

    if torch.is_grad_enabled() and values.requires_grad:
        prefix = values.cumsum(axis)
        steps = 2.0 * (prefix - values) - prefix.narrow(axis, size - 1, 1)
        return steps.cumsum(axis) - steps.narrow(axis, 0, 1) + first

    # In place in one buffer: prefix sums, then steps 2 E_i - S with the step of index 0
    # set to 0, then their prefix sums, then the product at index 0.
    result = torch.empty_like(values) if out is None else out
    result.copy_(values)
    if last:
        result.cumsum_(-1)
    else:
        _cumsum_rows_(result)
    total = result.narrow(axis, size - 1, 1).clone()
    result.sub_(values).mul_(2.0).sub_(total)
    result.narrow(axis, 0, 1).zero_()
    if last:
        result.cumsum_(-1)
    else:
        _cumsum_rows_(result)
    return result.add_(first)


class DenseStructure:
    """A structure cost held as a dense ``(B, N, N)`` matrix (feature or kernel structure)."""

    def __init__(self, matrix):
        self.matrix = matrix
        self._squared = matrix * matrix

    def apply(self, values, dim, out=None):
        """Multiply ``values`` by the (symmetric) structure matrix along ``dim`` (-2 or -1)."""
        if dim in (-2, values.dim() - 2):
            left, right = self.matrix, values
        else:
            left, right = values, self.matrix.transpose(-1, -2)
        if out is None or (torch.is_grad_enabled() and values.requires_grad):
            return left @ right
        return torch.matmul(left, right, out=out)

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

    def apply(self, values, dim, out=None):
        """Multiply ``values`` by the structure matrix along ``dim`` (-2 or -1)."""
        scale = self.scale.reshape(-1, *([1] * (values.dim() - 1)))
        grad = torch.is_grad_enabled() and values.requires_grad
        if self.prefix_sums:
            product = toeplitz_abs_product(values, dim, out=out)
        elif dim in (-2, values.dim() - 2):
            product = self._dense @ values if grad or out is None else torch.matmul(self._dense, values, out=out)
        else:
            product = values @ self._dense if grad or out is None else torch.matmul(values, self._dense, out=out)
        return product * scale if grad else product.mul_(scale)

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


def gw_gradient(plan, structure_x, structure_y, out=None, scratch=None):
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
    out, scratch : torch.Tensor of shape (B, N, M), default=None
        Contiguous buffers for the result and the intermediate product, which spare two
        allocations of the plan's size when no autograd graph is recorded (on the CPU a
        fresh large allocation costs about as much as a pass over it).

    Returns
    -------
    gradient : torch.Tensor of shape (B, N, M)

    Examples
    --------
    The uniform plan between two 3-frame sequences, with dense temporal structure:

    >>> import torch
    >>> from sk_realign.ot import gw_gradient, temporal_positions, temporal_structure_cost
    >>> from sk_realign.ot._temporal import DenseStructure
    >>> structure = DenseStructure(temporal_structure_cost(temporal_positions(3))[None])
    >>> plan = torch.full((1, 3, 3), 1 / 9, dtype=torch.float64)
    >>> gradient = gw_gradient(plan, structure, structure)
    >>> gradient.round(decimals=4)
    tensor([[[0.6667, 0.5000, 0.6667],
             [0.5000, 0.2222, 0.5000],
             [0.6667, 0.5000, 0.6667]]], dtype=torch.float64)
    >>> round(float((gradient * plan).sum() / 2), 4)  # the GW term at the plan
    0.2716
    """
    row_sums = plan.sum(-1)
    column_sums = plan.sum(-2)
    marginal_x = 2.0 * structure_x.squared_apply(row_sums)
    marginal_y = 2.0 * structure_y.squared_apply(column_sums)
    if torch.is_grad_enabled() and plan.requires_grad:
        cross = structure_y.apply(structure_x.apply(plan, -2), -1)
        return marginal_x[:, :, None] + marginal_y[:, None, :] - 4.0 * cross
    cross = structure_y.apply(structure_x.apply(plan, -2, out=scratch), -1, out=out)
    return cross.mul_(-4.0).add_(marginal_x[:, :, None]).add_(marginal_y[:, None, :])
