"""
==========================================================
Aligning two long sequences without subsampling
==========================================================

Recordings of real procedures run for minutes: thousands of frames at 15 frames per
second. A plan between two of them has millions of entries, and the Gromov-Wasserstein
term involves the :math:`N \\times N` and :math:`M \\times M` structure matrices. With
temporal structure and sequences of 512 frames or more,
:class:`~sk_realign.PartialFGWAligner` never forms those matrices: their products with the
plan are computed with prefix sums in :math:`O(NM)` operations, so long sequences are
aligned at full frame rate.

We build two long sequences from the bundled coffee recordings, one of which has a known
correspondence to the other, and align them frame by frame.
"""

# %%
# Two long sequences with a known correspondence
# ----------------------------------------------
# Sequence A plays the five recordings one after the other: 3,350 frames, 223 seconds.
# Sequence B plays the same recordings with every background frame cut out. Every frame
# of B is a frame of A, so we know where each frame of A should go: its copy in B, or, for
# background frames, nowhere.
import time

import matplotlib.pyplot as plt
import numpy as np

from sk_realign import PartialFGWAligner
from sk_realign.datasets import load_breakfast_coffee
from sk_realign.plotting import plot_transport_plan

coffee = load_breakfast_coffee()
A = np.concatenate(coffee.X)
y_A = np.concatenate(coffee.y)
B = A[y_A > 0]
y_B = y_A[y_A > 0]

# The index in B of each foreground frame of A.
position_in_B = np.full(len(A), -1)
position_in_B[y_A > 0] = np.arange(len(B))

print(f"A: {len(A)} frames, B: {len(B)} frames, {A.shape[1]} features each")
print(f"one float32 plan: {A.shape[0] * B.shape[0] * 4 / 2**20:.0f} MiB")

# %%
# Align them
# ----------
# Default parameters but ``zeta``, which we set among the cosine costs of these features
# (see :ref:`sphx_glr_auto_examples_plot_transport_plan.py`).
aligner = PartialFGWAligner(zeta=0.85)
start = time.perf_counter()
alignment = aligner.align(A, B)
seconds = time.perf_counter() - start
print(
    f"solved a {A.shape[0]} x {B.shape[0]} problem in {seconds:.1f} s "
    f"({alignment.n_iter} MM steps, converged: {alignment.converged})"
)

# %%
# The plan
# --------
# The plan follows the diagonal of the five recordings, one block each; the background
# frames of A, grey in the strip on the left, are where the sink column is dark. At this
# size the figure shrinks several frames into each pixel, so the one-frame-wide diagonal
# looks faint; the solver used every frame.
fig = plot_transport_plan(
    alignment,
    labels_a=y_A,
    labels_b=y_B,
    label_names=coffee.label_names,
    title="Five recordings (A) against the same without background (B)",
    figsize=(9, 8),
)
plt.show()

# %%
# A close-up
# ----------
# The same plan restricted to the first 300 frames of A (the start of recording P03) and
# their copies in B. The background at the start goes to the sink, and the rest follows
# the diagonal frame by frame.
rows = np.arange(300)
columns = np.arange(position_in_B[rows].max() + 1)
fig = plot_transport_plan(
    alignment.plan[np.ix_(rows, columns)],
    alignment.sink_mass_a[rows],
    alignment.sink_mass_b[columns],
    labels_a=y_A[rows],
    labels_b=y_B[columns],
    label_names=coffee.label_names,
    title="Close-up: the first 300 frames of A and their copies in B",
    figsize=(9, 8),
)
plt.show()

# %%
# How close to the known correspondence
# -------------------------------------
# For each frame of A, ``alignment.matches`` gives its best frame in B, or -1 when most of
# its mass went to the sink.
foreground = y_A > 0
matched = alignment.matches >= 0
error = np.abs(alignment.matches - position_in_B)[foreground & matched]
sink_share = alignment.sink_mass_a
rows = [
    ("foreground frames of A matched", f"{matched[foreground].mean():.1%}"),
    ("  of those, to their exact copy", f"{np.mean(error == 0):.1%}"),
    ("  of those, within 15 frames (1 s)", f"{np.mean(error <= 15):.1%}"),
    (
        "background frames of A in the sink",
        f"{np.mean(~matched[~foreground]):.1%}",
    ),
    (
        "mean sink share, background of A",
        f"{sink_share[~foreground].mean():.2f}",
    ),
    (
        "mean sink share, foreground of A",
        f"{sink_share[foreground].mean():.2f}",
    ),
]
for name, value in rows:
    print(f"{name:<36}{value:>7}")
