"""Training losses of the embedder: R-FPGWOT alignment, C-IDM and inter-sequence InfoNCE.

Every function takes embeddings of shape ``(N, D)`` or batches ``(B, N, D)`` (pairs of
equal length, as the embedder samples them) and returns a scalar: the mean over the batch.
A transport plan, where one is needed, is either the augmented ``(N + 1, M + 1)`` plan of
:func:`sk_realign.ot.solve_rfpgwot` (last row and column: the virtual sink) or a plain
``(N, M)`` plan.
"""

import torch

__all__ = [
    "pairwise_cost",
    "alignment_loss",
    "rfpgwot_loss",
    "cidm_loss",
    "inter_contrastive_loss",
]

_METRICS = ("cosine", "sqeuclidean")


def pairwise_cost(x, y, metric="cosine"):
    """Return the feature cost between every frame of ``x`` and every frame of ``y``.

    Parameters
    ----------
    x : torch.Tensor of shape (..., N, D)
    y : torch.Tensor of shape (..., M, D)
    metric : {"cosine", "sqeuclidean"}, default="cosine"
        ``"cosine"``: ``1 - cos(x_i, y_j)``, in [0, 2]; ``"sqeuclidean"``:
        ``||x_i - y_j||^2``. The same definitions as the transport solver's feature cost.

    Returns
    -------
    cost : torch.Tensor of shape (..., N, M)
        ``cost[..., i, j]`` is the cost between ``x[..., i, :]`` and ``y[..., j, :]``.

    Examples
    --------
    >>> import torch
    >>> from sk_realign.nn import pairwise_cost
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> y = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    >>> pairwise_cost(x, y).round(decimals=4)
    tensor([[0.0000, 0.2929],
            [1.0000, 0.2929]])
    >>> pairwise_cost(x, y, metric="sqeuclidean")
    tensor([[0., 1.],
            [2., 1.]])
    """
    if metric == "cosine":
        x_unit = x / x.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        y_unit = y / y.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        return 1.0 - x_unit @ y_unit.transpose(-1, -2)
    if metric == "sqeuclidean":
        return ((x.unsqueeze(-2) - y.unsqueeze(-3)) ** 2).sum(-1)
    raise ValueError(f"metric must be one of {_METRICS}; got {metric!r}.")


def _split_plan(plan, n_rows, n_columns):
    """Return the real block of a plan and its sink column and row (None without a sink)."""
    shape = tuple(plan.shape[-2:])
    if shape == (n_rows + 1, n_columns + 1):
        return plan[..., :n_rows, :n_columns], plan[..., :n_rows, n_columns], plan[..., n_rows, :n_columns]
    if shape == (n_rows, n_columns):
        return plan, None, None
    raise ValueError(
        f"plan has shape {shape}, but the embeddings have {n_rows} and {n_columns} frames; "
        f"expected ({n_rows + 1}, {n_columns + 1}) with a sink or ({n_rows}, {n_columns}) "
        "without."
    )


def alignment_loss(x, y, plan, *, rho=0.5, zeta=0.5, metric="cosine"):
    r"""Return the linear part of the R-FPGWOT objective at a fixed plan.

    .. math::

        L_{align} = (1 - \rho) \langle \tilde C(x, y), T \rangle
                  = (1 - \rho) \Big( \sum_{i, j} C_{ij} T_{ij}
                    + \frac{\zeta}{2} \big( \sum_i T_{i, M} + \sum_j T_{N, j} \big) \Big)

    where :math:`C` is the feature cost (:func:`pairwise_cost`), :math:`T` the augmented
    plan whose last row and column are the virtual sink, and :math:`\zeta / 2` the cost
    of sending a frame to the sink. The gradient flows through :math:`C` only (and through
    ``plan`` if it requires grad). When ``plan`` is the optimum of the objective, this
    gradient is the gradient of the optimal value (envelope theorem), which is why the
    plan is usually solved without gradient.

    Parameters
    ----------
    x : torch.Tensor of shape (..., N, D)
    y : torch.Tensor of shape (..., M, D)
    plan : torch.Tensor of shape (..., N + 1, M + 1) or (..., N, M)
        Augmented plan (sink last) or plain plan.
    rho : float, default=0.5
        Weight of the Gromov-Wasserstein term in the objective; the linear part has weight
        ``1 - rho``.
    zeta : float, default=0.5
        Matching threshold; a sink entry costs ``zeta / 2``. Ignored for a plain plan.
    metric : {"cosine", "sqeuclidean"}, default="cosine"

    Returns
    -------
    loss : torch.Tensor of shape ()
        Mean over the batch dimensions.

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> plan = torch.tensor([[0.5, 0.0], [0.0, 0.5]])
    >>> float(alignment_loss(x, x.flip(0), plan, rho=0.0))
    1.0
    """
    n_rows, n_columns = x.shape[-2], y.shape[-2]
    real, sink_column, sink_row = _split_plan(plan, n_rows, n_columns)
    cost = pairwise_cost(x, y, metric)
    loss = (cost * real).sum(dim=(-2, -1))
    if sink_column is not None:
        if zeta is None:
            raise ValueError("plan has a sink row and column, so zeta must be a float; got None.")
        loss = loss + 0.5 * zeta * (sink_column.sum(-1) + sink_row.sum(-1))
    return (1.0 - rho) * loss.mean()


def rfpgwot_loss(
    x,
    y,
    *,
    rho=0.5,
    tau=1.0,
    zeta=0.5,
    eps=0.03,
    laplace_scale=0.1,
    prior_weight=1.0,
    metric="cosine",
    structure="temporal",
    max_outer_iter=5,
    max_inner_iter=25,
    kernel_scale=0.1,
    tol=1e-6,
    differentiable=False,
    warn=False,
):
    """Solve R-FPGWOT between embeddings and return the alignment loss and the plan.

    The plan is solved by :func:`sk_realign.ot.solve_rfpgwot` on detached embeddings, so
    the gradient of the loss is that of :func:`alignment_loss` at a fixed plan (envelope
    theorem). With ``differentiable=True`` the solver runs on the embeddings themselves
    and the gradient also flows through its unrolled Sinkhorn iterations (slower, more
    memory).

    Parameters
    ----------
    x : torch.Tensor of shape (..., N, D)
    y : torch.Tensor of shape (..., M, D)
    rho, tau, zeta, eps, laplace_scale, prior_weight, metric, structure, \
max_outer_iter, max_inner_iter, kernel_scale, tol
        The parameters of :func:`sk_realign.ot.solve_rfpgwot`, with the same meanings.
    differentiable : bool, default=False
        Differentiate through the solver's iterations.
    warn : bool, default=False
        Let the solver raise a ConvergenceWarning for pairs that stop at
        ``max_outer_iter``. Off by default: a training step needs a good plan, not a
        converged one, and would otherwise warn at nearly every iteration.

    Returns
    -------
    loss : torch.Tensor of shape ()
        :func:`alignment_loss` at the solved plan, mean over the batch.
    plan : torch.Tensor of shape (..., N + 1, M + 1), or (..., N, M) when zeta is None
    log : dict
        The solver's log.

    See Also
    --------
    alignment_loss : The loss at a given plan.
    sk_realign.ot.solve_rfpgwot : The solver.

    Examples
    --------
    >>> import torch
    >>> from sk_realign.nn import rfpgwot_loss
    >>> generator = torch.Generator().manual_seed(0)
    >>> x = torch.randn(6, 4, generator=generator, requires_grad=True)
    >>> y = torch.randn(5, 4, generator=generator)
    >>> loss, plan, log = rfpgwot_loss(x, y)
    >>> plan.shape
    torch.Size([7, 6])
    >>> loss.backward()
    >>> x.grad.shape
    torch.Size([6, 4])
    """
    from ..ot import solve_rfpgwot

    solver_x, solver_y = (x, y) if differentiable else (x.detach(), y.detach())
    plan, log = solve_rfpgwot(
        solver_x,
        solver_y,
        rho=rho,
        tau=tau,
        zeta=zeta,
        eps=eps,
        laplace_scale=laplace_scale,
        prior_weight=prior_weight,
        metric=metric,
        structure=structure,
        max_outer_iter=max_outer_iter,
        max_inner_iter=max_inner_iter,
        kernel_scale=kernel_scale,
        tol=tol,
        differentiable=differentiable,
        warn=warn,
    )
    loss = alignment_loss(x, y, plan, rho=rho, zeta=zeta, metric=metric)
    return loss, plan, log


def cidm_loss(x, *, sigma=2, margin=2.0):
    r"""Return the contrastive inverse difference moment (C-IDM) of one sequence.

    .. math::

        \mathrm{CIDM}(x) = \frac{1}{N^2} \sum_{i, i'} \Big(
            y_{ii'} \, w_{ii'} \max(0, m - D_{ii'})
            + (1 - y_{ii'}) \frac{D_{ii'}}{w_{ii'}} \Big)

    with :math:`D_{ii'} = \|x_i - x_{i'}\|^2`, :math:`w_{ii'} = (i - i')^2 + 1` and
    :math:`y_{ii'} = 1[|i - i'| > \sigma]`. Frames within :math:`\sigma` positions of
    each other are pulled together (less the farther apart they are), farther frames are
    pushed at least the margin :math:`m` apart (more the farther apart they are).

    Parameters
    ----------
    x : torch.Tensor of shape (..., N, D)
        Embeddings of the frames of a sequence in temporal order.
    sigma : float, default=2
        Window, in positions of ``x``, inside which frames count as neighbours.
    margin : float, default=2.0
        Least squared distance wanted between frames farther apart than ``sigma``.

    Returns
    -------
    loss : torch.Tensor of shape ()
        Mean over the batch dimensions.

    Examples
    --------
    >>> import torch
    >>> round(float(cidm_loss(torch.tensor([[0.0], [1.0], [3.0]]), sigma=1, margin=2.0)), 4)
    0.5556
    """
    n_frames = x.shape[-2]
    positions = torch.arange(n_frames, device=x.device, dtype=x.dtype)
    gap = positions.unsqueeze(1) - positions.unsqueeze(0)
    weight = gap**2 + 1
    far = (gap.abs() > sigma).to(x.dtype)
    distance = ((x.unsqueeze(-2) - x.unsqueeze(-3)) ** 2).sum(-1)
    push = far * weight * torch.clamp(margin - distance, min=0)
    pull = (1 - far) * distance / weight
    return (push + pull).mean(dim=(-2, -1)).mean()


def _inter_contrastive_direction(x, y, real, sink, *, temperature, window, negatives, metric, sink_threshold):
    """InfoNCE from the frames of ``x`` to those of ``y``; returns (sum of losses, count)."""
    mass = real.sum(-1)
    if sink is not None:
        mass = mass + sink
        matched = sink < sink_threshold * mass
    else:
        matched = mass > 0
    matched = matched & (mass > 0)

    positive = real.argmax(dim=-1)
    positions = torch.arange(y.shape[-2], device=x.device)
    if negatives == "window":
        gap = (positions - positive.unsqueeze(-1)).abs()
        candidates = (gap > window) | (gap == 0)
    else:
        negative = real.argmin(dim=-1)
        candidates = (positions == positive.unsqueeze(-1)) | (positions == negative.unsqueeze(-1))

    logits = -pairwise_cost(x, y, metric) / temperature
    masked = logits.masked_fill(~candidates, float("-inf"))
    positive_logit = logits.gather(-1, positive.unsqueeze(-1)).squeeze(-1)
    cross_entropy = torch.logsumexp(masked, dim=-1) - positive_logit
    weights = matched.to(x.dtype)
    return (cross_entropy * weights).sum(), weights.sum()


def inter_contrastive_loss(
    x,
    y,
    plan,
    *,
    temperature=0.1,
    window=2,
    negatives="window",
    metric="cosine",
    sink_threshold=0.5,
):
    r"""Return the inter-sequence contrastive (InfoNCE) loss guided by a transport plan.

    For every matched frame :math:`i` of ``x`` (one whose sink mass
    :math:`T_{i, M} / \sum_j T_{ij}` is below ``sink_threshold``), the positive is its best
    match :math:`j^+ = \arg\max_j T_{ij}` and the loss is

    .. math::

        \ell_i = -\log \frac{\exp(-d(x_i, y_{j^+}) / \kappa)}
                 {\sum_{j \in \{j^+\} \cup \mathcal N_i} \exp(-d(x_i, y_j) / \kappa)}

    with :math:`d` the feature cost (:func:`pairwise_cost`), :math:`\kappa` the
    temperature and :math:`\mathcal N_i` the negatives: every frame of ``y`` more than
    ``window`` positions from :math:`j^+` (``negatives="window"``), or the single worst
    match :math:`\arg\min_j T_{ij}` (``negatives="single"``). The same is done from ``y``
    to ``x`` with the transposed plan. The loss is the mean of the two directions, and
    each direction is the mean over its matched frames (0 when none is matched).

    Parameters
    ----------
    x : torch.Tensor of shape (..., N, D)
    y : torch.Tensor of shape (..., M, D)
    plan : torch.Tensor of shape (..., N + 1, M + 1) or (..., N, M)
        Augmented plan (sink last) or plain plan; used without gradient.
    temperature : float, default=0.1
    window : int, default=2
        Frames of ``y`` within this many positions of the positive are neither positive
        nor negative (``negatives="window"`` only).
    negatives : {"window", "single"}, default="window"
        ``"single"`` is the form with one negative, the worst match. It becomes trivially
        easy within a few hundred steps, which is why ``"window"`` is the default.
    metric : {"cosine", "sqeuclidean"}, default="cosine"
    sink_threshold : float, default=0.5
        Frames sending at least this fraction of their mass to the sink have no positive.

    Returns
    -------
    loss : torch.Tensor of shape ()

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> plan = torch.eye(2) / 2
    >>> round(float(inter_contrastive_loss(x, x, plan, temperature=1.0, window=0)), 4)
    0.3133
    """
    if negatives not in ("window", "single"):
        raise ValueError(f"negatives must be 'window' or 'single'; got {negatives!r}.")
    plan = plan.detach()
    n_rows, n_columns = x.shape[-2], y.shape[-2]
    real, sink_column, sink_row = _split_plan(plan, n_rows, n_columns)
    options = dict(
        temperature=temperature,
        window=window,
        negatives=negatives,
        metric=metric,
        sink_threshold=sink_threshold,
    )

    total_xy, count_xy = _inter_contrastive_direction(x, y, real, sink_column, **options)
    total_yx, count_yx = _inter_contrastive_direction(
        y, x, real.transpose(-1, -2), sink_row, **options
    )
    return 0.5 * (total_xy / count_xy.clamp_min(1) + total_yx / count_yx.clamp_min(1))
