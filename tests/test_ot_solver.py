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


def _gw_brute_force(plan, structure_x, structure_y):
    loss = (structure_x[:, None, :, None] - structure_y[None, :, None, :]) ** 2
    return np.einsum("ijkl,ij,kl->", loss, plan, plan)


def test_exact_partial_fgw_bounds_the_sink_plan():
    n, m = 8, 10
    x, y = _pair(n, m, d=4, seed=3)
    cost = feature_cost(x, y).numpy()
    t, s = np.arange(n) / (n - 1), np.arange(m) / (m - 1)
    structure_x = np.abs(t[:, None] - t[None, :])
    structure_y = np.abs(s[:, None] - s[None, :])

    plan, log = solve_rfpgwot(
        x, y, rho=0.5, tau=INF, zeta=0.5, prior_weight=0, eps=0.005, max_outer_iter=200,
        max_inner_iter=2000, tol=1e-10,
    )
    real = plan[:n, :m].numpy()
    mass = real.sum()
    p, q = np.full(n, 1 / (n + m)), np.full(m, 1 / (n + m))
    exact = ot.gromov.partial_fused_gromov_wasserstein(cost, structure_x, structure_y, p, q, m=mass, alpha=0.5)
    ours = 0.5 * (cost * real).sum() + 0.5 * _gw_brute_force(real, structure_x, structure_y)
    bound = 0.5 * (cost * exact).sum() + 0.5 * _gw_brute_force(exact, structure_x, structure_y)

    # The real block is a feasible partial plan of that mass, so the exact one costs less.
    assert plan.sum().item() == pytest.approx(1.0, abs=1e-9)
    assert 0.1 < mass < n / (n + m)
    assert exact.sum() == pytest.approx(mass, rel=1e-6)
    assert (real.sum(1) <= p + 1e-7).all()
    assert (real.sum(0) <= q + 1e-7).all()
    assert bound <= ours + 1e-9
    assert ours <= 1.05 * bound


def test_identical_sequences_give_diagonal_plan():
    x, _ = _pair(12, 12, d=6, seed=4)

    plan, log = solve_rfpgwot(x, x, eps=0.01, max_outer_iter=20, max_inner_iter=200)

    real = plan[:12, :12]
    assert real.argmax(dim=1).tolist() == list(range(12))
    assert real.diagonal().sum().item() > 0.95 * real.sum().item()
    assert log["sink_mass_x"].max().item() < 0.01
    assert log["sink_mass_y"].max().item() < 0.01


def test_reversed_copy_matched_on_anti_diagonal():
    x, _ = _pair(12, 12, d=4, seed=0)
    options = dict(rho=1.0, prior_weight=0, zeta=None, eps=0.01, max_outer_iter=50, max_inner_iter=500)

    plan, log = solve_rfpgwot(x, x.flip(0), init="feature", **options)

    assert plan.argmax(dim=1).tolist() == list(range(11, -1, -1))
    assert plan.flip(1).diagonal().sum().item() > 0.6
    assert log["cost"].item() < 0.01


def test_uniform_start_keeps_reversal_symmetry():
    x, _ = _pair(12, 12, d=4, seed=0)

    plan, _ = solve_rfpgwot(
        x, x.flip(0), rho=1.0, prior_weight=0, zeta=None, eps=0.01, max_outer_iter=50,
        max_inner_iter=500, warn=False,
    )

    # Without the prior, the uniform start is a saddle that the MM steps never leave.
    np.testing.assert_allclose(plan.numpy(), plan.flip(1).numpy(), atol=1e-9)


def _real_frames(coffee, n_frames):
    video = coffee.X[0]
    video = video[np.linalg.norm(video, axis=1) > 0]
    index = np.linspace(0, len(video) - 2, n_frames).astype(int)
    return video[index], video[index + 1]


@pytest.mark.parametrize("n_frames", [64, 256])
def test_foreign_frames_go_to_sink(coffee, n_frames):
    rng = np.random.default_rng(0)
    a, b = _real_frames(coffee, n_frames)
    n_foreign = n_frames // 8
    positions = np.sort(rng.choice(n_frames, n_foreign, replace=False))
    foreign = (rng.normal(size=(n_foreign, a.shape[1])) * a.std() + a.mean()).astype(np.float32)
    b = np.insert(b, positions, foreign, axis=0)
    is_foreign = np.zeros(len(b), dtype=bool)
    is_foreign[positions + np.arange(n_foreign)] = True

    plan, log = solve_rfpgwot(torch.from_numpy(a), torch.from_numpy(b), zeta=0.5, eps=0.02)

    sink_mass = log["sink_mass_y"].numpy()
    assert sink_mass[is_foreign].min() > 0.95
    assert sink_mass[~is_foreign].mean() < 0.05
    assert log["sink_mass_x"].numpy().mean() < 0.05
    assert bool(log["converged"])


@pytest.mark.parametrize("tau", [INF, 1.0])
@pytest.mark.parametrize("offset, matched", [(-0.1, True), (0.1, False)])
def test_pair_matched_below_zeta_parked_above(tau, offset, matched):
    zeta = 0.6
    angle = math.acos(1.0 - (zeta + offset))
    x = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([[math.cos(angle), math.sin(angle)]], dtype=torch.float64)

    plan, log = solve_rfpgwot(
        x, y, rho=0, zeta=zeta, tau=tau, eps=0.005, prior_weight=0, max_inner_iter=500, warn=False
    )

    assert feature_cost(x, y).item() == pytest.approx(zeta + offset)
    if matched:
        assert log["sink_mass_x"].item() < 0.01
        assert log["sink_mass_y"].item() < 0.01
    else:
        assert log["sink_mass_x"].item() > 0.99
        assert log["sink_mass_y"].item() > 0.99


def _objective_rises(objective):
    history = objective.numpy()
    return np.max(np.diff(history) / np.abs(history[:-1]), initial=-np.inf)


@pytest.mark.parametrize(
    "options",
    [
        dict(),
        dict(rho=0.2, eps=0.02),
        dict(rho=0.8, eps=0.05, zeta=0.3),
        dict(rho=0.5, structure="kernel"),
        dict(rho=0.5, structure="feature", prior_weight=0.0),
        dict(rho=0.9, tau=INF, zeta=None),
    ],
)
def test_objective_never_rises(coffee, options):
    params = dict(max_outer_iter=15, max_inner_iter=100, tol=0, warn=False, **options)
    pairs = []
    for first, second in [(0, 1), (2, 3), (1, 4)]:
        a = coffee.X[first][::12]
        b = coffee.X[second][::12]
        pairs.append((torch.from_numpy(a).double(), torch.from_numpy(b).double()))
    pairs.append(_pair(30, 25, d=8, seed=5))

    for x, y in pairs:
        _, log = solve_rfpgwot(x, y, **params)
        assert _objective_rises(log["objective"]) < 1e-6


def test_long_sequences_small_eps_stay_finite():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 32, generator=generator)
    y = torch.randn(2000, 32, generator=generator)

    plan, log = solve_rfpgwot(x, y, eps=1e-3, warn=False)

    assert plan.dtype == torch.float32
    assert torch.isfinite(plan).all()
    assert torch.isfinite(log["objective"]).all()
    assert torch.isfinite(log["cost"]).all()
    assert 0.5 < plan.sum().item() < 1.5
    assert (log["sink_mass_x"] >= 0).all()
    assert (log["sink_mass_x"] <= 1).all()


def test_scaling_overflow_recovers_log_domain_plan():
    # The GW term moves this pair's costs by hundreds of eps between outer steps, so the
    # warm-started scaling kernel overflows. The plan must still equal the log-domain one.
    x = torch.tensor([[0.0, 0.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([[6.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    options = dict(
        rho=0.7, tau=1.0, zeta=None, eps=0.05, prior_weight=1.0, metric="sqeuclidean",
        structure="feature", max_outer_iter=4, max_inner_iter=3000, tol=1e-13, warn=False,
    )

    plan, log = solve_rfpgwot(x, y, method="scaling", **options)
    reference, reference_log = solve_rfpgwot(x, y, method="log", **options)

    assert torch.isfinite(plan).all()
    assert torch.isfinite(log["objective"]).all()
    torch.testing.assert_close(plan, reference, rtol=1e-6, atol=1e-12)
    assert float(plan.sum()) == pytest.approx(0.5494, abs=1e-3)
