"""Losses of sk_realign.nn against values computed by hand, and their gradients."""

import math

import pytest
import torch

from sk_realign.nn import (
    alignment_loss,
    cidm_loss,
    inter_contrastive_loss,
    pairwise_cost,
    rfpgwot_loss,
)

SQRT_HALF = math.sqrt(0.5)


def _three_frames():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    return x, y


def test_pairwise_cost_cosine_by_hand():
    x, y = _three_frames()
    expected = torch.tensor(
        [[0.0, 2.0], [1.0, 1.0], [1.0 - SQRT_HALF, 1.0 + SQRT_HALF]], dtype=torch.float64
    )
    torch.testing.assert_close(pairwise_cost(x, y), expected)


def test_pairwise_cost_sqeuclidean_by_hand():
    x, y = _three_frames()
    # ||(1,0)-(1,0)||^2 = 0, ||(1,0)-(-1,0)||^2 = 4, ||(0,1)-(1,0)||^2 = 2, ...
    expected = torch.tensor([[0.0, 4.0], [2.0, 2.0], [1.0, 5.0]], dtype=torch.float64)
    torch.testing.assert_close(pairwise_cost(x, y, "sqeuclidean"), expected)


def test_pairwise_cost_unknown_metric():
    x, y = _three_frames()
    with pytest.raises(ValueError, match="metric must be one of"):
        pairwise_cost(x, y, "manhattan")


def _augmented_plan():
    # Real block 3 x 2, sink column (last), sink row (last).
    return torch.tensor(
        [
            [0.2, 0.0, 0.0],
            [0.0, 0.1, 0.1],
            [0.05, 0.0, 0.0],
            [0.0, 0.1, 0.3],
        ],
        dtype=torch.float64,
    )


def test_alignment_loss_with_sink_by_hand():
    x, y = _three_frames()
    loss = alignment_loss(x, y, _augmented_plan(), rho=0.25, zeta=0.6)

    # <C, T_real> = 0 * 0.2 + 1 * 0.1 + (1 - 1/sqrt(2)) * 0.05; sink entries cost
    # zeta / 2 = 0.3 on 0.1 (column) + 0.1 (row); the sink-to-sink entry costs 0.
    real = 0.1 + (1.0 - SQRT_HALF) * 0.05
    sink = 0.3 * (0.1 + 0.1)
    assert loss.item() == pytest.approx(0.75 * (real + sink), rel=1e-12)


def test_alignment_loss_plain_plan_by_hand():
    x, y = _three_frames()
    plan = torch.tensor([[0.2, 0.1], [0.0, 0.3], [0.4, 0.0]], dtype=torch.float64)
    loss = alignment_loss(x, y, plan, rho=0.5, zeta=None)

    # 0 * 0.2 + 2 * 0.1 + 1 * 0.3 + (1 - 1/sqrt(2)) * 0.4
    expected = 0.5 * (0.2 + 0.3 + (1.0 - SQRT_HALF) * 0.4)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_alignment_loss_batch_is_mean():
    x, y = _three_frames()
    plan = _augmented_plan()
    single = alignment_loss(x, y, plan, rho=0.25, zeta=0.6)
    other = alignment_loss(x.flip(0), y, plan, rho=0.25, zeta=0.6)

    batched = alignment_loss(
        torch.stack([x, x.flip(0)]), torch.stack([y, y]), torch.stack([plan, plan]),
        rho=0.25, zeta=0.6,
    )
    assert batched.item() == pytest.approx(0.5 * (single.item() + other.item()), rel=1e-12)


def test_alignment_loss_rejects_wrong_plan_shape():
    x, y = _three_frames()
    with pytest.raises(ValueError, match=r"expected \(4, 3\) with a sink or \(3, 2\)"):
        alignment_loss(x, y, torch.ones(3, 3, dtype=torch.float64))


def test_alignment_loss_sink_plan_needs_zeta():
    x, y = _three_frames()
    with pytest.raises(ValueError, match="zeta must be a float"):
        alignment_loss(x, y, _augmented_plan(), zeta=None)


@pytest.mark.parametrize("metric", ["cosine", "sqeuclidean"])
def test_alignment_loss_gradcheck(metric):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    y = torch.randn(3, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    plan = torch.rand(5, 4, dtype=torch.float64, generator=generator)

    def loss(x, y):
        return alignment_loss(x, y, plan, rho=0.3, zeta=0.5, metric=metric)

    assert torch.autograd.gradcheck(loss, (x, y))


def test_cidm_three_frames_by_hand():
    x = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)

    # sigma = 1, margin = 2. Neighbours (|i - i'| = 1) are pulled: D / w with w = 2 gives
    # 1 / 2 for (0, 1) and 4 / 2 for (1, 2). The far pair (0, 2) has D = 9 > margin, so
    # it adds nothing. Ordered pairs count twice; the mean is over 3 x 3 entries.
    expected = 2 * (0.5 + 2.0) / 9
    assert cidm_loss(x, sigma=1, margin=2.0).item() == pytest.approx(expected, rel=1e-12)


def test_cidm_four_frames_by_hand():
    x = torch.tensor([[0.0], [1.0], [1.0], [4.0]], dtype=torch.float64)

    # sigma = 1, margin = 3.
    # |i - i'| = 1 (w = 2): D = 1, 0, 9 -> pull 0.5 + 0 + 4.5 = 5.
    # |i - i'| = 2 (w = 5): D(0, 2) = 1 -> push 5 * (3 - 1) = 10; D(1, 3) = 9 -> 0.
    # |i - i'| = 3 (w = 10): D = 16 -> 0.
    expected = 2 * (5.0 + 10.0) / 16
    assert cidm_loss(x, sigma=1, margin=3.0).item() == pytest.approx(expected, rel=1e-12)


def test_cidm_batch_is_mean():
    a = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)
    b = torch.tensor([[0.0], [0.0], [0.0]], dtype=torch.float64)

    # An all-equal sequence has D = 0: no pull, and the far pair (0, 2) is pushed by
    # w * margin = 5 * 2 twice, 20 / 9 in all.
    assert cidm_loss(b, sigma=1, margin=2.0).item() == pytest.approx(20 / 9, rel=1e-12)
    batched = cidm_loss(torch.stack([a, b]), sigma=1, margin=2.0)
    assert batched.item() == pytest.approx(0.5 * (5 / 9 + 20 / 9), rel=1e-12)


def test_cidm_gradcheck():
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: cidm_loss(x, sigma=1, margin=2.0), (x,))


def _inter_case():
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=torch.float64)

    # Frame 2 of x sends 0.2 of 0.22 to the sink, frame 2 of y receives 0.2 of 0.22 from
    # it: both are unmatched, so only frames 0 and 1 of each side have a positive.
    plan = torch.zeros(4, 4, dtype=torch.float64)
    plan[0, 0] = plan[1, 1] = 0.3
    plan[2, 2] = 0.02
    plan[2, 3] = plan[3, 2] = 0.2
    return x, y, plan


def test_inter_contrastive_all_negatives_by_hand():
    x, y, plan = _inter_case()
    loss = inter_contrastive_loss(x, y, plan, temperature=0.5, window=0)

    # Cosine costs: x0 -> y = [0, 1, 1], x1 -> y = [1, 0, 2]; logits are -cost / 0.5.
    # x0: positive y0 (logit 0), negatives -2, -2.  x1: positive y1, negatives -2, -4.
    # From y: y0 -> x = [0, 1, 2], y1 -> x = [1, 0, 1], the same two sums.
    first = math.log(1 + 2 * math.exp(-2))
    second = math.log(1 + math.exp(-2) + math.exp(-4))
    assert loss.item() == pytest.approx((first + second) / 2, rel=1e-12)


def test_inter_contrastive_window_by_hand():
    x, y, plan = _inter_case()
    loss = inter_contrastive_loss(x, y, plan, temperature=0.5, window=1)

    # With window 1 only frames two positions from the positive are negatives.
    # x0 (positive y0): negative y2 at logit -2. x1 (positive y1): none, loss 0.
    # y0 (positive x0): negative x2 at logit -4. y1: none.
    x_to_y = math.log(1 + math.exp(-2)) / 2
    y_to_x = math.log(1 + math.exp(-4)) / 2
    assert loss.item() == pytest.approx((x_to_y + y_to_x) / 2, rel=1e-12)


def test_inter_contrastive_single_negative_by_hand():
    x, y, plan = _inter_case()
    loss = inter_contrastive_loss(x, y, plan, temperature=0.5, negatives="single")

    # The worst match is the first smallest plan entry. From x: y1 for x0 and y0 for x1.
    # From y: x1 for y0 and x0 for y1. Every such pair costs 1, so each term is
    # log(1 + e^-2).
    assert loss.item() == pytest.approx(math.log(1 + math.exp(-2)), rel=1e-12)


def test_inter_contrastive_without_sink_uses_every_frame():
    x, y, plan = _inter_case()
    real = plan[:3, :3]
    loss = inter_contrastive_loss(x, y, real, temperature=0.5, window=0)

    # Without a sink x2 is matched to y2 (cost 1, others 2 and 1): log-sum over
    # logits [-4, -2, -2] minus -2 is log(1 + 1 + e^-2); y2 -> x = [1, 2, 1] likewise.
    first = math.log(1 + 2 * math.exp(-2))
    second = math.log(1 + math.exp(-2) + math.exp(-4))
    third = math.log(2 + math.exp(-2))
    assert loss.item() == pytest.approx((first + second + third) / 3, rel=1e-12)


def test_inter_contrastive_no_matched_frame_is_zero():
    x, y, _ = _inter_case()
    plan = torch.zeros(4, 4, dtype=torch.float64)
    plan[:3, 3] = plan[3, :3] = 0.1
    x = x.clone().requires_grad_(True)

    loss = inter_contrastive_loss(x, y, plan)
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(x.grad, torch.zeros_like(x))


def test_inter_contrastive_rejects_unknown_negatives():
    x, y, plan = _inter_case()
    with pytest.raises(ValueError, match="negatives must be"):
        inter_contrastive_loss(x, y, plan, negatives="hard")


@pytest.mark.parametrize("negatives", ["window", "single"])
def test_inter_contrastive_gradcheck(negatives):
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(2, 4, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    y = torch.randn(2, 4, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    plan = torch.rand(2, 5, 5, dtype=torch.float64, generator=generator)

    def loss(x, y):
        return inter_contrastive_loss(x, y, plan, temperature=0.3, window=1, negatives=negatives)

    assert torch.autograd.gradcheck(loss, (x, y))


def _embeddings(n_rows=4, n_columns=3, seed=3):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n_rows, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    y = torch.randn(n_columns, 3, dtype=torch.float64, generator=generator, requires_grad=True)
    return x, y


def test_rfpgwot_loss_is_alignment_loss_at_solved_plan():
    x, y = _embeddings()
    loss, plan, log = rfpgwot_loss(x, y, rho=0.4, zeta=0.8, eps=0.05)
    assert plan.shape == (5, 4)
    assert not plan.requires_grad
    assert log["sink_mass_x"].shape == (4,)

    fixed = alignment_loss(x, y, plan, rho=0.4, zeta=0.8)
    assert loss.item() == pytest.approx(fixed.item(), rel=1e-12)

    # The gradient is that of the linear cost at the fixed plan (envelope theorem).
    gradients = torch.autograd.grad(loss, (x, y))
    expected = torch.autograd.grad(fixed, (x, y))
    for gradient, reference in zip(gradients, expected):
        torch.testing.assert_close(gradient, reference)


def test_rfpgwot_loss_without_sink():
    x, y = _embeddings()
    loss, plan, _ = rfpgwot_loss(x, y, zeta=None, tau=float("inf"), eps=0.05)
    assert plan.shape == (4, 3)
    # Exact marginals without a sink: each frame carries 1 / N (rows) and 1 / M (columns).
    torch.testing.assert_close(plan.sum(1), torch.full((4,), 0.25, dtype=torch.float64), atol=1e-3, rtol=0)
    assert loss.item() == pytest.approx(alignment_loss(x, y, plan, zeta=None).item(), rel=1e-12)


def test_rfpgwot_loss_batched_pairs():
    generator = torch.Generator().manual_seed(4)
    x = torch.randn(3, 5, 4, generator=generator)
    y = torch.randn(3, 5, 4, generator=generator)
    loss, plan, _ = rfpgwot_loss(x, y)
    assert plan.shape == (3, 6, 6)
    single = [rfpgwot_loss(x[k], y[k])[0].item() for k in range(3)]
    assert loss.item() == pytest.approx(sum(single) / 3, rel=1e-5)


def test_rfpgwot_loss_differentiable_plan_gradcheck():
    x, y = _embeddings(3, 3, seed=5)

    def loss(x, y):
        return rfpgwot_loss(
            x, y, rho=0.3, eps=0.1, max_outer_iter=2, max_inner_iter=10, differentiable=True
        )[0]

    _, plan, _ = rfpgwot_loss(x, y, eps=0.1, differentiable=True)
    assert plan.requires_grad
    assert torch.autograd.gradcheck(loss, (x, y))
