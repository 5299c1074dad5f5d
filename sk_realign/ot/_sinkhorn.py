r"""Unbalanced Sinkhorn iterations with a KL reference measure.

Both solvers minimise, for a cost :math:`C`, marginals :math:`a, b` and a reference
measure :math:`R` (POT's ``reg_type="kl"`` convention when :math:`R = a b^\top`),

.. math::
    \langle C, T \rangle + \tau \left( KL(T 1 | a) + KL(T^\top 1 | b) \right)
    + \varepsilon \, KL(T | R),

whose solution is :math:`T_{ij} = \exp((f_i + g_j - C_{ij}) / \varepsilon) R_{ij}` for dual
potentials :math:`f, g`, updated in turn as
:math:`f = \varepsilon \phi (\log a - \log \sum_j \exp((g_j - C_{ij}) / \varepsilon) R_{ij})`
with :math:`\phi = \tau / (\tau + \varepsilon)`.

``"log"`` runs these updates with log-sum-exp, two passes of ``exp`` over the matrix per
iteration. ``"scaling"`` absorbs the potentials into a kernel computed once and iterates on
scalings :math:`u, v` with two matrix-vector products per iteration. Whenever the
logarithm of a scaling leaves a safe range, the scaling is absorbed back into its
potential, so the path stays finite for small :math:`\varepsilon` as the log domain does.
"""

import logging
import math

import torch

__all__ = ["sinkhorn_unbalanced"]

logger = logging.getLogger(__name__)

# Finite stand-in for log(0) on padding frames: exp of it is exactly 0, and unlike -inf
# it never produces NaN in the backward pass of log-sum-exp.
NEG_LOG = -1e30


# Iterations between two convergence checks; a check costs about as much as an update.
CHECK_EVERY = 5


def _exponents(tau, eps):
    """Return the update exponent tau / (tau + eps) and the damping 1 / (tau + eps)."""
    if math.isinf(tau):
        return 1.0, 0.0
    return tau / (tau + eps), 1.0 / (tau + eps)


def _max_change(new, old):
    return float((new - old).detach().abs().max()) if new.numel() else 0.0


def _inplace_allowed(*tensors):
    """Return whether in-place updates are safe, that is, no autograd graph is recorded."""
    return not (torch.is_grad_enabled() and any(t.requires_grad for t in tensors))


def sinkhorn_log(
    log_kernel, log_a, log_b, mask_a, mask_b, *, eps, tau, g, max_iter, tol, out=None
):
    r"""Run unbalanced Sinkhorn in the log domain.

    Parameters
    ----------
    log_kernel : torch.Tensor of shape (B, n, m)
        :math:`\log R - C / \varepsilon`, :data:`NEG_LOG` on padding rows and columns.
    log_a, log_b : torch.Tensor of shape (B, n), (B, m)
        Log-marginals, any finite value on padding frames.
    mask_a, mask_b : torch.Tensor of bool, shape (B, n), (B, m)
        Real frames.
    eps, tau : float
    g : torch.Tensor of shape (B, m)
        Starting column potential (warm start); zero for a cold start.
    max_iter : int
    tol : float
        Stop when no potential has moved by more than ``tol * eps`` since the previous
        check (every :data:`CHECK_EVERY` iterations).
    out : torch.Tensor of shape (B, n, m), default=None
        Buffer that receives the plan when no autograd graph is recorded. Only the
        scaling path uses it.

    Returns
    -------
    plan : torch.Tensor of shape (B, n, m)
    f, g : torch.Tensor
        Final potentials, zero on padding frames.
    n_iter : int
    """
    phi, _ = _exponents(tau, eps)
    f = torch.zeros_like(log_a)
    checked_f, checked_g = f, g
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        f = eps * phi * (log_a - torch.logsumexp(log_kernel + g[:, None, :] / eps, dim=-1))
        f = torch.where(mask_a, f, 0.0)
        g = eps * phi * (log_b - torch.logsumexp(log_kernel + f[:, :, None] / eps, dim=-2))
        g = torch.where(mask_b, g, 0.0)
        if n_iter % CHECK_EVERY == 0:
            if max(_max_change(f, checked_f), _max_change(g, checked_g)) <= tol * eps:
                break
            checked_f, checked_g = f, g
    plan = torch.exp(log_kernel + (f[:, :, None] + g[:, None, :]) / eps)
    return plan, f, g, n_iter


def _log_scaling(offset, product, phi, tiny, inplace):
    """Return ``offset - phi * log(max(product, tiny))``, overwriting ``product`` if allowed."""
    if inplace:
        return torch.sub(offset, product.clamp_min_(tiny).log_(), alpha=phi)
    return offset - phi * torch.log(product.clamp_min(tiny))


def _stabilised_kernel(log_kernel, f, g, eps, out=None):
    """Return exp(log_kernel + (f_i + g_j) / eps), in place into ``out`` when given."""
    if out is None:
        return torch.exp(log_kernel + (f[:, :, None] + g[:, None, :]) / eps)
    torch.add(log_kernel, f[:, :, None] / eps, out=out)
    return out.add_(g[:, None, :] / eps).exp_()


def sinkhorn_scaling(
    log_kernel, log_a, log_b, mask_a, mask_b, *, eps, tau, g, max_iter, tol, out=None
):
    r"""Run unbalanced Sinkhorn on scalings of a log-stabilised kernel.

    Takes and returns the same values as :func:`sinkhorn_log`. The kernel
    :math:`K = \exp(\log R - C / \varepsilon + (f_i + g_j) / \varepsilon)` is formed once
    with potentials that put the largest entry of every row (and of every column whose
    entries would otherwise all underflow) at 1; each iteration then costs two
    matrix-vector products. A scaling whose logarithm exceeds half the exponent range
    of the dtype is absorbed into its potential and the kernel is recomputed. If a
    recomputed kernel still overflows, the call is solved again by :func:`sinkhorn_log`
    from the same warm start.
    """
    log_a_in, log_b_in, g_in = log_a, log_b, g
    phi, damping = _exponents(tau, eps)
    tiny = torch.finfo(log_kernel.dtype).tiny
    log_tiny = math.log(tiny)
    threshold = -0.5 * log_tiny
    inplace = _inplace_allowed(log_kernel, log_a, log_b, g)

    # Normalise the rows, then rescue the columns that would underflow entirely (a frame
    # that every other frame finds expensive, such as one headed for the sink).
    if inplace:
        exponent = torch.add(log_kernel, g[:, None, :] / eps, out=out)
    else:
        exponent = log_kernel + g[:, None, :] / eps
    f = torch.where(mask_a, -eps * exponent.amax(-1), 0.0)
    exponent = exponent.add_(f[:, :, None] / eps) if inplace else exponent + f[:, :, None] / eps
    column_max = exponent.amax(-2)
    rescue = mask_b & (column_max < -threshold)
    if bool(rescue.any()):
        shift = torch.where(rescue, -column_max, 0.0)
        g = g + eps * shift
        exponent = exponent.add_(shift[:, None, :]) if inplace else exponent + shift[:, None, :]
    kernel = exponent.exp_() if inplace else exponent.exp()
    del exponent

    # On padding frames the kernel is exactly 0, so log(tiny) as their log-marginal makes
    # their log-scaling exactly 0 without a mask in the loop.
    log_a = torch.where(mask_a, log_a, log_tiny)
    log_b = torch.where(mask_b, log_b, log_tiny)
    offset_u = phi * log_a - damping * f
    offset_v = phi * log_b - damping * g
    log_u = torch.zeros_like(f)
    log_v = torch.zeros_like(g)
    v = torch.ones_like(g)
    checked_f, checked_g = f, g
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        # A row vector times the transposed kernel is several times faster than a batched
        # matrix times a column vector on the CPU.
        kernel_v = torch.bmm(v.unsqueeze(1), kernel.mT).squeeze(1)
        log_u = _log_scaling(offset_u, kernel_v, phi, tiny, inplace)
        if float(torch.linalg.vector_norm(log_u.detach(), ord=math.inf)) > threshold:
            f = f + eps * log_u
            offset_u = phi * log_a - damping * f
            log_u = torch.zeros_like(log_u)
            kernel = _stabilised_kernel(log_kernel, f, g, eps, out=kernel if inplace else None)
        u = torch.exp(log_u)

        kernel_u = torch.bmm(u.unsqueeze(1), kernel).squeeze(1)
        log_v = _log_scaling(offset_v, kernel_u, phi, tiny, inplace)
        if float(torch.linalg.vector_norm(log_v.detach(), ord=math.inf)) > threshold:
            g = g + eps * log_v
            offset_v = phi * log_b - damping * g
            log_v = torch.zeros_like(log_v)
            kernel = _stabilised_kernel(log_kernel, f, g, eps, out=kernel if inplace else None)
        v = torch.exp(log_v)

        if n_iter % CHECK_EVERY == 0:
            true_f, true_g = f + eps * log_u, g + eps * log_v
            if max(_max_change(true_f, checked_f), _max_change(true_g, checked_g)) <= tol * eps:
                break
            checked_f, checked_g = true_f, true_g

    if inplace:
        plan = kernel.mul_(u.unsqueeze(-1)).mul_(v.unsqueeze(-2))
    else:
        plan = u.unsqueeze(-1) * kernel * v.unsqueeze(-2)
    f, g = f + eps * log_u, g + eps * log_v

    # A warm start far from the new fixed point (the GW term moved the costs by many
    # multiples of eps) can push a recomputed kernel entry past the exponent range. The
    # log-domain iterations solve the same problem without that limit.
    if not bool(torch.isfinite(plan).all()):
        logger.debug(
            "Scaling iterations overflowed at eps=%g; solving this step in the log domain.", eps
        )
        return sinkhorn_log(
            log_kernel, log_a_in, log_b_in, mask_a, mask_b, eps=eps, tau=tau, g=g_in,
            max_iter=max_iter, tol=tol,
        )
    return plan, f, g, n_iter


SOLVERS = {"scaling": sinkhorn_scaling, "log": sinkhorn_log}


def sinkhorn_unbalanced(
    cost, a, b, eps, tau=1.0, *, reference=None, method="scaling", max_iter=1000, tol=1e-9,
    log=False,
):
    r"""Solve entropic unbalanced optimal transport with a KL reference measure.

    .. math::
        \min_{T \geq 0} \langle C, T \rangle
        + \tau \left( KL(T 1 | a) + KL(T^\top 1 | b) \right)
        + \varepsilon \, KL(T | R)

    With :math:`R = a b^\top` (the default) this is the problem of
    ``ot.unbalanced.sinkhorn_unbalanced(a, b, C, eps, tau, reg_type="kl")`` in POT.

    Parameters
    ----------
    cost : torch.Tensor of shape (..., N, M)
        The cost matrix :math:`C`.
    a, b : torch.Tensor of shape (..., N), (..., M)
        Non-negative marginals; zero entries mark frames that take no part.
    eps : float
        Entropic regularisation :math:`\varepsilon > 0`.
    tau : float, default=1.0
        Marginal relaxation :math:`\tau > 0`; ``float("inf")`` enforces the marginals
        (balanced transport, which needs ``a`` and ``b`` of equal mass).
    reference : torch.Tensor of shape (..., N, M), default=None
        The reference measure :math:`R`; ``None`` uses :math:`a b^\top`.
    method : {"scaling", "log"}, default="scaling"
        Log-stabilised scaling iterations (faster) or log-domain iterations.
    max_iter : int, default=1000
    tol : float, default=1e-9
        Stop when no dual potential has moved by more than ``tol * eps`` since the
        previous check, made every few iterations.
    log : bool, default=False
        Also return a dict with the potentials ``"f"``, ``"g"`` and ``"n_iter"``.

    Returns
    -------
    plan : torch.Tensor of shape (..., N, M)
    log : dict
        Only when ``log=True``.

    References
    ----------
    .. [1] Chizat, L., Peyré, G., Schmitzer, B. and Vialard, F.-X. (2018). Scaling
       algorithms for unbalanced optimal transport problems. Mathematics of
       Computation, 87(314), 2563-2609.
    .. [2] Schmitzer, B. (2019). Stabilized sparse scaling algorithms for entropy
       regularized transport problems. SIAM Journal on Scientific Computing, 41(3),
       A1443-A1481.

    Examples
    --------
    >>> import torch
    >>> from sk_realign.ot import sinkhorn_unbalanced
    >>> a = torch.full((2,), 0.5, dtype=torch.float64)
    >>> cost = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    >>> plan = sinkhorn_unbalanced(cost, a, a, eps=0.05, tau=float("inf"))
    >>> plan.round(decimals=4)
    tensor([[0.5000, 0.0000],
            [0.0000, 0.5000]], dtype=torch.float64)
    """
    if method not in SOLVERS:
        raise ValueError(f"method must be one of {tuple(SOLVERS)}. Got {method!r} instead.")
    if not eps > 0:
        raise ValueError(f"eps must be a float in the range (0, inf). Got {eps!r} instead.")
    if not tau > 0:
        raise ValueError(f"tau must be a float in the range (0, inf]. Got {tau!r} instead.")

    batch_shape = cost.shape[:-2]
    n, m = cost.shape[-2:]
    cost = cost.reshape(-1, n, m)
    a = a.reshape(-1, n).to(cost.dtype)
    b = b.reshape(-1, m).to(cost.dtype)
    mask_a = a > 0
    mask_b = b > 0
    log_a = torch.where(mask_a, torch.log(a.clamp_min(torch.finfo(cost.dtype).tiny)), 0.0)
    log_b = torch.where(mask_b, torch.log(b.clamp_min(torch.finfo(cost.dtype).tiny)), 0.0)
    if reference is None:
        log_reference = log_a[:, :, None] + log_b[:, None, :]
    else:
        log_reference = torch.log(reference.reshape(-1, n, m).to(cost.dtype)).clamp_min(NEG_LOG)
    real = mask_a[:, :, None] & mask_b[:, None, :]
    log_kernel = torch.where(real, log_reference - cost / eps, NEG_LOG)

    plan, f, g, n_iter = SOLVERS[method](
        log_kernel, log_a, log_b, mask_a, mask_b, eps=eps, tau=tau,
        g=torch.zeros_like(log_b), max_iter=max_iter, tol=tol,
    )
    plan = plan.reshape(*batch_shape, n, m)
    if log:
        return plan, {
            "f": f.reshape(*batch_shape, n), "g": g.reshape(*batch_shape, m), "n_iter": n_iter
        }
    return plan
