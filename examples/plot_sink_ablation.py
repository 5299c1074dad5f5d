"""
==================================================
The virtual sink against balanced transport
==================================================

Balanced optimal transport must move every frame's mass to some frame of the other
recording, even when nothing there corresponds to it. The partial setting of
:class:`~sk_realign.PartialFGWAligner` adds a virtual sink that takes such frames at a
fixed price ``zeta``, and relaxes the marginals with ``tau``.

We align the same two Breakfast coffee recordings twice: once balanced, with exact
marginals (``tau=float("inf")``) and no sink (``zeta=None``), and once in the partial
setting, and compare the plans.
"""

# %%
# Two recordings with unshared steps
# ----------------------------------
# P06 pours milk and sugar; P09 does neither. A balanced plan has to send those frames
# somewhere in P09.
import matplotlib.pyplot as plt
import numpy as np

from sk_realign import PartialFGWAligner
from sk_realign.datasets import load_breakfast_coffee
from sk_realign.plotting import plot_transport_plan

coffee = load_breakfast_coffee()
a, b = 2, 4
X_a, X_b = coffee.X[a], coffee.X[b]
y_a, y_b = coffee.y[a], coffee.y[b]

shared = np.intersect1d(y_a[y_a > 0], y_b[y_b > 0])
print(
    "key steps in both recordings:",
    [coffee.label_names[label] for label in shared],
)

# %%
# Solve both problems
# -------------------
# Everything but the sink and the marginal relaxation is the same in both.
common = dict(eps=0.01, max_outer_iter=10)
balanced = PartialFGWAligner(tau=float("inf"), zeta=None, **common).align(
    X_a, X_b
)
partial = PartialFGWAligner(tau=1.0, zeta=0.85, **common).align(X_a, X_b)

# %%
# The plans side by side
# ----------------------
# Left, the balanced plan: every row and every column carries its full mass, so the
# frames of P06's milk and sugar (blue and red strips) are spread over P09's coffee. Right,
# the partial plan: those frames send much of their mass to the sink column instead.
fig = plt.figure(figsize=(15, 7.5))
left, right = fig.subfigures(1, 2)
plot_transport_plan(
    balanced.plan,
    sink=False,
    labels_a=y_a,
    labels_b=y_b,
    label_names=coffee.label_names,
    title="balanced: tau = inf, no sink",
    figsize=(7.5, 7.5),
    fig=left,
)
plot_transport_plan(
    partial,
    labels_a=y_a,
    labels_b=y_b,
    label_names=coffee.label_names,
    title="partial: tau = 1, zeta = 0.85",
    figsize=(7.5, 7.5),
    fig=right,
)
plt.show()


# %%
# Where the mass goes
# -------------------
# We split each plan's mass by the ground truth of the two frames it joins: the same key
# step in both, two different key steps, or a background frame on either side. The plans'
# total masses differ (the partial plan leaves part of it in the sink), so the shares are
# of the mass that joins real frames.
def mass_shares(plan):
    same = (y_a[:, None] == y_b[None, :]) & (y_a[:, None] > 0)
    background = (y_a[:, None] == 0) | (y_b[None, :] == 0)
    total = plan.sum()
    return {
        "same key step": plan[same].sum() / total,
        "different key steps": plan[~same & ~background].sum() / total,
        "with background": plan[background].sum() / total,
    }


unshared = ~np.isin(y_a, shared) & (y_a > 0)
print(f"{'':<22}{'balanced':>10}{'partial':>10}")
for name in ("same key step", "different key steps", "with background"):
    print(
        f"{name:<22}{mass_shares(balanced.plan)[name]:>10.2f}"
        f"{mass_shares(partial.plan)[name]:>10.2f}"
    )
unshared_share = partial.sink_mass_a[unshared].mean()
background_share = partial.sink_mass_b[y_b == 0].mean()
print(
    f"In the partial plan, P06's unshared steps send {unshared_share:.0%} of "
    f"their mass to the sink, and P09's background takes "
    f"{background_share:.0%} of its mass from it."
)

# %%
# The balanced plan has no place for unmatched frames: it has to join background and
# unshared steps to something. The sink gives them a place, at the price ``zeta`` per
# pair of parked frames, so they no longer pull the plan between frames that do
# correspond. On raw features, whose costs between different steps are only a little
# higher than within a step, the separation is partial; learned embeddings
# (:class:`~sk_realign.RealignEmbedder`) are trained to widen that gap.
