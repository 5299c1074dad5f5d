"""Cost matrices of R-FPGWOT: feature costs, structure costs, the Laplace prior, the sink.

Every function takes and returns torch tensors and broadcasts over leading batch
dimensions, so one call serves a single pair ``(N, d), (M, d)`` or a batch
``(B, N, d), (B, M, d)``.
"""

import torch

__all__ = [
    "feature_cost",
    "temporal_positions",
    "temporal_structure_cost",
    "kernel_structure_cost",
    "laplace_prior",
    "augment_with_sink",
]

METRICS = ("cosine", "sqeuclidean")


def feature_cost(x, y, metric="cosine"):
    r"""Compute the pairwise feature cost between the frames of two sequences.

    Parameters
    ----------
    x : torch.Tensor of shape (..., N, d)
        Frame features of the first sequence.
    y : torch.Tensor of shape (..., M, d)
        Frame features of the second sequence, with the same ``d``.
    metric : {"cosine", "sqeuclidean"}, default="cosine"
        ``"cosine"`` gives :math:`1 - \cos(x_i, y_j)`, in [0, 2]; a frame of zeros has
        cosine 0 with every frame, so its cost is 1. ``"sqeuclidean"`` gives
        :math:`\|x_i - y_j\|^2`.

    Returns
    -------
    cost : torch.Tensor of shape (..., N, M)

    Examples
    --------
    >>> import torch
    >>> from sk_realign.ot import feature_cost
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> feature_cost(x, x)
    tensor([[0., 1.],
            [1., 0.]])
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}. Got {metric!r} instead.")
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(
            f"x has {x.shape[-1]} features per frame but y has {y.shape[-1]}; both "
            "sequences must come from the same feature extractor."
        )

    if metric == "cosine":
        # Scaling the (N, M) product by the inverse norms is cheaper than normalising the
        # (N, d) frames when d > M. Clamping the norms keeps a zero frame (such as
        # padding) finite instead of NaN.
        tiny = torch.finfo(x.dtype).tiny ** 0.5
        inverse_x = 1.0 / x.norm(dim=-1).clamp_min(tiny)
        inverse_y = 1.0 / y.norm(dim=-1).clamp_min(tiny)
        product = x @ y.transpose(-1, -2)
        cosine = product * inverse_x.unsqueeze(-1) * inverse_y.unsqueeze(-2)
        return 1.0 - cosine

    # The expanded form uses one matrix product; the clamp removes tiny negative values
    # that cancellation leaves on near-identical frames.
    squared_x = (x * x).sum(-1, keepdim=True)
    squared_y = (y * y).sum(-1, keepdim=True).transpose(-1, -2)
    return (squared_x + squared_y - 2.0 * x @ y.transpose(-1, -2)).clamp_min(0.0)


def temporal_positions(n_frames, n_real=None, *, dtype=torch.float64, device=None):
    r"""Return the normalised positions :math:`t_i = i / (n - 1)` of a sequence's frames.

    Parameters
    ----------
    n_frames : int
        Number of frames, padding included.
    n_real : torch.Tensor of shape (B,), default=None
        Number of real frames of each sequence in a padded batch; positions of the padding
        frames continue the same grid and are ignored by the solver. ``None`` means every
        frame is real.
    dtype, device
        Of the returned tensor.

    Returns
    -------
    positions : torch.Tensor of shape (n_frames,) or (B, n_frames)
        A single frame sits at position 0.

    Examples
    --------
    >>> import torch
    >>> from sk_realign.ot import temporal_positions
    >>> temporal_positions(3)
    tensor([0.0000, 0.5000, 1.0000], dtype=torch.float64)
    >>> temporal_positions(4, torch.tensor([4, 2]))
    tensor([[0.0000, 0.3333, 0.6667, 1.0000],
            [0.0000, 1.0000, 2.0000, 3.0000]], dtype=torch.float64)
    """
    index = torch.arange(n_frames, dtype=dtype, device=device)
    if n_real is None:
        return index / max(n_frames - 1, 1)
    denominator = (n_real.to(dtype=dtype, device=device) - 1).clamp_min(1)
    return index / denominator[:, None]


def temporal_structure_cost(positions):
    r"""Compute the temporal structure cost :math:`C[i, i'] = |t_i - t_{i'}|`.

    Parameters
    ----------
    positions : torch.Tensor of shape (..., N)
        Normalised frame positions, see :func:`temporal_positions`.

    Returns
    -------
    cost : torch.Tensor of shape (..., N, N)

    Examples
    --------
    >>> from sk_realign.ot import temporal_positions, temporal_structure_cost
    >>> temporal_structure_cost(temporal_positions(3))
    tensor([[0.0000, 0.5000, 1.0000],
            [0.5000, 0.0000, 0.5000],
            [1.0000, 0.5000, 0.0000]], dtype=torch.float64)
    """
    return (positions[..., :, None] - positions[..., None, :]).abs()


def kernel_structure_cost(positions, scale):
    r"""Compute the kernelised temporal structure cost :math:`1 - \exp(-|t_i - t_{i'}| / b)`.

    Unlike :func:`temporal_structure_cost`, it saturates at 1 for frames much further
    apart than ``scale``, so the order of distant steps weighs less than their proximity.

    Parameters
    ----------
    positions : torch.Tensor of shape (..., N)
        Normalised frame positions.
    scale : float
        The kernel scale :math:`b > 0`, in units of the normalised position.

    Returns
    -------
    cost : torch.Tensor of shape (..., N, N)

    Examples
    --------
    >>> from sk_realign.ot import kernel_structure_cost, temporal_positions
    >>> kernel_structure_cost(temporal_positions(3), scale=0.5).round(decimals=3)
    tensor([[0.0000, 0.6320, 0.8650],
            [0.6320, 0.0000, 0.6320],
            [0.8650, 0.6320, 0.0000]], dtype=torch.float64)
    """
    return 1.0 - torch.exp(-temporal_structure_cost(positions) / scale)


def laplace_prior(positions_x, positions_y, scale):
    r"""Compute the Laplace prior :math:`Q[i, j] = \exp(-|t_i - s_j| / b)`.

    The prior favours plans near the diagonal of normalised time without forcing them
    there; the solver uses its logarithm, raised to the power ``prior_weight``.

    Parameters
    ----------
    positions_x : torch.Tensor of shape (..., N)
    positions_y : torch.Tensor of shape (..., M)
    scale : float
        The Laplace scale :math:`b > 0`.

    Returns
    -------
    prior : torch.Tensor of shape (..., N, M)

    Examples
    --------
    >>> import torch
    >>> from sk_realign.ot import laplace_prior, temporal_positions
    >>> t = temporal_positions(3)
    >>> laplace_prior(t, t, scale=0.5).diagonal()
    tensor([1., 1., 1.], dtype=torch.float64)
    """
    return torch.exp(-(positions_x[..., :, None] - positions_y[..., None, :]).abs() / scale)


def augment_with_sink(cost, zeta):
    r"""Add the virtual sink frame to both sides of a cost matrix.

    Real frame ``i`` may send its mass to the sink column and real frame ``j`` may
    receive mass from the sink row, each at cost :math:`\zeta / 2`; sink to sink costs 0.
    Because the augmented problem is balanced, a pair ``(i, j)`` is left unmatched when
    its cost exceeds :math:`\zeta / 2 + \zeta / 2 = \zeta`.

    Parameters
    ----------
    cost : torch.Tensor of shape (..., N, M)
    zeta : float
        The matching threshold, in the units of ``cost``.

    Returns
    -------
    augmented : torch.Tensor of shape (..., N + 1, M + 1)
        ``cost`` in the top-left block, :math:`\zeta / 2` in the last row and column, 0 in
        the bottom-right entry.

    Examples
    --------
    >>> import torch
    >>> from sk_realign.ot import augment_with_sink
    >>> augment_with_sink(torch.zeros(1, 2), zeta=0.5)
    tensor([[0.0000, 0.0000, 0.2500],
            [0.2500, 0.2500, 0.0000]])
    """
    augmented = torch.nn.functional.pad(cost, (0, 1, 0, 1), value=zeta / 2.0)
    augmented[..., -1, -1] = 0.0
    return augmented
