"""R-FPGWOT solver: agreement with POT where the problems coincide, and hand cases."""

import math

import numpy as np
import ot
import pytest
import torch

from sk_realign.ot import feature_cost, solve_rfpgwot

torch.set_num_threads(2)

INF = float("inf")


def _pair(n, m, d=5, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.randn(n, d, generator=generator, dtype=dtype),
        torch.randn(m, d, generator=generator, dtype=dtype),
    )


@pytest.mark.parametrize("method", ["scaling", "log"])
@pytest.mark.parametrize("tau", [0.2, 1.0])
def test_rho0_matches_pot_unbalanced(method, tau):
    x, y = _pair(7, 9)
    cost = feature_cost(x, y).numpy()
    a, b = np.full(7, 1 / 7), np.full(9, 1 / 9)

    plan, log = solve_rfpgwot(
        x, y, rho=0, tau=tau, zeta=None, prior_weight=0, eps=0.05, method=method,
        max_outer_iter=2, max_inner_iter=5000, tol=1e-13,
    )
    expected = ot.unbalanced.sinkhorn_unbalanced(
        a, b, cost, 0.05, tau, reg_type="kl", numItermax=100000, stopThr=1e-15
    )

    assert plan.shape == (7, 9)
    assert np.abs(plan.numpy() - expected).max() < 1e-4
    assert plan.sum().item() == pytest.approx(expected.sum(), abs=1e-6)
    assert expected.sum() < 0.99


@pytest.mark.parametrize("method", ["scaling", "log"])
def test_exact_marginals_match_pot_entropic_fgw(method):
    x, y = _pair(7, 9, seed=1)
    cost = feature_cost(x, y).numpy()
    a, b = np.full(7, 1 / 7), np.full(9, 1 / 9)
    t, s = np.arange(7) / 6, np.arange(9) / 8
    structure_x = np.abs(t[:, None] - t[None, :])
    structure_y = np.abs(s[:, None] - s[None, :])

    plan, log = solve_rfpgwot(
        x, y, rho=0.5, tau=INF, zeta=None, prior_weight=0, eps=0.05, method=method,
        max_outer_iter=500, max_inner_iter=5000, tol=1e-12,
    )
    expected = ot.gromov.entropic_fused_gromov_wasserstein(
        cost, structure_x, structure_y, a, b, epsilon=0.05, alpha=0.5, max_iter=1000,
        tol=1e-12, numItermax=100000, stopThr=1e-14,
    )

    assert bool(log["converged"])
    assert np.abs(plan.numpy() - expected).max() < 1e-4
    assert plan.sum().item() == pytest.approx(1.0, abs=1e-8)
    assert expected.sum() == pytest.approx(1.0, abs=1e-8)
    np.testing.assert_allclose(plan.sum(1).numpy(), a, atol=1e-8)
