"""Cost matrices: feature costs, structure costs, the Laplace prior and the sink."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from sk_realign.ot import (
    augment_with_sink,
    feature_cost,
    kernel_structure_cost,
    laplace_prior,
    temporal_positions,
    temporal_structure_cost,
)


@pytest.fixture
def frames(rng):
    return rng.normal(size=(6, 3)), rng.normal(size=(4, 3))


@pytest.mark.parametrize("metric, scipy_metric", [("cosine", "cosine"), ("sqeuclidean", "sqeuclidean")])
def test_feature_cost_matches_scipy(frames, metric, scipy_metric):
    x, y = frames

    cost = feature_cost(torch.from_numpy(x), torch.from_numpy(y), metric)

    assert cost.shape == (6, 4)
    np.testing.assert_allclose(cost.numpy(), cdist(x, y, scipy_metric), atol=1e-12)


def test_feature_cost_batched(frames):
    x, y = (torch.from_numpy(v) for v in frames)
    batch_x = torch.stack([x, 2 * x])
    batch_y = torch.stack([y, -y])

    cost = feature_cost(batch_x, batch_y)

    assert cost.shape == (2, 6, 4)
    np.testing.assert_allclose(cost[0].numpy(), feature_cost(x, y).numpy())
    np.testing.assert_allclose(cost[1].numpy(), 2.0 - feature_cost(x, y).numpy(), atol=1e-12)


def test_feature_cost_zero_frame_is_finite():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0]])

    cost = feature_cost(x, x)

    assert torch.isfinite(cost).all()
    assert cost[0].tolist() == [1.0, 1.0]
    assert cost[1, 1].item() == 0.0


def test_feature_cost_rejects_bad_input():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="metric must be one of"):
        feature_cost(x, x, metric="euclidean")
    with pytest.raises(ValueError, match="3 features per frame but y has 2"):
        feature_cost(torch.zeros(2, 3), x)


def test_temporal_positions():
    np.testing.assert_allclose(temporal_positions(5).numpy(), [0, 0.25, 0.5, 0.75, 1.0])
    assert temporal_positions(1).tolist() == [0.0]

    padded = temporal_positions(4, torch.tensor([4, 3]))

    np.testing.assert_allclose(padded[0].numpy(), [0, 1 / 3, 2 / 3, 1.0])
    np.testing.assert_allclose(padded[1, :3].numpy(), [0, 0.5, 1.0])


def test_structure_costs_by_hand():
    positions = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    expected = np.array([[0, 0.5, 1], [0.5, 0, 0.5], [1, 0.5, 0]])

    temporal = temporal_structure_cost(positions)
    kernel = kernel_structure_cost(positions, scale=0.5)

    np.testing.assert_allclose(temporal.numpy(), expected)
    np.testing.assert_allclose(kernel.numpy(), 1 - np.exp(-expected / 0.5))


def test_laplace_prior_by_hand():
    t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    s = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)

    prior = laplace_prior(t, s, scale=0.1)

    expected = np.exp(-np.abs(np.array([[0, 0.5, 1], [1, 0.5, 0]])) / 0.1)
    np.testing.assert_allclose(prior.numpy(), expected)


def test_augment_with_sink():
    cost = torch.arange(6.0).reshape(2, 3)

    augmented = augment_with_sink(cost, zeta=0.5)

    assert augmented.shape == (3, 4)
    np.testing.assert_array_equal(augmented[:2, :3].numpy(), cost.numpy())
    np.testing.assert_array_equal(augmented[:2, 3].numpy(), [0.25, 0.25])
    np.testing.assert_array_equal(augmented[2, :3].numpy(), [0.25, 0.25, 0.25])
    assert augmented[2, 3].item() == 0.0


def test_augment_with_sink_batched_and_differentiable():
    cost = torch.rand(4, 2, 3, requires_grad=True)

    augmented = augment_with_sink(cost, zeta=1.0)
    augmented.sum().backward()

    assert augmented.shape == (4, 3, 4)
    assert (augmented[:, -1, -1] == 0).all()
    np.testing.assert_array_equal(cost.grad.numpy(), np.ones((4, 2, 3)))
