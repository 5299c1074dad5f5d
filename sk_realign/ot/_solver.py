"""The majorisation-minimisation solver of regularised fused partial GW transport."""

import contextlib
import logging
import math
import numbers
import warnings

import torch

from ..exceptions import ConvergenceWarning
from ._costs import (
    METRICS,
    augment_with_sink,
    feature_cost,
    kernel_structure_cost,
    temporal_positions,
)
from ._memory import check_memory, solver_memory_bytes
from ._sinkhorn import NEG_LOG, SOLVERS
from ._temporal import PREFIX_SUM_MIN_FRAMES, DenseStructure, TemporalStructure, gw_gradient

__all__ = ["solve_rfpgwot"]

logger = logging.getLogger(__name__)

STRUCTURES = ("temporal", "feature", "kernel")
TEMPORAL_PRODUCTS = ("auto", "prefix", "dense")
INITS = ("prior", "feature")


def _check_real(value, name, low, high, *, low_open=False, high_open=False, allow_none=False):
    """Check a float parameter against an interval and return it as ``float``."""
    if value is None and allow_none:
        return None
    bounds = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ValueError(f"{name} must be a float in the range {bounds}. Got {value!r} instead.")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        raise ValueError(f"{name} must be a float in the range {bounds}. Got {value!r} instead.")
    return value


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an int in the range [{low}, inf). Got {value!r} instead.")
    return int(value)


def _check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}. Got {value!r} instead.")
    return value


def _check_mask(mask, name, batch, frames, device):
    """Check a padding mask: bool, shape (B, frames), real frames first, at least one."""
    if mask is None:
        return torch.ones(batch, frames, dtype=torch.bool, device=device)
    mask = torch.as_tensor(mask, device=device)
    if mask.dtype != torch.bool:
        raise ValueError(f"{name} must be a bool tensor; got dtype {mask.dtype}.")
    if mask.dim() == 1:
        mask = mask.unsqueeze(0)
    if tuple(mask.shape) != (batch, frames):
        raise ValueError(
            f"{name} has shape {tuple(mask.shape)}, but the sequences need ({batch}, {frames})."
        )
    n_real = mask.sum(-1)
    if bool((n_real == 0).any()):
        index = int(torch.nonzero(n_real == 0)[0])
        raise ValueError(f"{name} marks no real frame in pair {index}; every pair needs one.")
    prefix = torch.arange(frames, device=device)[None, :] < n_real[:, None]
    if not bool((prefix == mask).all()):
        index = int(torch.nonzero((prefix != mask).any(-1))[0])
        raise ValueError(
            f"{name} of pair {index} is not a right-padding mask: real frames must come first "
            "(True) and padding last (False)."
        )
    return mask


def _check_sequences(x, y, mask_x, mask_y):
    """Convert the inputs to batched float tensors of one dtype and device."""
    x = torch.as_tensor(x)
    y = torch.as_tensor(y, device=x.device)
    for name, value in (("x", x), ("y", y)):
        if value.dim() not in (2, 3):
            raise ValueError(
                f"{name} must have shape (N, d) or (B, N, d); got shape {tuple(value.shape)}."
            )
        if not value.is_floating_point():
            raise ValueError(
                f"{name} has dtype {value.dtype}; expected float32 or float64. Convert it "
                "with .float() or .double()."
            )
    if x.dim() != y.dim():
        raise ValueError(
            f"x has shape {tuple(x.shape)} and y has shape {tuple(y.shape)}; pass both as "
            "single sequences (N, d), (M, d) or both as batches (B, N, d), (B, M, d)."
        )
    single = x.dim() == 2
    if single:
        x, y = x.unsqueeze(0), y.unsqueeze(0)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x contains {x.shape[0]} sequences but y contains {y.shape[0]}; pass one y "
            "sequence for each x sequence."
        )
    if x.shape[-1] != y.shape[-1]:
        raise ValueError(
            f"x has {x.shape[-1]} features per frame but y has {y.shape[-1]}; both "
            "sequences must come from the same feature extractor."
        )
    if x.shape[1] == 0 or y.shape[1] == 0:
        raise ValueError(
            f"Sequences need at least one frame; got x of shape {tuple(x.shape)} and y of "
            f"shape {tuple(y.shape)}."
        )
    dtype = torch.promote_types(x.dtype, y.dtype)
    if dtype not in (torch.float32, torch.float64):
        dtype = torch.float32
    x, y = x.to(dtype), y.to(dtype)
    mask_x = _check_mask(mask_x, "mask_x", x.shape[0], x.shape[1], x.device)
    mask_y = _check_mask(mask_y, "mask_y", y.shape[0], y.shape[1], y.device)
    return x, y, mask_x, mask_y, single


def _structure(features, mask, positions, n_real, *, structure, metric, kernel_scale, product):
    """Build the structure operator of one side of the batch."""
    frames = features.shape[1]
    if structure == "temporal":
        prefix = product == "prefix" or (product == "auto" and frames >= PREFIX_SUM_MIN_FRAMES)
        return TemporalStructure(
            frames, n_real, dtype=features.dtype, device=features.device, prefix_sums=prefix
        )
    if structure == "feature":
        matrix = feature_cost(features, features, metric)
    else:
        matrix = kernel_structure_cost(positions, kernel_scale)
    real = mask[:, :, None] & mask[:, None, :]
    return DenseStructure(torch.where(real, matrix, 0.0))


def _batch_dot(left, right):
    """Frobenius inner product of two batches of matrices, per pair."""
    if left.is_contiguous() and right.is_contiguous():
        # A batched product of flattened views needs no temporary of the matrices' size.
        batch = left.shape[0]
        return torch.bmm(left.reshape(batch, 1, -1), right.reshape(batch, -1, 1)).reshape(batch)
    return (left * right).sum((-1, -2))


def _subtract_block(log_base, gradient, weight):
    """Return ``log_base`` minus ``weight * gradient`` on its top-left (real) block."""
    n, m = gradient.shape[-2:]
    rows, columns = log_base.shape[-2:]
    padded = torch.nn.functional.pad(gradient, (0, columns - m, 0, rows - n))
    return log_base - weight * padded


def _kl_marginal(mass, log_marginal, marginal, mask):
    """Generalised KL divergence between a plan's marginal and its target, per pair."""
    terms = torch.xlogy(mass, mass) - mass * log_marginal - mass + marginal
    return torch.where(mask, terms, 0.0).sum(-1)


def solve_rfpgwot(
    x,
    y,
    *,
    mask_x=None,
    mask_y=None,
    rho=0.5,
    tau=1.0,
    zeta=0.5,
    eps=0.03,
    laplace_scale=0.1,
    prior_weight=1.0,
    metric="cosine",
    structure="temporal",
    kernel_scale=0.1,
    max_outer_iter=5,
    max_inner_iter=25,
    tol=1e-6,
    method="scaling",
    init="prior",
    differentiable=False,
    temporal_product="auto",
    memory_limit=None,
    warn=True,
):
    r"""Solve regularised fused partial Gromov-Wasserstein transport (R-FPGWOT).

    Aligns the frames :math:`x_1, \dots, x_N` of one sequence with the frames
    :math:`y_1, \dots, y_M` of another by minimising, over the plan :math:`T` of shape
    ``(N + 1, M + 1)`` augmented with one virtual sink frame on each side,

    .. math::
        J(T) = (1 - \rho) \langle \tilde C, T \rangle + \rho \, GW(T_{real})
        + \tau \left( KL(T 1 | a) + KL(T^\top 1 | b) \right)
        + \varepsilon \, KL(T | a b^\top \odot \tilde Q^\phi)

    where

    - :math:`\tilde C` is the feature cost :math:`C` (see :func:`feature_cost`) with a
      sink row and column of cost :math:`\zeta / 2` and 0 at the sink-sink entry
      (:func:`augment_with_sink`), so a pair of frames is left unmatched when its cost
      exceeds :math:`\zeta`;
    - :math:`GW(T) = \sum_{i,i',j,j'} (C_x[i,i'] - C_y[j,j'])^2 T_{ij} T_{i'j'}` over the
      real block, with structure costs :math:`C_x[i,i'] = |t_i - t_{i'}|` of the
      normalised positions :math:`t_i = (i - 1) / (N - 1)` (``structure="temporal"``);
    - :math:`a = [1, \dots, 1, M] / (N + M)` and :math:`b = [1, \dots, 1, N] / (N + M)`:
      one unit per real frame, and a sink that can take every frame of the other side;
    - :math:`KL` is the generalised Kullback-Leibler divergence,
      :math:`\tau` relaxes the marginals and :math:`\varepsilon` regularises the plan;
    - :math:`\tilde Q[i, j] = \exp(-|t_i - s_j| / b)` is the Laplace prior on the real
      block and 1 on the sink row and column, raised to the power :math:`\phi`; the
      sink-sink entry of the reference is multiplied by :math:`(N + M) / 2`, which removes
      a bias towards parking frames of the order of :math:`\varepsilon \log (N + M)`.

    Majorisation-minimisation: starting from the prior-weighted independent plan, each
    outer step linearises the GW term at the current plan, with gradient
    :math:`G = 2 ((C_x \odot C_x) p 1^\top + 1 q^\top (C_y \odot C_y)^\top
    - 2 C_x T C_y^\top)` for row and column sums :math:`p, q` of :math:`T_{real}`, and
    runs unbalanced Sinkhorn on the kernel
    :math:`\tilde Q^\phi \exp(-((1 - \rho) \tilde C + \rho \tilde G) / \varepsilon)`
    with updates raised to the power :math:`\tau / (\tau + \varepsilon)`.

    Parameters
    ----------
    x : torch.Tensor of shape (N, d) or (B, N, d)
        Frames of the first sequence, or a batch of ``B`` sequences. CPU or CUDA,
        float32 or float64; arrays are converted with :func:`torch.as_tensor`.
    y : torch.Tensor of shape (M, d) or (B, M, d)
        Frames of the second sequence(s), on the device of ``x``.
    mask_x : torch.Tensor of bool, shape (B, N), default=None
        Real frames of a right-padded batch (``True`` first, padding last). Padding
        frames receive no mass and do not shift the positions of the real ones.
    mask_y : torch.Tensor of bool, shape (B, M), default=None
        As ``mask_x``, for ``y``.
    rho : float in [0, 1], default=0.5
        Weight of the GW term; 0 is unbalanced entropic OT with a sink, 1 is partial
        Gromov-Wasserstein.
    tau : float in (0, inf], default=1.0
        Marginal relaxation; ``float("inf")`` enforces the marginals exactly.
    zeta : float in (0, inf) or None, default=0.5
        Matching threshold on the feature cost, in its units (cosine: 0 to 2); ``None``
        removes the sink, and the marginals become uniform: ``1 / N`` and ``1 / M``.
    eps : float in (0, inf), default=0.03
        Entropic regularisation, in units of the cost. Smaller values give sharper
        plans and need more iterations; the solver stays finite down to at least 1e-3.
    laplace_scale : float in (0, inf), default=0.1
        Scale :math:`b` of the Laplace prior, in normalised time.
    prior_weight : float in [0, inf), default=1.0
        Exponent :math:`\phi` of the prior; 0 removes it.
    metric : {"cosine", "sqeuclidean"}, default="cosine"
        Feature cost.
    structure : {"temporal", "feature", "kernel"}, default="temporal"
        Structure costs of the GW term: ``|t_i - t_i'|``, the feature cost between the
        frames of one sequence, or the kernelised temporal cost
        ``1 - exp(-|t_i - t_i'| / kernel_scale)``.
    kernel_scale : float in (0, inf), default=0.1
        Scale of the kernelised temporal structure.
    max_outer_iter : int, default=5
        Maximum number of MM steps.
    max_inner_iter : int, default=25
        Maximum number of Sinkhorn iterations per MM step.
    tol : float, default=1e-6
        The MM steps stop when the relative change of the objective falls below ``tol``;
        a Sinkhorn loop stops when no dual potential has moved by more than ``tol * eps``
        since its previous check, made every 5 iterations.
    method : {"scaling", "log"}, default="scaling"
        ``"scaling"`` iterates on scalings of a log-stabilised kernel (two matrix-vector
        products per iteration); ``"log"`` runs log-sum-exp updates, slower but the
        reference for the stabilised path.
    init : {"prior", "feature"}, default="prior"
        Plan at which the GW term is first linearised: the prior-weighted independent
        plan :math:`a b^\top \odot \tilde Q^\phi`, or the plan of the feature cost alone
        (the ``rho=0`` problem, one extra Sinkhorn loop), which starts the structure term
        from the content match. See Notes.
    differentiable : bool, default=False
        ``False`` solves under :func:`torch.no_grad` (use the envelope theorem: the
        gradient of the cost at a fixed optimal plan); ``True`` keeps the autograd graph
        through the unrolled iterations.
    temporal_product : {"auto", "prefix", "dense"}, default="auto"
        How temporal structure products are computed: ``O(N M)`` prefix sums, a dense
        matrix product, or the faster of the two for the size (prefix sums from 64
        frames, see ``sk_realign.ot._temporal.PREFIX_SUM_MIN_FRAMES``).
    memory_limit : int, default=None
        Bytes the solve may use. ``None`` uses the free memory of the device (psutil or
        ``/proc/meminfo`` on the CPU, :func:`torch.cuda.mem_get_info` on CUDA).
    warn : bool, default=True
        Raise a :class:`~sk_realign.exceptions.ConvergenceWarning` when some pair does
        not reach ``tol`` within ``max_outer_iter`` steps.

    Returns
    -------
    plan : torch.Tensor of shape (..., N + 1, M + 1), or (..., N, M) when ``zeta`` is None
        The transport plan; the last row and column are the sink. Each real frame carries
        mass ``1 / (N + M)`` (``1 / N`` or ``1 / M`` without the sink), up to the
        marginal relaxation.
    log : dict
        - ``"objective"``: tensor (..., n_steps), :math:`J` after each MM step;
        - ``"sink_mass_x"``: tensor (..., N), the fraction of each frame's mass sent to
          the sink, in [0, 1] (zeros without a sink or on padding);
        - ``"sink_mass_y"``: tensor (..., M), the fraction received from the sink;
        - ``"cost"``: tensor (...,), :math:`(1 - \rho) \langle \tilde C, T \rangle +
          \rho \, GW(T_{real})` at the final plan;
        - ``"n_iter"``: int, MM steps run; ``"n_inner_iter"``: int, Sinkhorn iterations
          over all steps;
        - ``"converged"``: bool tensor (...,).

    Raises
    ------
    ValueError
        For a parameter out of range or inputs of the wrong shape, dtype or values.
    MemoryError
        Before anything large is allocated, when the estimated peak memory exceeds
        ``memory_limit`` or the memory available.

    See Also
    --------
    sk_realign.PartialFGWAligner : The estimator built on this function.
    sinkhorn_unbalanced : The inner solver on its own.

    Notes
    -----
    Special cases: ``zeta=None`` removes the sink, ``prior_weight=0`` the prior,
    ``rho=0`` the GW term, and ``tau=float("inf")`` makes the marginals exact. With
    ``rho=0``, no sink and no prior this is the problem of POT's
    ``ot.unbalanced.sinkhorn_unbalanced(..., reg_type="kl")``; with ``tau=inf``, no sink
    and no prior, the MM iteration is the one of POT's
    ``ot.gromov.entropic_fused_gromov_wasserstein``.

    The linearisation majorises the GW term only when it is concave, which the
    temporal structure does not guarantee, so the objective is recorded at every step;
    on the tested real and random pairs it never rose beyond rounding.

    Pairs of a batch run the same number of steps, until every pair has converged.

    With the prior off, the independent plan is uniform. The temporal structure is
    symmetric under reversing either sequence, so the uniform start is a saddle point
    that the MM steps never leave when nothing else breaks the symmetry: with ``rho=1``
    the plan stays an even mixture of the diagonal and the anti-diagonal. ``init="feature"``
    starts from the feature match instead and then follows the structure.

    With ``rho=1`` the factor :math:`1 - \rho` also removes the sink cost, so parking
    is free and frames drift to the sink; use ``zeta=None`` for plain entropic GW.

    References
    ----------
    .. [1] Peyré, G., Cuturi, M. and Solomon, J. (2016). Gromov-Wasserstein averaging of
       kernel and distance matrices. ICML.
    .. [2] Chizat, L., Peyré, G., Schmitzer, B. and Vialard, F.-X. (2018). Scaling
       algorithms for unbalanced optimal transport problems. Mathematics of Computation.
    .. [3] Chapel, L., Alaya, M. Z. and Gasso, G. (2020). Partial optimal transport with
       applications on positive-unlabeled learning. NeurIPS.

    Examples
    --------
    >>> import torch
    >>> from sk_realign.ot import solve_rfpgwot
    >>> x = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    >>> plan, log = solve_rfpgwot(x, x, eps=0.01, max_outer_iter=20, max_inner_iter=200)
    >>> plan.shape
    torch.Size([7, 7])
    >>> plan[:-1, :-1].argmax(dim=1)
    tensor([0, 1, 2, 3, 4, 5])
    """
    rho = _check_real(rho, "rho", 0, 1)
    tau = _check_real(tau, "tau", 0, math.inf, low_open=True)
    zeta = _check_real(zeta, "zeta", 0, math.inf, low_open=True, high_open=True, allow_none=True)
    eps = _check_real(eps, "eps", 0, math.inf, low_open=True, high_open=True)
    laplace_scale = _check_real(laplace_scale, "laplace_scale", 0, math.inf, low_open=True, high_open=True)
    prior_weight = _check_real(prior_weight, "prior_weight", 0, math.inf, high_open=True)
    kernel_scale = _check_real(kernel_scale, "kernel_scale", 0, math.inf, low_open=True, high_open=True)
    tol = _check_real(tol, "tol", 0, math.inf, high_open=True)
    max_outer_iter = _check_int(max_outer_iter, "max_outer_iter", 1)
    max_inner_iter = _check_int(max_inner_iter, "max_inner_iter", 1)
    _check_choice(metric, "metric", METRICS)
    _check_choice(structure, "structure", STRUCTURES)
    _check_choice(method, "method", tuple(SOLVERS))
    _check_choice(init, "init", INITS)
    _check_choice(temporal_product, "temporal_product", TEMPORAL_PRODUCTS)
    if memory_limit is not None:
        memory_limit = _check_int(memory_limit, "memory_limit", 0)

    x, y, mask_x, mask_y, single = _check_sequences(x, y, mask_x, mask_y)
    batch, n, m = x.shape[0], x.shape[1], y.shape[1]

    # Refuse a problem that cannot fit before any (n, m) matrix exists.
    dense = rho > 0 and (
        structure != "temporal"
        or temporal_product == "dense"
        or (temporal_product == "auto" and min(n, m) < PREFIX_SUM_MIN_FRAMES)
    )
    needed = solver_memory_bytes(
        batch, n, m, itemsize=x.element_size(), sink=zeta is not None,
        dense_structure=dense, differentiable_steps=max_outer_iter if differentiable else 0,
    )
    check_memory(needed, x.device, memory_limit)

    grad_context = contextlib.nullcontext() if differentiable else torch.no_grad()
    with grad_context:
        plan, log = _solve(
            x, y, mask_x, mask_y, rho=rho, tau=tau, zeta=zeta, eps=eps,
            laplace_scale=laplace_scale, prior_weight=prior_weight, metric=metric,
            structure=structure, kernel_scale=kernel_scale, max_outer_iter=max_outer_iter,
            max_inner_iter=max_inner_iter, tol=tol, method=method, init=init,
            temporal_product=temporal_product,
        )

    if warn and not bool(log["converged"].all()):
        n_failed = int((~log["converged"]).sum())
        warnings.warn(
            f"solve_rfpgwot did not converge for {n_failed} of {batch} pair(s) within "
            f"max_outer_iter={max_outer_iter} MM steps (relative change of the objective "
            f"above tol={tol:g}). Increase max_outer_iter or max_inner_iter, or raise tol.",
            ConvergenceWarning,
            stacklevel=2,
        )

    if single:
        plan = plan[0]
        log = {
            key: value[0] if isinstance(value, torch.Tensor) else value
            for key, value in log.items()
        }
    return plan, log


def _solve(
    x, y, mask_x, mask_y, *, rho, tau, zeta, eps, laplace_scale, prior_weight, metric,
    structure, kernel_scale, max_outer_iter, max_inner_iter, tol, method, init,
    temporal_product,
):
    """Run the MM iterations on a validated, batched problem."""
    dtype, device = x.dtype, x.device
    batch, n, m = x.shape[0], x.shape[1], y.shape[1]
    sink = zeta is not None
    n_real = mask_x.sum(-1)
    m_real = mask_y.sum(-1)
    positions_x = temporal_positions(n, n_real, dtype=dtype, device=device)
    positions_y = temporal_positions(m, m_real, dtype=dtype, device=device)
    real = mask_x[:, :, None] & mask_y[:, None, :]

    # Marginals: one unit per real frame and a sink that can take the other side.
    if sink:
        total = (n_real + m_real).to(dtype)
        sink_true = torch.ones(batch, 1, dtype=torch.bool, device=device)
        mask_a = torch.cat([mask_x, sink_true], dim=1)
        mask_b = torch.cat([mask_y, sink_true], dim=1)
        a = torch.cat([mask_x.to(dtype), m_real.to(dtype)[:, None]], dim=1) / total[:, None]
        b = torch.cat([mask_y.to(dtype), n_real.to(dtype)[:, None]], dim=1) / total[:, None]
    else:
        mask_a, mask_b = mask_x, mask_y
        a = mask_x.to(dtype) / n_real.to(dtype)[:, None]
        b = mask_y.to(dtype) / m_real.to(dtype)[:, None]
    log_a = torch.where(mask_a, torch.log(a.clamp_min(torch.finfo(dtype).tiny)), 0.0)
    log_b = torch.where(mask_b, torch.log(b.clamp_min(torch.finfo(dtype).tiny)), 0.0)
    mask_plan = mask_a[:, :, None] & mask_b[:, None, :]

    # Feature cost with the sink, zero on padding so that no NaN or inf can leak. NaN or
    # inf in the features reach the cost, so one check of the smaller (N, M) matrix
    # replaces a check of both (N, d) inputs.
    cost = feature_cost(x, y, metric)
    finite = torch.isfinite(cost) | ~real
    if not bool(finite.all()):
        index = int(torch.nonzero(~finite.all(-1).all(-1))[0])
        raise ValueError(
            f"The feature cost of pair {index} contains NaN or inf: x or y contains NaN "
            "or inf, or values so large that their squared distances overflow "
            f"{str(dtype).replace('torch.', '')}. Remove or impute those frames, or "
            "rescale the features."
        )
    cost = torch.where(real, cost, 0.0)
    if sink:
        cost = augment_with_sink(cost, zeta)

    # Log reference: a b^T times the prior on the real block, the sink-sink entry scaled.
    # It depends on no input that can require grad, so it is built in place.
    log_reference = log_a[:, :, None] + log_b[:, None, :]
    if prior_weight > 0:
        log_prior = (positions_x[:, :, None] - positions_y[:, None, :]).abs_()
        log_reference[:, :n, :m].sub_(log_prior, alpha=prior_weight / laplace_scale)
        del log_prior
    if sink:
        log_reference[:, -1, -1] += torch.log(total / 2.0)
    log_reference.masked_fill_(~mask_plan, NEG_LOG)
    reference_mass = torch.exp(log_reference).sum((-1, -2))

    sinkhorn = SOLVERS[method]
    inplace = not torch.is_grad_enabled()
    g = torch.zeros_like(log_b)
    n_inner_iter = 0

    # Structure operators and the GW gradient at the starting plan.
    gradient = None
    if rho > 0:
        options = dict(structure=structure, metric=metric, kernel_scale=kernel_scale,
                       product=temporal_product)
        structure_x = _structure(x, mask_x, positions_x, n_real, **options)
        structure_y = _structure(y, mask_y, positions_y, m_real, **options)
        if init == "prior":
            initial = torch.exp(log_reference[:, :n, :m])
        else:
            log_kernel = torch.where(mask_plan, log_reference - cost / eps, NEG_LOG)
            initial, _, g, inner = sinkhorn(
                log_kernel, log_a, log_b, mask_a, mask_b, eps=eps, tau=tau, g=g,
                max_iter=max_inner_iter, tol=tol,
            )
            del log_kernel
            n_inner_iter += inner
            initial = initial[:, :n, :m]
        gradient = gw_gradient(initial, structure_x, structure_y)
        del initial

    # The part of log K that does not change between steps: log R - (1 - rho) C~ / eps.
    if inplace:
        log_base = cost.mul(-(1.0 - rho) / eps).add_(log_reference).masked_fill_(~mask_plan, NEG_LOG)
    else:
        log_base = torch.where(mask_plan, log_reference - ((1.0 - rho) / eps) * cost, NEG_LOG)
    del log_reference

    # Without autograd, every step reuses the same matrices: on the CPU a fresh
    # allocation of the plan's size costs about as much as a pass over it.
    log_kernel = torch.empty_like(log_base) if inplace and rho > 0 else None
    plan_buffer = torch.empty_like(log_base) if inplace and method == "scaling" else None

    history = []
    converged = torch.zeros(batch, dtype=torch.bool, device=device)
    gw = torch.zeros(batch, dtype=dtype, device=device)
    plan = None
    for step in range(max_outer_iter):
        if rho == 0:
            log_kernel = log_base
        elif inplace:
            log_kernel.copy_(log_base)
            log_kernel[:, :n, :m].sub_(gradient, alpha=rho / eps)
        else:
            log_kernel = _subtract_block(log_base, gradient, rho / eps)
        plan = None
        plan, f, g, inner = sinkhorn(
            log_kernel, log_a, log_b, mask_a, mask_b, eps=eps, tau=tau, g=g,
            max_iter=max_inner_iter, tol=tol, out=plan_buffer,
        )
        n_inner_iter += inner

        # Objective at the new plan. eps KL(T | R) follows from the potentials because
        # log(T / R) = (f_i + g_j - linear_ij) / eps wherever T > 0, where
        # linear = (1 - rho) C~ + rho G~ is the cost this step minimised.
        plan_real = plan[:, :n, :m]
        cost_term = _batch_dot(cost, plan)
        linear_term = (1.0 - rho) * cost_term
        if rho > 0 and inplace:
            # The old gradient and log K are spent: they become the new gradient and its
            # scratch space.
            linear_term = linear_term + rho * gradient.mul_(plan_real).sum((-1, -2))
            scratch = log_kernel.view(-1)[: gradient.numel()].view_as(gradient)
            gradient = gw_gradient(plan_real, structure_x, structure_y, out=gradient, scratch=scratch)
            gw = 0.5 * torch.mul(gradient, plan_real, out=scratch).sum((-1, -2))
        elif rho > 0:
            linear_term = linear_term + rho * _batch_dot(gradient, plan_real)
            gradient = gw_gradient(plan_real, structure_x, structure_y)
            gw = 0.5 * _batch_dot(gradient, plan_real)
        rows, columns = plan.sum(-1), plan.sum(-2)
        mass = rows.sum(-1)
        entropy = (f * rows).sum(-1) + (g * columns).sum(-1) - linear_term
        fused = (1.0 - rho) * cost_term + rho * gw
        objective = fused + entropy + eps * (reference_mass - mass)
        if not math.isinf(tau):
            objective = objective + tau * (
                _kl_marginal(rows, log_a, a, mask_a) + _kl_marginal(columns, log_b, b, mask_b)
            )

        if history:
            previous = history[-1]
            change = (objective - previous).abs() / previous.abs().clamp_min(torch.finfo(dtype).tiny)
            converged = converged | (change <= tol)
        history.append(objective)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("MM step %d: objective %s", step + 1, objective.detach().cpu().tolist())
        if bool(converged.all()):
            break

    if sink:
        rows = plan.sum(-1)[:, :n]
        columns = plan.sum(-2)[:, :m]
        tiny = torch.finfo(dtype).tiny
        sink_mass_x = torch.where(mask_x, plan[:, :n, m] / rows.clamp_min(tiny), 0.0)
        sink_mass_y = torch.where(mask_y, plan[:, n, :m] / columns.clamp_min(tiny), 0.0)
        sink_mass_x = sink_mass_x.clamp(0.0, 1.0)
        sink_mass_y = sink_mass_y.clamp(0.0, 1.0)
    else:
        sink_mass_x = torch.zeros_like(mask_x, dtype=dtype)
        sink_mass_y = torch.zeros_like(mask_y, dtype=dtype)

    log = {
        "objective": torch.stack(history, dim=-1),
        "sink_mass_x": sink_mass_x,
        "sink_mass_y": sink_mass_y,
        "cost": fused,
        "n_iter": len(history),
        "n_inner_iter": n_inner_iter,
        "converged": converged,
    }
    return plan, log
