"""
===================================================
Key-step discovery on the coffee recordings
===================================================

:class:`~sk_realign.KeyStepSegmenter` learns *k* key-step prototypes over the frames of all
recordings of a task, then labels every frame of every recording by a minimum-energy
segmentation of its chain of frames: each frame prefers its nearest prototype, each change
of step costs ``smoothness``, and a temporal term favours the steps whose training frames
lay at the same relative position in their recordings.

We segment the five bundled Breakfast coffee recordings into five key steps, draw the
result against the ground truth, and score it under both evaluation protocols next to the
baseline every method has to beat: a uniform split of each recording into five parts.
"""

# %%
# Segment the recordings
# ----------------------
# No labels are used to fit: the ground truth only scores the result.
import matplotlib.pyplot as plt

from sk_realign import KeyStepSegmenter
from sk_realign.datasets import load_breakfast_coffee
from sk_realign.metrics import (
    per_video_scores,
    task_scores,
    uniform_segmentation,
)
from sk_realign.plotting import plot_segmentation_timeline

coffee = load_breakfast_coffee()
k = 5

segmenter = KeyStepSegmenter(n_key_steps=k, random_state=0)
predicted = segmenter.fit_predict(coffee.X)

# %%
# The timelines
# -------------
# For each recording, the upper bar is the ground truth and the lower bar the predicted
# key steps, in seconds. Clusters take the colour of the ground-truth step they are
# matched to by the task-level matching, one matching for all recordings.
fig = plot_segmentation_timeline(
    coffee.y,
    predicted,
    coffee.label_names,
    video_names=coffee.video_names,
    fps=coffee.fps,
    title=f"KeyStepSegmenter, k = {k}, raw features",
)
plt.show()

# %%
# The baseline: a uniform split
# -----------------------------
# Procedures are ordered, so cutting every recording into five equal parts already
# finds much of the structure.
uniform = uniform_segmentation(coffee.X, k)
fig = plot_segmentation_timeline(
    coffee.y,
    uniform,
    coffee.label_names,
    video_names=coffee.video_names,
    fps=coffee.fps,
    title=f"Uniform split into {k} parts",
)
plt.show()

# %%
# Scores under both protocols
# ---------------------------
# The per-video protocol matches clusters to steps in each recording separately and
# counts only matched pairs; the task-level protocol makes one matching for all
# recordings and counts every step (see :ref:`evaluation`). We also segment without the
# temporal term (``temporal_weight=0``) to see what it contributes.
without_time = KeyStepSegmenter(
    n_key_steps=k, temporal_weight=0.0, random_state=0
).fit_predict(coffee.X)

methods = {
    "segmenter": predicted,
    "segmenter, no temporal term": without_time,
    "uniform split": uniform,
}
header = f"{'':<29}{'per-video':>20}{'task-level':>28}"
print(header)
print(f"{'':<29}{'F1':>10}{'IoU':>10}{'F1':>10}{'IoU':>10}{'MoF':>8}")
for name, labels in methods.items():
    video = per_video_scores(coffee.y, labels)
    task = task_scores(coffee.y, labels)
    print(
        f"{name:<29}{video.f1:>10.3f}{video.iou:>10.3f}"
        f"{task.f1:>10.3f}{task.iou:>10.3f}{task.mof:>8.3f}"
    )

# %%
# The two protocols need not agree. The per-video protocol matches each recording on its
# own, so a segmentation whose cluster means one step in one recording and another step
# in the next still scores well; the task-level protocol requires every cluster to mean the
# same step everywhere and counts every step.
protocols = {"per-video": per_video_scores, "task-level": task_scores}
for protocol, score in protocols.items():
    ours = score(coffee.y, predicted).f1
    baseline = score(coffee.y, uniform).f1
    verdict = "above" if ours > baseline else "not above"
    print(
        f"{protocol}: segmenter F1 {ours:.3f}, {verdict} the uniform split "
        f"({baseline:.3f})"
    )

# %%
# Raw features of different steps look much alike (their cosine costs are close, see
# :ref:`sphx_glr_auto_examples_plot_transport_plan.py`). This is why the package learns
# an embedding first: :class:`~sk_realign.RealignEmbedder` trains one in which the same
# step looks alike across recordings, and the segmenter then runs on it, as in
# :ref:`sphx_glr_auto_examples_plot_grid_search.py`. Whatever the features, report the
# uniform split next to the method, under both protocols.
