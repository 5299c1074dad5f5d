"""Unbalanced Sinkhorn: agreement with POT, the two solvers, small eps, batches and masks."""

import numpy as np
import ot
import pytest
import torch

from sk_realign.ot import sinkhorn_unbalanced

INF = float("inf")


@pytest.fixture
def problem(rng):
    cost = rng.random((6, 8))
    a = rng.random(6) + 0.1
    b = rng.random(8) + 0.1
    return cost, a / a.sum(), b / b.sum()


@pytest.mark.parametrize("method", ["scaling", "log"])
@pytest.mark.parametrize("tau", [0.1, 1.0, 10.0])
def test_sinkhorn_matches_pot(problem, method, tau):
    cost, a, b = problem

    plan = sinkhorn_unbalanced(
        torch.from_numpy(cost), torch.from_numpy(a), torch.from_numpy(b), eps=0.05, tau=tau,
        method=method, max_iter=20000, tol=1e-14,
    )
    expected = ot.unbalanced.sinkhorn_unbalanced(
        a, b, cost, 0.05, tau, reg_type="kl", numItermax=100000, stopThr=1e-15
    )

    assert np.abs(plan.numpy() - expected).max() < 1e-4
    assert plan.sum().item() == pytest.approx(expected.sum(), abs=1e-6)


@pytest.mark.parametrize("method", ["scaling", "log"])
def test_sinkhorn_balanced_matches_pot(problem, method):
    cost, a, b = problem

    plan = sinkhorn_unbalanced(
        torch.from_numpy(cost), torch.from_numpy(a), torch.from_numpy(b), eps=0.05, tau=INF,
        method=method, max_iter=20000, tol=1e-14,
    )
    expected = ot.sinkhorn(a, b, cost, 0.05, numItermax=100000, stopThr=1e-15)

    assert np.abs(plan.numpy() - expected).max() < 1e-4
    assert plan.sum().item() == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(plan.sum(1).numpy(), a, atol=1e-9)
    np.testing.assert_allclose(plan.sum(0).numpy(), b, atol=1e-9)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scaling_agrees_with_log_at_small_eps(rng, dtype):
    cost = torch.from_numpy(rng.random((40, 50)) * 2).to(dtype)
    a = torch.full((40,), 1 / 40, dtype=dtype)
    b = torch.full((50,), 1 / 50, dtype=dtype)

    plans = {
        method: sinkhorn_unbalanced(cost, a, b, eps=1e-3, tau=1.0, method=method, max_iter=300, tol=0)
        for method in ("scaling", "log")
    }

    for plan in plans.values():
        assert torch.isfinite(plan).all()
    # In float32, exponents of order cost / eps = 2000 carry relative errors of about 1e-4.
    tolerance = 2e-3 if dtype == torch.float32 else 1e-9
    largest = plans["log"].abs().max().item()
    assert (plans["scaling"] - plans["log"]).abs().max().item() < tolerance * largest


def test_sinkhorn_batch_equals_single_and_zero_mass_frames(rng):
    cost = torch.from_numpy(rng.random((3, 5, 4)))
    a = torch.full((3, 5), 0.2, dtype=torch.float64)
    b = torch.full((3, 4), 0.25, dtype=torch.float64)
    a[1, 3:] = 0.0

    plans = sinkhorn_unbalanced(cost, a, b, eps=0.1, tol=1e-12, max_iter=5000)

    assert plans.shape == (3, 5, 4)
    assert plans[1, 3:].abs().max().item() == 0.0
    for index in (0, 2):
        single = sinkhorn_unbalanced(cost[index], a[index], b[index], eps=0.1, tol=1e-12, max_iter=5000)
        np.testing.assert_allclose(plans[index].numpy(), single.numpy(), atol=1e-12)
    trimmed = sinkhorn_unbalanced(cost[1, :3], a[1, :3], b[1], eps=0.1, tol=1e-12, max_iter=5000)
    np.testing.assert_allclose(plans[1, :3].numpy(), trimmed.numpy(), atol=1e-12)


def test_sinkhorn_log_returns_potentials(problem):
    cost, a, b = problem

    plan, log = sinkhorn_unbalanced(
        torch.from_numpy(cost), torch.from_numpy(a), torch.from_numpy(b), eps=0.05, log=True
    )

    expected = np.exp((log["f"].numpy()[:, None] + log["g"].numpy()[None, :] - cost) / 0.05) * np.outer(a, b)
    np.testing.assert_allclose(plan.numpy(), expected, rtol=1e-10)
    assert log["n_iter"] >= 1


def test_sinkhorn_rejects_bad_parameters(problem):
    cost, a, b = (torch.from_numpy(v) for v in problem)
    with pytest.raises(ValueError, match="method must be one of"):
        sinkhorn_unbalanced(cost, a, b, eps=0.1, method="greenkhorn")
    with pytest.raises(ValueError, match="eps must be a float in the range"):
        sinkhorn_unbalanced(cost, a, b, eps=0.0)
    with pytest.raises(ValueError, match="tau must be a float in the range"):
        sinkhorn_unbalanced(cost, a, b, eps=0.1, tau=-1.0)
