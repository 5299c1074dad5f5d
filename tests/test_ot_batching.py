"""Solver interface: batches, padding masks, gradients, memory checks and bad input."""

import numpy as np
import pytest
import torch

from sk_realign.exceptions import ConvergenceWarning
from sk_realign.ot import solve_rfpgwot, solver_memory_bytes

OPTIONS = dict(max_outer_iter=6, max_inner_iter=60, tol=0, warn=False)


def _sequences(lengths, d=6, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=generator, dtype=dtype) for n in lengths]


def _pad(sequences):
    frames = max(len(s) for s in sequences)
    padded = torch.zeros(len(sequences), frames, sequences[0].shape[1], dtype=sequences[0].dtype)
    mask = torch.zeros(len(sequences), frames, dtype=torch.bool)
    for index, sequence in enumerate(sequences):
        padded[index, : len(sequence)] = sequence
        mask[index, : len(sequence)] = True
    return padded, mask


@pytest.mark.parametrize("structure", ["temporal", "feature", "kernel"])
@pytest.mark.parametrize("zeta", [0.5, None])
def test_padded_batch_equals_single_solves(structure, zeta):
    xs = _sequences([7, 5, 9], seed=1)
    ys = _sequences([6, 8, 4], seed=2)
    x, mask_x = _pad(xs)
    y, mask_y = _pad(ys)

    plans, log = solve_rfpgwot(x, y, mask_x=mask_x, mask_y=mask_y, zeta=zeta, structure=structure, **OPTIONS)

    sink = 1 if zeta is not None else 0
    assert plans.shape == (3, 9 + sink, 8 + sink)
    for index, (single_x, single_y) in enumerate(zip(xs, ys)):
        n, m = len(single_x), len(single_y)
        plan, single = solve_rfpgwot(single_x, single_y, zeta=zeta, structure=structure, **OPTIONS)
        np.testing.assert_allclose(plans[index, :n, :m].numpy(), plan[:n, :m].numpy(), atol=1e-12)
        assert plans[index, n:9, :].abs().sum().item() == 0.0
        assert plans[index, :, m:8].abs().sum().item() == 0.0
        if zeta is not None:
            np.testing.assert_allclose(plans[index, -1, :m].numpy(), plan[-1, :m].numpy(), atol=1e-12)
            assert plans[index, -1, -1].item() == pytest.approx(plan[-1, -1].item(), abs=1e-12)
        np.testing.assert_allclose(log["objective"][index].numpy(), single["objective"].numpy(), rtol=1e-10)
        assert log["cost"][index].item() == pytest.approx(single["cost"].item(), rel=1e-10)
        np.testing.assert_allclose(log["sink_mass_x"][index, :n].numpy(), single["sink_mass_x"].numpy(), atol=1e-12)
        assert (log["sink_mass_x"][index, n:] == 0).all()


def test_log_shapes_for_batch():
    x = torch.stack(_sequences([5, 5]))
    y = torch.stack(_sequences([4, 4], seed=3))

    plan, log = solve_rfpgwot(x, y, **OPTIONS)

    assert plan.shape == (2, 6, 5)
    assert log["objective"].shape == (2, 6)
    assert log["sink_mass_x"].shape == (2, 5)
    assert log["sink_mass_y"].shape == (2, 4)
    assert log["cost"].shape == (2,)
    assert log["converged"].shape == (2,)
    assert log["converged"].dtype == torch.bool
    assert log["n_iter"] == 6
    assert isinstance(log["n_inner_iter"], int)


def test_no_sink_gives_zero_sink_mass():
    x, y = _sequences([5, 6])

    plan, log = solve_rfpgwot(x, y, zeta=None, **OPTIONS)

    assert plan.shape == (5, 6)
    assert (log["sink_mass_x"] == 0).all()
    assert (log["sink_mass_y"] == 0).all()


def test_float32_and_float64_agree():
    x, y = _sequences([10, 12])

    plan64, log64 = solve_rfpgwot(x, y, **OPTIONS)
    plan32, log32 = solve_rfpgwot(x.float(), y.float(), **OPTIONS)

    assert plan32.dtype == torch.float32
    assert (plan32.double() - plan64).abs().max().item() < 1e-5
    assert log32["cost"].item() == pytest.approx(log64["cost"].item(), rel=1e-4)


def test_not_differentiable_by_default():
    x, y = _sequences([5, 6])
    x.requires_grad_(True)

    plan, log = solve_rfpgwot(x, y, **OPTIONS)

    assert not plan.requires_grad
    assert not log["cost"].requires_grad


def test_differentiable_cost_gradient_matches_finite_differences():
    x, y = _sequences([4, 5])
    x.requires_grad_(True)
    options = dict(OPTIONS, eps=0.1, max_outer_iter=3, max_inner_iter=30)

    _, log = solve_rfpgwot(x, y, differentiable=True, **options)
    log["cost"].backward()

    direction = torch.randn(x.shape, generator=torch.Generator().manual_seed(9), dtype=x.dtype)
    step = 1e-6
    with torch.no_grad():
        plus = solve_rfpgwot(x + step * direction, y, **options)[1]["cost"]
        minus = solve_rfpgwot(x - step * direction, y, **options)[1]["cost"]
    numeric = (plus - minus).item() / (2 * step)
    assert (x.grad * direction).sum().item() == pytest.approx(numeric, rel=1e-5, abs=1e-9)


def test_method_log_matches_scaling():
    x, y = _sequences([9, 11])

    plan_scaling, _ = solve_rfpgwot(x, y, method="scaling", **OPTIONS)
    plan_log, _ = solve_rfpgwot(x, y, method="log", **OPTIONS)

    np.testing.assert_allclose(plan_scaling.numpy(), plan_log.numpy(), atol=1e-12)


@pytest.mark.parametrize("product", ["prefix", "dense"])
def test_temporal_products_give_same_plan(product):
    x, y = _sequences([9, 11])

    plan, _ = solve_rfpgwot(x, y, temporal_product=product, **OPTIONS)
    reference, _ = solve_rfpgwot(x, y, temporal_product="dense", **OPTIONS)

    np.testing.assert_allclose(plan.numpy(), reference.numpy(), atol=1e-12)


def test_convergence_warning():
    x, y = _sequences([5, 6])

    with pytest.warns(ConvergenceWarning, match="max_outer_iter=1"):
        _, log = solve_rfpgwot(x, y, max_outer_iter=1)

    assert not bool(log["converged"])


def test_memory_limit_rejects_before_solving():
    x, y = _sequences([50, 60], dtype=torch.float32)
    needed = solver_memory_bytes(1, 50, 60, itemsize=4, sink=True, dense_structure=True)

    with pytest.raises(MemoryError) as error:
        solve_rfpgwot(x, y, memory_limit=needed - 1)

    message = str(error.value)
    assert "needs about" in message
    assert "batch_size" in message
    assert "float32" in message
    assert "fewer frames" in message
    plan, _ = solve_rfpgwot(x, y, memory_limit=needed, **OPTIONS)
    assert plan.shape == (51, 61)


def test_memory_bytes_scale_with_problem():
    single = solver_memory_bytes(1, 100, 100, itemsize=4, sink=False, dense_structure=False)
    double = solver_memory_bytes(1, 100, 100, itemsize=8, sink=False, dense_structure=False)
    batch = solver_memory_bytes(8, 100, 100, itemsize=4, sink=False, dense_structure=False)

    assert single >= 100 * 100 * 4
    assert double == 2 * single
    assert batch == 8 * single


def test_huge_problem_rejected_by_available_memory():
    # Expanded views take no memory, so only the solver could allocate the 300,000^2 plan.
    x = torch.ones(1, 1).expand(300_000, 4)

    with pytest.raises(MemoryError, match="available"):
        solve_rfpgwot(x, x)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("rho", 1.5, "rho must be a float in the range \\[0, 1\\]"),
        ("rho", "0.5", "rho must be a float"),
        ("tau", 0.0, "tau must be a float in the range \\(0, inf\\]"),
        ("zeta", -0.1, "zeta must be a float"),
        ("zeta", float("inf"), "zeta must be a float"),
        ("eps", 0.0, "eps must be a float in the range \\(0, inf\\)"),
        ("eps", float("nan"), "eps must be a float"),
        ("laplace_scale", 0.0, "laplace_scale must be a float"),
        ("prior_weight", -1.0, "prior_weight must be a float"),
        ("metric", "euclidean", "metric must be one of"),
        ("structure", "spatial", "structure must be one of"),
        ("max_outer_iter", 0, "max_outer_iter must be an int in the range \\[1, inf\\)"),
        ("max_inner_iter", 2.5, "max_inner_iter must be an int"),
        ("tol", -1e-3, "tol must be a float"),
        ("method", "sparse", "method must be one of"),
        ("init", "random", "init must be one of"),
        ("temporal_product", "fft", "temporal_product must be one of"),
        ("memory_limit", -1, "memory_limit must be an int"),
    ],
)
def test_invalid_parameter_raises(name, value, message):
    x, y = _sequences([4, 5])

    with pytest.raises(ValueError, match=message):
        solve_rfpgwot(x, y, **{name: value})


def test_invalid_inputs_raise():
    x, y = _sequences([4, 5])
    with pytest.raises(ValueError, match="shape \\(N, d\\) or \\(B, N, d\\)"):
        solve_rfpgwot(x[0], y)
    with pytest.raises(ValueError, match="dtype torch.int64"):
        solve_rfpgwot(x.long(), y)
    with pytest.raises(ValueError, match="pass both as single sequences"):
        solve_rfpgwot(x[None], y)
    with pytest.raises(ValueError, match="x contains 2 sequences but y contains 1"):
        solve_rfpgwot(torch.stack([x, x]), y[None])
    with pytest.raises(ValueError, match="6 features per frame but y has 3"):
        solve_rfpgwot(x, y[:, :3])
    with pytest.raises(ValueError, match="at least one frame"):
        solve_rfpgwot(x[:0], y)
    with pytest.raises(ValueError, match="NaN or inf"):
        solve_rfpgwot(x * float("nan"), y)


def test_invalid_masks_raise():
    x = torch.stack(_sequences([4, 4]))
    y = torch.stack(_sequences([5, 5], seed=1))
    good = torch.ones(2, 4, dtype=torch.bool)
    with pytest.raises(ValueError, match="must be a bool tensor"):
        solve_rfpgwot(x, y, mask_x=good.int())
    with pytest.raises(ValueError, match="has shape \\(2, 3\\)"):
        solve_rfpgwot(x, y, mask_x=good[:, :3])
    empty = good.clone()
    empty[1] = False
    with pytest.raises(ValueError, match="no real frame in pair 1"):
        solve_rfpgwot(x, y, mask_x=empty)
    holes = good.clone()
    holes[0, 1] = False
    with pytest.raises(ValueError, match="mask_x of pair 0 is not a right-padding mask"):
        solve_rfpgwot(x, y, mask_x=holes)


def test_available_memory_psutil_and_meminfo(monkeypatch):
    from sk_realign.ot import available_memory

    with_psutil = available_memory("cpu")
    monkeypatch.setitem(__import__("sys").modules, "psutil", None)
    without_psutil = available_memory("cpu")

    assert with_psutil > 0
    assert without_psutil > 0
    # Both read the same kernel counter; other processes move it between the two reads.
    assert 0.5 < without_psutil / with_psutil < 2.0
