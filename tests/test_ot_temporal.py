"""Temporal structure products by prefix sums, and the GW gradient, against dense sums."""

import numpy as np
import pytest
import torch

from sk_realign.ot import gw_gradient, temporal_structure_cost, toeplitz_abs_product
from sk_realign.ot._temporal import DenseStructure, TemporalStructure


@pytest.mark.parametrize("size", [1, 2, 7, 64])
@pytest.mark.parametrize("dim", [0, 1])
def test_toeplitz_product_matches_dense(rng, size, dim):
    values = torch.from_numpy(rng.random((size, 5) if dim == 0 else (5, size)))
    index = np.arange(size)
    dense = np.abs(index[:, None] - index[None, :])

    product = toeplitz_abs_product(values, dim)

    expected = dense @ values.numpy() if dim == 0 else values.numpy() @ dense
    np.testing.assert_allclose(product.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_toeplitz_product_float32_long(rng):
    values = rng.random((3000, 3))
    index = np.arange(3000)
    expected = np.abs(index[:, None] - index[None, :]) @ values

    product = toeplitz_abs_product(torch.from_numpy(values).float(), 0)

    np.testing.assert_allclose(product.numpy(), expected, rtol=1e-4)


def test_temporal_structure_prefix_equals_dense_with_padding(rng):
    plan = torch.from_numpy(rng.random((2, 9, 6)))
    plan[1, 7:] = 0.0
    n_real = torch.tensor([9, 7])
    prefix = TemporalStructure(9, n_real, dtype=plan.dtype, device="cpu", prefix_sums=True)
    dense = TemporalStructure(9, n_real, dtype=plan.dtype, device="cpu", prefix_sums=False)

    np.testing.assert_allclose(prefix.apply(plan, -2).numpy(), dense.apply(plan, -2).numpy(), rtol=1e-12)
    np.testing.assert_allclose(
        prefix.apply(plan.transpose(1, 2), -1).numpy(),
        dense.apply(plan.transpose(1, 2), -1).numpy(),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        prefix.squared_apply(plan.sum(-1)).numpy(), dense.squared_apply(plan.sum(-1)).numpy(), rtol=1e-12
    )

    # The second sequence has 7 real frames: positions i / 6, not i / 8.
    positions = torch.arange(7, dtype=torch.float64) / 6
    matrix = temporal_structure_cost(positions).numpy()
    np.testing.assert_allclose(prefix.apply(plan, -2)[1, :7].numpy(), matrix @ plan[1, :7].numpy(), rtol=1e-12)


def _brute_force_gw(plan, cx, cy):
    loss = (cx[:, None, :, None] - cy[None, :, None, :]) ** 2
    return np.einsum("ijkl,ij,kl->", loss, plan, plan)


@pytest.mark.parametrize("prefix_sums", [True, False])
def test_gw_gradient_matches_brute_force(rng, prefix_sums):
    n, m = 5, 4
    plan = rng.random((n, m)) / 20
    cx = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]) / (n - 1)
    cy = np.abs(np.arange(m)[:, None] - np.arange(m)[None, :]) / (m - 1)
    structure_x = TemporalStructure(n, torch.tensor([n]), dtype=torch.float64, device="cpu", prefix_sums=prefix_sums)
    structure_y = TemporalStructure(m, torch.tensor([m]), dtype=torch.float64, device="cpu", prefix_sums=prefix_sums)

    gradient = gw_gradient(torch.from_numpy(plan)[None], structure_x, structure_y)[0].numpy()

    # The GW term is quadratic: its gradient is the derivative of the 4-index sum.
    loss = (cx[:, None, :, None] - cy[None, :, None, :]) ** 2
    expected = np.einsum("ijkl,kl->ij", loss, plan) + np.einsum("klij,kl->ij", loss, plan)
    np.testing.assert_allclose(gradient, expected, rtol=1e-12)
    assert 0.5 * (gradient * plan).sum() == pytest.approx(_brute_force_gw(plan, cx, cy), rel=1e-12)


def test_gw_gradient_dense_structure(rng):
    n, m = 4, 6
    plan = rng.random((n, m))
    cx = rng.random((n, n))
    cx = cx + cx.T
    cy = rng.random((m, m))
    cy = cy + cy.T

    gradient = gw_gradient(
        torch.from_numpy(plan)[None], DenseStructure(torch.from_numpy(cx)[None]), DenseStructure(torch.from_numpy(cy)[None])
    )[0].numpy()

    loss = (cx[:, None, :, None] - cy[None, :, None, :]) ** 2
    expected = 2 * np.einsum("ijkl,kl->ij", loss, plan)
    np.testing.assert_allclose(gradient, expected, rtol=1e-12)


@pytest.mark.parametrize("dim", [-2, -1])
def test_toeplitz_product_autograd_path(rng, dim):
    values = torch.from_numpy(rng.random((2, 6, 5))).requires_grad_(True)

    product = toeplitz_abs_product(values, dim)
    product.sum().backward()

    with torch.no_grad():
        buffer = torch.empty(2, 6, 5, dtype=torch.float64)
        in_place = toeplitz_abs_product(values.detach(), dim, out=buffer)
    np.testing.assert_allclose(product.detach().numpy(), in_place.numpy(), rtol=1e-12)
    size = values.shape[dim]
    index = np.arange(size)
    column_sums = np.abs(index[:, None] - index[None, :]).sum(0)
    expected = np.broadcast_to(column_sums[:, None] if dim == -2 else column_sums, values.shape)
    np.testing.assert_allclose(values.grad.numpy(), expected)
