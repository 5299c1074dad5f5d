import builtins
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from matplotlib import pyplot as plt  # noqa: E402

from sk_realign.plotting import (  # noqa: E402
    plot_objective_history,
    plot_segmentation_timeline,
    plot_training_history,
    plot_transport_plan,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def save_png(fig, path):
    fig.savefig(path)
    assert path.stat().st_size > 5000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def axes_with_label(fig, text, axis="y"):
    get = (lambda ax: ax.get_ylabel()) if axis == "y" else (lambda ax: ax.get_xlabel())
    return [ax for ax in fig.axes if get(ax) == text]


@pytest.fixture
def augmented_plan():
    # Frames 0, 1, 3 of A match frames 0, 1, 3 of B; frame 2 of each side goes to the sink
    # (A's frame 2 sends to the sink column, B's frame 2 receives from the sink row).
    plan = np.zeros((5, 5))
    plan[[0, 1, 3], [0, 1, 3]] = 0.1
    plan[2, 4] = 0.1
    plan[4, 2] = 0.1
    plan[4, 4] = 0.5
    return plan


def test_plan_with_sink(augmented_plan, tmp_path):
    fig = plot_transport_plan(augmented_plan, title="pair")
    save_png(fig, tmp_path / "plan.png")

    (ax_plan,) = axes_with_label(fig, "frames of video A")
    np.testing.assert_array_equal(ax_plan.images[0].get_array(), augmented_plan[:4, :4])

    (ax_row,) = axes_with_label(fig, "frames of video B", axis="x")
    assert [t.get_text() for t in ax_row.get_yticklabels()] == ["sink"]
    np.testing.assert_array_equal(ax_row.images[0].get_array(), [[0, 0, 1, 0]])

    sink_column = [
        ax for ax in fig.axes if [t.get_text() for t in ax.get_xticklabels()] == ["sink"]
    ]
    assert len(sink_column) == 1
    np.testing.assert_array_equal(sink_column[0].images[0].get_array()[:, 0], [0, 0, 1, 0])

    colorbar_labels = {ax.get_ylabel() for ax in fig.axes}
    assert "transport mass" in colorbar_labels
    assert "share of the frame's mass in the sink" in colorbar_labels
    assert fig._suptitle.get_text() == "pair"


def test_plan_partial_sink_shares(tmp_path):
    # Frame 0 of A sends 0.3 of its 0.4 to the sink: a share of 0.75.
    plan = np.array([[0.1, 0.0, 0.3], [0.0, 0.2, 0.0], [0.0, 0.1, 0.3]])
    fig = plot_transport_plan(plan)
    sink_column = [
        ax for ax in fig.axes if [t.get_text() for t in ax.get_xticklabels()] == ["sink"]
    ][0]
    np.testing.assert_allclose(sink_column.images[0].get_array()[:, 0], [0.75, 0.0])
    (ax_row,) = axes_with_label(fig, "frames of video B", axis="x")
    np.testing.assert_allclose(ax_row.images[0].get_array()[0], [0.0, 1 / 3])


def test_plan_with_sink_fractions(augmented_plan):
    fractions_a = np.array([0.0, 0.25, 1.0, 0.5])
    fractions_b = np.array([0.1, 0.0, 1.0, 0.0])
    fig = plot_transport_plan(augmented_plan[:4, :4], fractions_a, fractions_b)
    (ax_row,) = axes_with_label(fig, "frames of video B", axis="x")
    np.testing.assert_allclose(ax_row.images[0].get_array()[0], fractions_b)


def test_plan_from_alignment(augmented_plan):
    alignment = SimpleNamespace(
        plan=augmented_plan[:4, :4],
        sink_mass_a=np.array([0.0, 0.0, 1.0, 0.0]),
        sink_mass_b=np.array([0.0, 0.0, 1.0, 0.0]),
    )
    fig = plot_transport_plan(alignment)
    (ax_plan,) = axes_with_label(fig, "frames of video A")
    np.testing.assert_array_equal(ax_plan.images[0].get_array(), augmented_plan[:4, :4])
    assert any(ax.get_ylabel() == "share of the frame's mass in the sink" for ax in fig.axes)


def test_plan_without_sink(tmp_path):
    fig = plot_transport_plan(np.eye(6) / 6, sink=False)
    save_png(fig, tmp_path / "plan.png")
    labels = [t.get_text() for ax in fig.axes for t in ax.get_yticklabels()]
    assert "sink" not in labels
    assert len(axes_with_label(fig, "frames of video B", axis="x")) == 1
    assert len(fig.axes) == 2


def test_plans_side_by_side(augmented_plan, tmp_path):
    fig = plt.figure(figsize=(12, 5))
    left, right = fig.subfigures(1, 2)
    assert plot_transport_plan(augmented_plan[:4, :4], sink=False, fig=left) is left
    assert plot_transport_plan(augmented_plan, fig=right, title="partial") is right
    save_png(fig, tmp_path / "side_by_side.png")
    assert len(left.axes) == 2
    assert len(right.axes) == 5
    assert len(axes_with_label(fig, "frames of video A")) == 2


def test_plan_with_real_label_strips(coffee, tmp_path):
    labels_a, labels_b = coffee.y[3], coffee.y[2]
    n_a, n_b = len(labels_a), len(labels_b)
    plan = np.zeros((n_a + 1, n_b + 1))
    plan[:n_a, n_b] = labels_a == 0
    plan[n_a, :n_b] = labels_b == 0
    both = (labels_a[:, None] == labels_b[None, :]) & (labels_a[:, None] != 0)
    plan[:n_a, :n_b] = both
    plan /= plan.sum()

    fig = plot_transport_plan(
        plan, labels_a=labels_a, labels_b=labels_b, label_names=coffee.label_names
    )
    save_png(fig, tmp_path / "plan.png")
    legend_texts = {text.get_text() for text in fig.legends[0].get_texts()}
    assert legend_texts == {"SIL", "take_cup", "pour_coffee", "pour_milk", "pour_sugar"}
    assert len(axes_with_label(fig, "frames of video A")) == 1


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        ((np.zeros(4),), {}, "plan must be a 2-D array"),
        ((np.full((3, 3), np.nan),), {}, "finite, non-negative"),
        ((-np.ones((3, 3)),), {}, "finite, non-negative"),
        ((np.ones((1, 3)),), {}, "at least 2 rows and 2 columns"),
        ((np.ones((2, 2)), [0.5, 0.5]), {}, "Give both sink_mass_a and sink_mass_b"),
        ((np.ones((2, 2)), [0.5], [0.5, 0.5]), {}, "sink_mass_a has shape \\(1,\\)"),
        ((np.ones((2, 2)), [0.5, 1.5], [0.5, 0.5]), {}, "fractions in \\[0, 1\\]"),
        ((np.ones((3, 3)),), {"labels_a": [0, 1, 2]}, "labels_a has shape \\(3,\\)"),
    ],
)
def test_plan_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_transport_plan(*args, **kwargs)


def timeline_rows(ax):
    return np.asarray(ax.images[0].get_array())


def test_timeline_relabelled_copy_matches(coffee, tmp_path):
    # A prediction that is the ground truth under other ids gets the same colours.
    renamed = [np.where(y == 0, 7, y + 20) for y in coffee.y]
    fig = plot_segmentation_timeline(
        coffee.y, renamed, coffee.label_names, video_names=coffee.video_names, fps=15
    )
    save_png(fig, tmp_path / "timeline.png")
    assert len(fig.axes) == 5
    for ax in fig.axes:
        rows = timeline_rows(ax)
        np.testing.assert_array_equal(rows[0], rows[1])
        assert [t.get_text() for t in ax.get_yticklabels()] == ["ground truth", "prediction"]
    assert fig.axes[0].get_title(loc="left") == "P03_cam01_P03_coffee"
    assert fig.axes[-1].get_xlabel() == "time (s)"
    legend_texts = [text.get_text() for text in fig.legends[0].get_texts()]
    assert sorted(legend_texts) == ["SIL", "pour_coffee", "pour_milk", "pour_sugar", "take_cup"]


def test_timeline_uniform_split(coffee, tmp_path):
    split = [np.arange(len(y)) * 5 // len(y) for y in coffee.y]
    fig = plot_segmentation_timeline(coffee.y, split, coffee.label_names)
    save_png(fig, tmp_path / "timeline.png")
    assert fig.axes[-1].get_xlabel() == "frame"
    legend_texts = {text.get_text() for text in fig.legends[0].get_texts()}
    assert legend_texts == {"SIL", "take_cup", "pour_coffee", "pour_milk", "pour_sugar"}


def test_timeline_unmatched_clusters():
    y_true = [np.array([0, 0, 1, 1, 2, 2])]
    y_pred = [np.array([4, 5, 6, 6, 7, 7])]
    fig = plot_segmentation_timeline(y_true, y_pred, {0: "SIL", 1: "cut", 2: "fry"})
    legend_texts = {text.get_text() for text in fig.legends[0].get_texts()}
    assert legend_texts == {"SIL", "cut", "fry", "cluster 5 (unmatched)"}
    rows = timeline_rows(fig.axes[0])
    np.testing.assert_array_equal(rows[1, [0, 2, 3, 4, 5]], rows[0, [0, 2, 3, 4, 5]])
    assert rows[1, 1] not in rows[0]


def test_timeline_per_video_matching():
    # Cluster 1 is step 1 in the first video and step 2 in the second: only the per-video
    # matching colours both predictions like the ground truth.
    y_true = [np.array([1, 1, 2, 2]), np.array([2, 2, 1, 1])]
    y_pred = [np.array([1, 1, 2, 2]), np.array([1, 1, 2, 2])]
    per_video = plot_segmentation_timeline(y_true, y_pred, match="video")
    for ax in per_video.axes:
        rows = timeline_rows(ax)
        np.testing.assert_array_equal(rows[0], rows[1])

    task = plot_segmentation_timeline(y_true, y_pred, match="task")
    rows = timeline_rows(task.axes[1])
    assert not np.array_equal(rows[0], rows[1])


def test_timeline_without_matching():
    fig = plot_segmentation_timeline([np.array([0, 1, 2])], [np.array([0, 2, 2])], match=None)
    rows = timeline_rows(fig.axes[0])
    np.testing.assert_array_equal(rows[1], [rows[0, 0], rows[0, 2], rows[0, 2]])
    legend_texts = {text.get_text() for text in fig.legends[0].get_texts()}
    assert legend_texts == {"background", "step 1", "step 2"}


@pytest.mark.parametrize(
    "y_true, y_pred, kwargs, message",
    [
        ([np.zeros(3, int)], [np.zeros(4, int)], {}, "3 ground-truth labels but 4"),
        ([np.zeros(3, int)], [np.zeros(3, int)] * 2, {}, "1 videos but y_pred has 2"),
        ([np.zeros(3)], [np.zeros(3, int)], {}, "1-D array of integer labels"),
        ([np.zeros(3, int)], [np.zeros(3, int)], {"match": "frame"}, "match must be"),
        ([np.zeros(3, int)], [np.zeros(3, int)], {"video_names": ["a", "b"]}, "2 names"),
    ],
)
def test_timeline_errors(y_true, y_pred, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_segmentation_timeline(y_true, y_pred, **kwargs)


def test_history_from_dict(tmp_path):
    history = {"loss": [3.0, 2.0, 1.5, 1.4], "align": [2.0, 1.2, 1.0, 0.9], "note": "x"}
    fig = plot_training_history(history, title="training")
    save_png(fig, tmp_path / "history.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "align"]
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_ydata(), history["loss"])
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), [1, 2, 3, 4])
    assert fig.axes[0].get_xlabel() == "iteration"


def test_history_from_rows(tmp_path):
    rows = [
        {"iteration": 10 * (i + 1), "loss": 1.0 / (i + 1), "idm": 0.1, "device": "cpu"}
        for i in range(7)
    ]
    fig = plot_training_history(rows, log_scale=True)
    save_png(fig, tmp_path / "history.png")
    assert [ax.get_title() for ax in fig.axes] == ["loss", "idm"]
    np.testing.assert_array_equal(fig.axes[0].lines[0].get_xdata(), np.arange(10, 80, 10))
    assert fig.axes[0].get_yscale() == "log"


def test_history_selected_keys():
    history = {"loss": [1, 2], "align": [1, 1], "idm": [0, 1], "inter": [3, 2], "x": [1, 2]}
    fig = plot_training_history(history, keys=["idm", "loss", "inter", "x"])
    assert [ax.get_title() for ax in fig.axes] == ["idm", "loss", "inter", "x"]
    with pytest.raises(ValueError, match=r"no numeric term \['spread'\]"):
        plot_training_history(history, keys=["spread"])


def test_history_errors():
    with pytest.raises(ValueError, match="history must be a dict"):
        plot_training_history([1.0, 2.0])
    with pytest.raises(ValueError, match="no numeric term to draw"):
        plot_training_history({"device": "cpu"})


def test_objective_history(tmp_path):
    objective = [0.91, 0.62, 0.60, 0.598]
    fig = plot_objective_history(objective, title="MM")
    save_png(fig, tmp_path / "objective.png")
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), objective)
    assert ax.get_xlabel() == "MM outer step"
    assert ax.get_ylabel() == "objective J(T)"


def test_objective_several_and_alignment():
    fig = plot_objective_history([[3.0, 2.0], np.array([1.0, 0.5, 0.4])], labels=["a", "b"])
    assert len(fig.axes[0].lines) == 2
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["a", "b"]

    _, ax = plt.subplots()
    alignment = SimpleNamespace(objective_history=[2.0, 1.0, 0.9])
    assert plot_objective_history(alignment, ax=ax) is ax.figure
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [2.0, 1.0, 0.9])


def test_objective_errors():
    with pytest.raises(ValueError, match="at least one value"):
        plot_objective_history([])
    with pytest.raises(ValueError, match="2 labels for 1 objective"):
        plot_objective_history([1.0, 0.5], labels=["a", "b"])


def test_missing_matplotlib_named(monkeypatch):
    real_import = builtins.__import__

    def import_without_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_without_matplotlib)
    with pytest.raises(ImportError, match=r"pip install 'sk_realign\[plots\]'"):
        plot_objective_history([1.0])


def test_plan_quantile_colour_limit(tmp_path):
    # One large entry would wash out a plan whose mass is spread thinly.
    plan = np.full((40, 30), 1e-4)
    plan[0, 0] = 1.0
    fig = plot_transport_plan(plan, np.zeros(40), np.zeros(30), vmax="quantile")
    image = fig.axes[0].images[0]
    assert image.norm.vmax == pytest.approx(1e-4)
    fig.savefig(tmp_path / "plan.png")
    assert (tmp_path / "plan.png").stat().st_size > 0
    with pytest.raises(ValueError, match='vmax must be a float, None or "quantile"'):
        plot_transport_plan(plan, np.zeros(40), np.zeros(30), vmax="max")
