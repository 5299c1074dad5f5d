"""Property tests of the solver: plans non-negative, sink masses in [0, 1], symmetry."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sk_realign.ot import solve_rfpgwot

FEATURES = 3


def sequences(max_frames=7):
    frames = st.integers(min_value=1, max_value=max_frames)
    values = st.floats(min_value=-10, max_value=10, allow_nan=False, width=64)
    return frames.flatmap(lambda n: arrays(np.float64, (n, FEATURES), elements=values))


def parameters(eps=(0.01, 0.05, 0.3), tau=(0.1, 1.0, float("inf"))):
    return st.fixed_dictionaries(
        {
            "rho": st.sampled_from([0.0, 0.3, 0.7, 1.0]),
            "tau": st.sampled_from(tau),
            "zeta": st.sampled_from([None, 0.2, 0.5, 1.5]),
            "eps": st.sampled_from(eps),
            "prior_weight": st.sampled_from([0.0, 1.0]),
            "metric": st.sampled_from(["cosine", "sqeuclidean"]),
            "structure": st.sampled_from(["temporal", "feature", "kernel"]),
        }
    )


@settings(max_examples=40, deadline=None, derandomize=True)
@given(x=sequences(), y=sequences(), params=parameters())
def test_plan_nonnegative_and_sink_mass_in_unit_interval(x, y, params):
    plan, log = solve_rfpgwot(torch.from_numpy(x), torch.from_numpy(y), max_outer_iter=3, warn=False, **params)

    assert torch.isfinite(plan).all()
    assert (plan >= 0).all()
    for key in ("sink_mass_x", "sink_mass_y"):
        assert torch.isfinite(log[key]).all()
        assert (log[key] >= 0).all()
        assert (log[key] <= 1).all()
    assert torch.isfinite(log["objective"]).all()
    assert torch.isfinite(log["cost"]).all()


# The symmetry is exact at the fixed point. With exact marginals (tau = inf) or eps = 0.01,
# Sinkhorn on kernels whose entries span e^-60 and more (repeated or single frames) can
# still be short of it after thousands of iterations, and with rho near 1 the GW steps
# amplify what is left. The property is checked where the iterations converge.
@settings(max_examples=30, deadline=None, derandomize=True)
@given(x=sequences(), y=sequences(), params=parameters(eps=(0.05, 0.3), tau=(0.1, 1.0, 10.0)))
def test_swapping_sequences_transposes_plan(x, y, params):
    # The fixed point is symmetric; a converged inner loop removes the order of the updates.
    options = dict(max_outer_iter=4, max_inner_iter=3000, tol=1e-13, warn=False, **params)
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    plan, log = solve_rfpgwot(x, y, **options)
    swapped, swapped_log = solve_rfpgwot(y, x, **options)

    scale = plan.abs().max().item()
    np.testing.assert_allclose(swapped.T.numpy(), plan.numpy(), atol=1e-6 * scale + 1e-12)
    np.testing.assert_allclose(swapped_log["sink_mass_x"].numpy(), log["sink_mass_y"].numpy(), atol=1e-5)
