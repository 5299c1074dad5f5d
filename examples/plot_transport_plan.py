"""
===================================================
The transport plan between two coffee recordings
===================================================

Two people make coffee. :class:`~sk_realign.PartialFGWAligner` aligns their recordings
frame by frame with a transport plan, and gives every frame the option of going to a
virtual *sink* instead of to a frame of the other recording. Frames with no counterpart
(background, or a step the other person skipped) should end up there.

We align two of the bundled Breakfast recordings, P06 and P09, on their raw per-frame
features, and draw the plan with the ground-truth steps along its axes.
"""

# %%
# The two recordings
# ------------------
# P06 pours coffee, milk and sugar and takes a cup; P09 only takes a cup and pours coffee.
# P06's milk and sugar have no counterpart in P09.
import matplotlib.pyplot as plt
import numpy as np
import torch

from sk_realign import PartialFGWAligner
from sk_realign.datasets import load_breakfast_coffee
from sk_realign.ot import feature_cost
from sk_realign.plotting import plot_transport_plan

coffee = load_breakfast_coffee()
a, b = 2, 4
X_a, X_b = coffee.X[a], coffee.X[b]
y_a, y_b = coffee.y[a], coffee.y[b]

for index in (a, b):
    steps = [coffee.label_names[label] for label in np.unique(coffee.y[index])]
    print(
        f"{coffee.video_names[index]}: {len(coffee.X[index])} frames, "
        f"steps {steps}"
    )

# %%
# The matching threshold
# ----------------------
# ``zeta`` is a threshold on the feature cost: a pair of frames costlier than ``zeta`` is
# left unmatched. Raw features of these recordings are nearly orthogonal to each other,
# so their cosine costs crowd just below 1, and frames of the same step are only a little
# cheaper than frames of different steps. We set ``zeta`` among those costs and a small
# ``eps`` so that the decision between a match and the sink stays sharp.
cost = feature_cost(torch.from_numpy(X_a), torch.from_numpy(X_b)).numpy()
same_step = (y_a[:, None] == y_b[None, :]) & (y_a[:, None] > 0)
print(f"median cost, same key step:      {np.median(cost[same_step]):.3f}")
print(f"median cost, different key steps: {np.median(cost[~same_step]):.3f}")

aligner = PartialFGWAligner(zeta=0.85, eps=0.01, max_outer_iter=10)
alignment = aligner.align(X_a, X_b)
print(
    f"solved in {alignment.n_iter} MM steps, converged: {alignment.converged}"
)

# %%
# The plan
# --------
# Rows are the frames of P06, columns those of P09. The strips along the axes give the
# ground-truth step of each frame (background in grey). The column on the right is the
# share of each frame of P06 sent to the sink, the row below the share of each frame of
# P09 taken from it.
fig = plot_transport_plan(
    alignment,
    labels_a=y_a,
    labels_b=y_b,
    label_names=coffee.label_names,
    title=f"{coffee.video_names[a]} (A) against {coffee.video_names[b]} (B)",
    figsize=(9, 8),
)
plt.show()

# %%
# Which frames went to the sink
# -----------------------------
# The mean sink share of the frames of each ground-truth step. Background frames go
# almost entirely to the sink, and so does much of P06's sugar, a step P09 never does;
# the cup, which both take, stays matched. P06's milk, also absent from P09, stays mostly
# matched, to P09's pouring of coffee: in these raw features the two pourings look alike.
print(
    f"{'step':<14}{'P06 frames':>11}{'to sink':>9}"
    f"{'P09 frames':>12}{'from sink':>11}"
)
for label in np.union1d(np.unique(y_a), np.unique(y_b)):
    in_a, in_b = y_a == label, y_b == label
    share_a = (
        f"{alignment.sink_mass_a[in_a].mean():.2f}" if in_a.any() else "-"
    )
    share_b = (
        f"{alignment.sink_mass_b[in_b].mean():.2f}" if in_b.any() else "-"
    )
    print(
        f"{coffee.label_names[label]:<14}{in_a.sum():>11}{share_a:>9}"
        f"{in_b.sum():>12}{share_b:>11}"
    )

# %%
# The matches
# -----------
# ``alignment.matches`` gives, for every frame of P06, its best frame in P09, or -1 when
# most of its mass went to the sink. On the whole the matches move forward in time, as the
# Laplace prior and the Gromov-Wasserstein term favour, but on raw features they come in
# short runs that jump back and forth between similar-looking stretches.
matched = alignment.matches >= 0
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.scatter(np.flatnonzero(matched), alignment.matches[matched], s=3)
ax.set_xlabel(f"frame of {coffee.video_names[a]}")
ax.set_ylabel(f"matched frame of {coffee.video_names[b]}")
ax.set_title(
    f"{matched.mean():.0%} of the frames of P06 matched, the rest in the sink"
)
fig.tight_layout()
plt.show()
