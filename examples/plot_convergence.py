"""
=======================================================
Convergence: the objective over the MM steps
=======================================================

The R-FPGWOT solver alternates two steps: it linearises the Gromov-Wasserstein term at the
current plan, then solves the resulting entropic transport problem by Sinkhorn iterations.
This majorisation-minimisation (MM) scheme is guaranteed to decrease the objective only
when the Gromov-Wasserstein term is concave and the inner problem is solved exactly
(see :ref:`objective`), and neither is guaranteed here. So the solver records the objective
:math:`J(T^s)` after every outer step, and this example looks at it on real recordings.
"""

# %%
# Solve a few real pairs for many steps
# -------------------------------------
# Three pairs of the bundled coffee recordings, two structure costs and two weights of the
# Gromov-Wasserstein term, each run for 15 outer steps with ``tol=0`` so that no run stops
# early. Features are cast to float64 so that rounding does not hide small increases.
import itertools
import warnings

import matplotlib.pyplot as plt
import numpy as np

from sk_realign import PartialFGWAligner
from sk_realign.datasets import load_breakfast_coffee
from sk_realign.exceptions import ConvergenceWarning
from sk_realign.plotting import plot_objective_history

coffee = load_breakfast_coffee()
videos = [video.astype(np.float64) for video in coffee.X]
pairs = list(
    itertools.combinations([2, 3, 4], 2)
)  # the three shortest recordings

histories = {}
with warnings.catch_warnings():
    # With tol=0 no run counts as converged; that is intended here.
    warnings.simplefilter("ignore", ConvergenceWarning)
    for structure, rho in itertools.product(
        ["temporal", "kernel"], [0.5, 0.9]
    ):
        aligner = PartialFGWAligner(
            rho=rho, structure=structure, max_outer_iter=15, tol=0.0
        )
        for i, j in pairs:
            alignment = aligner.align(videos[i], videos[j])
            histories[structure, rho, i, j] = alignment.objective_history

# %%
# One pair
# --------
# The objective of one pair, step by step: most of the decrease happens in the first
# steps, after which the plan barely moves. Note the scale: the objective changes in its
# fourth digit, since the first plan is already close to the last one.
fig = plot_objective_history(
    histories["temporal", 0.5, 2, 4],
    title="P06 against P09, temporal structure, rho = 0.5",
)
plt.show()

# %%
# All runs
# --------
# To put runs of different scales on one plot, we draw each run's distance to its last
# value, :math:`(J(T^s) - J(T^{last})) / |J(T^{last})|`, on a log scale. A run that
# decreases monotonically reaches zero at its last step and leaves the plot there. A run
# stops before step 15 when its objective no longer changes at all.
fig, ax = plt.subplots(figsize=(7.5, 4.5))
for (structure, rho, i, j), history in histories.items():
    gap = (history - history[-1]) / abs(history[-1])
    steps = np.arange(1, len(history) + 1)
    ax.semilogy(
        steps[gap > 0],
        gap[gap > 0],
        color="tab:blue" if structure == "temporal" else "tab:orange",
        linestyle="-" if rho == 0.5 else "--",
        marker=".",
        alpha=0.8,
    )
ax.set_xlabel("MM outer step s")
ax.set_ylabel("relative distance to the last objective")
ax.set_title("12 runs: 3 pairs, 2 structures, 2 values of rho")
ax.plot([], [], color="tab:blue", label="temporal structure")
ax.plot([], [], color="tab:orange", label="kernel structure")
ax.plot([], [], color="black", linestyle="-", label="rho = 0.5")
ax.plot([], [], color="black", linestyle="--", label="rho = 0.9")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Did the objective ever rise?
# ----------------------------
# The largest relative increase from one step to the next, over all steps of all runs.
# Values of order 1e-15 are float64 rounding.
increases = np.concatenate(
    [np.diff(history) / np.abs(history[:-1]) for history in histories.values()]
)
print(f"steps checked: {increases.size}")
print(f"steps where the objective rose: {np.count_nonzero(increases > 0)}")
print(f"largest relative increase: {max(increases.max(), 0.0):.2e}")
print(f"largest relative decrease: {-increases.min():.2e}")
