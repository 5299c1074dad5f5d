"""Figures of transport plans, key-step timelines and training curves.

matplotlib (the ``plots`` extra, ``pip install 'sk_realign[plots]'``) is imported only when a
function here is called. Every function creates its figure with :mod:`matplotlib.pyplot`
(unless it is given an ``ax``), returns the :class:`~matplotlib.figure.Figure` and never calls
``show``. Save it with ``fig.savefig(path)`` and release it with ``plt.close(fig)`` when making
many figures.
"""

import math
import numbers

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = [
    "plot_transport_plan",
    "plot_segmentation_timeline",
    "plot_training_history",
    "plot_objective_history",
]

BACKGROUND_COLOR = "#d9d9d9"

# Keys of a training history that index the iterations rather than measure them.
_ITERATION_KEYS = ("iteration", "iter", "step", "epoch")


def _import_pyplot():
    try:
        from matplotlib import pyplot as plt
    except ImportError as error:
        raise ImportError(
            "Plotting needs matplotlib, which is not installed. Install the plots extra: "
            "pip install 'sk_realign[plots]'."
        ) from error
    return plt


def _step_colors(n_colors):
    """Return ``n_colors`` distinct colours for key steps (background excluded)."""
    from matplotlib import colormaps

    if n_colors <= 10:
        return [colormaps["tab10"](i) for i in range(n_colors)]
    if n_colors <= 20:
        return [colormaps["tab20"](i) for i in range(n_colors)]
    cmap = colormaps["turbo"]
    return [cmap(i / max(n_colors - 1, 1)) for i in range(n_colors)]


# --- transport plan ---------------------------------------------------------------------


def _sink_fractions(plan):
    """Split an augmented plan into its real block and the sink fraction of every frame."""
    real = plan[:-1, :-1]
    sent = plan[:-1, :].sum(axis=1)
    received = plan[:, :-1].sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction_a = np.where(sent > 0, plan[:-1, -1] / sent, 0.0)
        fraction_b = np.where(received > 0, plan[-1, :-1] / received, 0.0)
    return real, fraction_a, fraction_b


def _check_fractions(values, length, name):
    values = np.asarray(values, dtype=float)
    if values.shape != (length,):
        raise ValueError(
            f"{name} has shape {values.shape}, but the plan needs one value per frame: "
            f"({length},)."
        )
    if not np.isfinite(values).all() or values.min() < -1e-9 or values.max() > 1 + 1e-9:
        raise ValueError(
            f"{name} must hold fractions in [0, 1], as Alignment.{name} does; got values "
            f"from {np.nanmin(values):g} to {np.nanmax(values):g}."
        )
    return np.clip(values, 0.0, 1.0)


def _label_strip(ax, labels, colors_by_label, vertical):
    """Draw per-frame labels as a thin coloured strip along the frame axis."""
    from matplotlib.colors import to_rgba

    rgba = np.array([to_rgba(colors_by_label[int(label)]) for label in labels])
    n_frames = len(labels)
    if vertical:
        ax.imshow(rgba[:, None, :], aspect="auto", interpolation="nearest",
                  extent=(-0.5, 0.5, n_frames - 0.5, -0.5))
        ax.set_xticks([])
    else:
        ax.imshow(rgba[None, :, :], aspect="auto", interpolation="nearest",
                  extent=(-0.5, n_frames - 0.5, 0.5, -0.5))
        ax.set_yticks([])
        ax.tick_params(labelbottom=False)


def _label_colors(labels_list, background):
    present = sorted({int(v) for labels in labels_list for v in np.unique(labels)})
    steps = [label for label in present if label != background]
    colors = dict(zip(steps, _step_colors(len(steps))))
    colors[background] = BACKGROUND_COLOR
    return colors


def _label_name(label, label_names, background):
    if label_names is not None and label in label_names:
        return str(label_names[label])
    return "background" if label == background else f"step {label}"


def plot_transport_plan(
    plan,
    sink_mass_a=None,
    sink_mass_b=None,
    *,
    sink=True,
    labels_a=None,
    labels_b=None,
    label_names=None,
    background=0,
    title=None,
    cmap="Blues",
    sink_cmap="Oranges",
    vmax=None,
    figsize=(7.5, 6.5),
    fig=None,
):
    """Draw a transport plan between two videos, with its sink row and column apart.

    The ``N x M`` plan between the frames of video A (rows) and video B (columns) is drawn
    as an image. The sink column, the share of each frame of A sent to the virtual sink, is
    drawn to its right. The sink row, the share of each frame of B taken from the sink, is
    drawn below it. Both stand apart from the plan, in their own colour map and colour bar.

    Parameters
    ----------
    plan : ndarray of shape (N + 1, M + 1) or (N, M), or Alignment
        The augmented plan, whose last row and column are the sink (the solver's
        convention). Or the real ``N x M`` block, given with ``sink_mass_a`` and
        ``sink_mass_b``. Or an :class:`~sk_realign.Alignment`, whose ``plan``,
        ``sink_mass_a`` and ``sink_mass_b`` are used.
    sink_mass_a : array-like of shape (N,), default=None
        The fraction in [0, 1] of each frame of A's mass that goes to the sink, as in
        ``Alignment.sink_mass_a``. Give it with ``sink_mass_b`` for an ``N x M`` plan.
    sink_mass_b : array-like of shape (M,), default=None
        The fraction in [0, 1] of each frame of B's mass that comes from the sink.
    sink : bool, default=True
        Whether the plan has a sink. ``False`` draws a plain ``N x M`` plan (balanced
        transport, or ``zeta=None``), without sink row and column.
    labels_a, labels_b : array-like of int, default=None
        Per-frame ground-truth labels of A and B, drawn as colour strips along the rows
        and the columns, so that background frames parked in the sink can be seen.
    label_names : dict of int to str, default=None
        Names of the labels for the legend of the strips.
    background : int, default=0
        The background label, drawn in light grey.
    title : str, default=None
        The figure title.
    cmap, sink_cmap : str, default="Blues", "Oranges"
        Colour maps of the plan and of the sink shares.
    vmax : float or "quantile", default=None
        The plan mass drawn in the darkest colour. ``None`` uses the largest entry.
        ``"quantile"`` uses the 99.5th percentile of the non-zero entries, so that a few
        large entries do not wash out a plan whose mass is spread over many frames. Larger
        entries are drawn in the darkest colour, and the colour bar ends in an arrow.
    figsize : (float, float), default=(7.5, 6.5)
        The figure size in inches, for a new figure.
    fig : :class:`~matplotlib.figure.Figure` or :class:`~matplotlib.figure.SubFigure`, \
default=None
        An empty figure or subfigure to draw into, such as one of ``plt.figure().subfigures(
        1, 2)`` to set two plans side by side; a new figure by default.

    Returns
    -------
    fig : :class:`~matplotlib.figure.Figure` or :class:`~matplotlib.figure.SubFigure`
        The figure drawn into.

    Raises
    ------
    ValueError
        For a plan that is not 2-D, has NaN, inf or negative entries, or is too small, and
        for sink fractions of the wrong length or outside [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from sk_realign.plotting import plot_transport_plan
    >>> plan = np.eye(5) / 10
    >>> plan[2, 2], plan[2, 4], plan[4, 2] = 0.0, 0.1, 0.1  # frame 2 of each goes to the sink
    >>> fig = plot_transport_plan(plan)
    >>> [ax.get_ylabel() for ax in fig.axes][:1]
    ['frames of video A']
    """
    plt = _import_pyplot()

    # Unpack an Alignment-like object; explicit sink fractions take precedence.
    if hasattr(plan, "plan") and hasattr(plan, "sink_mass_a"):
        alignment = plan
        plan = alignment.plan
        sink_mass_a = alignment.sink_mass_a if sink_mass_a is None else sink_mass_a
        sink_mass_b = alignment.sink_mass_b if sink_mass_b is None else sink_mass_b
    plan = np.asarray(plan, dtype=float)
    if plan.ndim != 2:
        raise ValueError(f"plan must be a 2-D array; got shape {plan.shape}.")
    if not np.isfinite(plan).all() or (plan.size and plan.min() < -1e-12):
        raise ValueError("plan must contain finite, non-negative transport masses.")

    if (sink_mass_a is None) != (sink_mass_b is None):
        raise ValueError("Give both sink_mass_a and sink_mass_b, or neither.")
    if not sink:
        real, fraction_a, fraction_b = plan, None, None
    elif sink_mass_a is not None:
        real = plan
        fraction_a = _check_fractions(sink_mass_a, plan.shape[0], "sink_mass_a")
        fraction_b = _check_fractions(sink_mass_b, plan.shape[1], "sink_mass_b")
    else:
        if min(plan.shape) < 2:
            raise ValueError(
                f"An augmented plan needs at least 2 rows and 2 columns (one real frame and "
                f"the sink on each side); got shape {plan.shape}. Pass sink=False for a plan "
                "without sink."
            )
        real, fraction_a, fraction_b = _sink_fractions(plan)
    if real.size == 0:
        raise ValueError(f"The plan has no real frames (shape {plan.shape}).")
    n_a, n_b = real.shape

    for labels, length, name in ((labels_a, n_a, "labels_a"), (labels_b, n_b, "labels_b")):
        if labels is not None and np.shape(labels) != (length,):
            raise ValueError(
                f"{name} has shape {np.shape(labels)}; expected one label per frame: ({length},)."
            )
        if labels is not None and np.asarray(labels).dtype.kind not in "iub":
            raise ValueError(
                f"{name} must contain integer labels; got dtype {np.asarray(labels).dtype}. "
                "Convert step names with sk_realign.labels.names_to_ids."
            )

    # Grid: [labels A] [plan] [sink column] [colour bars] by [labels B] [plan] [sink row],
    # with empty columns and rows in between. The gaps set the sink apart from the plan
    # and leave the colour bars room for their ticks and labels.
    has_sink = fraction_a is not None
    strip_a, strip_b = labels_a is not None, labels_b is not None
    gap = 0.025
    widths = (
        [0.035, gap] * strip_a + [1.0] + [gap, 0.05] * has_sink
        + [0.06, 0.035] + [0.24, 0.035] * has_sink
    )
    heights = [0.035, gap] * strip_b + [1.0] + [gap * 1.5, 0.05] * has_sink
    if fig is None:
        fig = plt.figure(figsize=figsize)

    # The legend of the label strips needs room below the axes, in inches of the figure
    # (or subfigure) drawn into.
    bottom = 0.1
    if strip_a or strip_b:
        shown = [labels for labels in (labels_a, labels_b) if labels is not None]
        label_colors = _label_colors(shown, background)
        legend_columns = min(len(label_colors), 5)
        height = fig.bbox.height / fig.dpi
        bottom += (0.4 + 0.25 * math.ceil(len(label_colors) / legend_columns)) / height
    grid = fig.add_gridspec(
        len(heights), len(widths), width_ratios=widths, height_ratios=heights,
        wspace=0, hspace=0, left=0.11, right=0.88, bottom=bottom, top=0.9,
    )
    row = 2 * strip_b
    column = 2 * strip_a

    ax_plan = fig.add_subplot(grid[row, column])
    # Antialiased resampling keeps a one-frame-wide diagonal visible when the plan has more
    # frames than the figure has pixels.
    clipped = False
    if isinstance(vmax, str):
        if vmax != "quantile":
            raise ValueError(f'vmax must be a float, None or "quantile". Got {vmax!r} instead.')
        positive = real[real > 0]
        vmax = float(np.quantile(positive, 0.995)) if positive.size else None
        clipped = vmax is not None and vmax < real.max()
    image = ax_plan.imshow(
        real, aspect="auto", interpolation="antialiased", cmap=cmap, vmin=0, vmax=vmax,
        extent=(-0.5, n_b - 0.5, n_a - 0.5, -0.5),
    )
    ax_plan.set_ylabel("frames of video A")
    ax_plan.set_xlabel("frames of video B")

    if has_sink:
        ax_column = fig.add_subplot(grid[row, column + 2], sharey=ax_plan)
        ax_column.imshow(
            fraction_a[:, None], aspect="auto", interpolation="nearest", cmap=sink_cmap,
            vmin=0, vmax=1, extent=(-0.5, 0.5, n_a - 0.5, -0.5),
        )
        ax_column.set_xticks([0], ["sink"])
        ax_column.tick_params(labelleft=False)

        ax_row = fig.add_subplot(grid[row + 2, column], sharex=ax_plan)
        sink_image = ax_row.imshow(
            fraction_b[None, :], aspect="auto", interpolation="nearest", cmap=sink_cmap,
            vmin=0, vmax=1, extent=(-0.5, n_b - 0.5, 0.5, -0.5),
        )
        ax_row.set_yticks([0], ["sink"])
        ax_plan.tick_params(labelbottom=False)
        ax_plan.set_xlabel("")
        ax_row.set_xlabel("frames of video B")

        sink_bar = fig.colorbar(sink_image, cax=fig.add_subplot(grid[row, -1]))
        sink_bar.set_label("share of the frame's mass in the sink")
        plan_bar_axes = fig.add_subplot(grid[row, -3])
    else:
        plan_bar_axes = fig.add_subplot(grid[row, -1])
    plan_bar = fig.colorbar(image, cax=plan_bar_axes, extend="max" if clipped else "neither")
    plan_bar.set_label("transport mass")
    # Short tick labels with a power-of-ten offset, which plan entries of order 1e-4 need.
    plan_bar.formatter.set_powerlimits((-2, 3))
    plan_bar.update_ticks()

    # Ground-truth strips along the frames, with a legend of the labels shown. The strip
    # of A carries the frame ticks of A, in place of the plan.
    if strip_a:
        ax_strip = fig.add_subplot(grid[row, 0])
        _label_strip(ax_strip, np.asarray(labels_a), label_colors, vertical=True)
        ax_strip.set_ylabel("frames of video A")
        ax_plan.tick_params(labelleft=False)
        ax_plan.set_ylabel("")
    if strip_b:
        ax_strip = fig.add_subplot(grid[0, column])
        _label_strip(ax_strip, np.asarray(labels_b), label_colors, vertical=False)
    if strip_a or strip_b:
        from matplotlib.patches import Patch

        handles = [
            Patch(color=color, label=_label_name(label, label_names, background))
            for label, color in sorted(label_colors.items())
        ]
        fig.legend(
            handles=handles, loc="lower center", ncol=legend_columns, frameon=False,
            fontsize="small", title="ground truth", title_fontsize="small",
        )

    if title is not None:
        fig.suptitle(title)
    return fig


# --- segmentation timeline --------------------------------------------------------------


def _as_label_list(y, name):
    # A 1-D array, or a flat list of numbers, is a single video.
    if (isinstance(y, np.ndarray) and y.ndim == 1) or (
        len(y) and all(np.ndim(value) == 0 for value in y)
    ):
        y = [np.asarray(y)]
    labels = [np.asarray(video) for video in y]
    for index, video in enumerate(labels):
        if video.ndim != 1 or video.dtype.kind not in "iub":
            raise ValueError(
                f"{name}[{index}] must be a 1-D array of integer labels; got shape "
                f"{video.shape} and dtype {video.dtype}."
            )
    return [video.astype(np.int64) for video in labels]


def _match_clusters(y_true, y_pred):
    """Map predicted clusters to ground-truth classes by Hungarian matching on overlaps."""
    true_ids = np.unique(np.concatenate(y_true))
    pred_ids = np.unique(np.concatenate(y_pred))
    overlap = np.zeros((len(pred_ids), len(true_ids)))
    for true_labels, pred_labels in zip(y_true, y_pred):
        np.add.at(
            overlap,
            (np.searchsorted(pred_ids, pred_labels), np.searchsorted(true_ids, true_labels)),
            1,
        )
    rows, columns = linear_sum_assignment(overlap, maximize=True)
    return {int(pred_ids[r]): int(true_ids[c]) for r, c in zip(rows, columns)}, pred_ids


def plot_segmentation_timeline(
    y_true,
    y_pred,
    label_names=None,
    *,
    video_names=None,
    fps=None,
    background=0,
    match="task",
    title=None,
    figsize=None,
):
    """Draw ground-truth and predicted key steps of each video as two coloured bars.

    Parameters
    ----------
    y_true : array-like of int, or list of them
        The ground-truth label of every frame, one array per video.
    y_pred : array-like of int, or list of them
        The predicted label (cluster) of every frame, of the same lengths.
    label_names : dict of int to str, default=None
        Names of the ground-truth labels for the legend; ``"step <id>"`` otherwise.
    video_names : list of str, default=None
        Titles of the videos; ``"video <index>"`` otherwise.
    fps : float, default=None
        With a frame rate the time axis is in seconds, otherwise in frames.
    background : int, default=0
        The background label, drawn in light grey.
    match : {"task", "video"} or None, default="task"
        How predicted clusters get the colour of a ground-truth step. ``"task"`` matches
        clusters to steps once over all videos, by Hungarian matching on the frame
        overlaps, as the task-level protocol does. ``"video"`` matches within each video,
        as the per-video protocol does. ``None`` takes the predicted ids as step ids.
        Clusters left unmatched get colours of their own, labelled
        ``"cluster <id> (unmatched)"``.
    title : str, default=None
        The figure title.
    figsize : (float, float), default=None
        The figure size in inches; by default 10 wide and 0.9 per video high.

    Returns
    -------
    fig : :class:`~matplotlib.figure.Figure`

    Raises
    ------
    ValueError
        For label arrays that are not 1-D integers, no video, counts or lengths that differ
        between ``y_true`` and ``y_pred``, an ``fps`` that is not positive, or an unknown
        ``match``.

    Examples
    --------
    >>> from sk_realign.plotting import plot_segmentation_timeline
    >>> fig = plot_segmentation_timeline([0, 1, 1, 2, 2, 0], [5, 5, 3, 3, 3, 5],
    ...                                  label_names={0: "SIL", 1: "take_cup", 2: "pour"})
    >>> len(fig.axes)
    1
    """
    plt = _import_pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    if match not in ("task", "video", None):
        raise ValueError(f"match must be 'task', 'video' or None. Got {match!r} instead.")
    if fps is not None and (
        isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not (
            math.isfinite(fps) and fps > 0
        )
    ):
        raise ValueError(f"fps must be a positive finite number or None. Got {fps!r} instead.")
    y_true = _as_label_list(y_true, "y_true")
    y_pred = _as_label_list(y_pred, "y_pred")
    if not y_true:
        raise ValueError("y_true has no videos; give one label array per video.")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true has {len(y_true)} videos but y_pred has {len(y_pred)}; give one label "
            "array per video in both."
        )
    for index, (true_labels, pred_labels) in enumerate(zip(y_true, y_pred)):
        if len(true_labels) != len(pred_labels):
            raise ValueError(
                f"Video {index} has {len(true_labels)} ground-truth labels but "
                f"{len(pred_labels)} predicted ones."
            )
    if video_names is None:
        video_names = [f"video {index}" for index in range(len(y_true))]
    elif len(video_names) != len(y_true):
        raise ValueError(f"video_names has {len(video_names)} names for {len(y_true)} videos.")

    # Map predictions into the ground truth's ids; unmatched clusters get keys of their own.
    displayed_pred = []
    for index, (true_labels, pred_labels) in enumerate(zip(y_true, y_pred)):
        if match is None:
            displayed_pred.append([("step", int(v)) for v in pred_labels])
            continue
        if match == "task":
            if index == 0:
                task_mapping, _ = _match_clusters(y_true, y_pred)
            mapping = task_mapping
        else:
            mapping, _ = _match_clusters([true_labels], [pred_labels])
        displayed_pred.append([
            ("step", mapping[int(v)]) if int(v) in mapping else ("cluster", int(v))
            for v in pred_labels
        ])

    keys = sorted({("step", int(v)) for labels in y_true for v in labels}
                  | {key for labels in displayed_pred for key in labels})
    steps = [key for key in keys if key != ("step", background)]
    colors = dict(zip(steps, _step_colors(len(steps))))
    colors[("step", background)] = BACKGROUND_COLOR
    codes = {key: code for code, key in enumerate(keys)}
    cmap = ListedColormap([colors[key] for key in keys])

    n_videos = len(y_true)
    if figsize is None:
        figsize = (10, 0.9 * n_videos + 1.4)
    fig, axes = plt.subplots(n_videos, 1, figsize=figsize, squeeze=False)
    unit = 1.0 / fps if fps else 1.0
    for ax, name, true_labels, pred_keys in zip(axes[:, 0], video_names, y_true, displayed_pred):
        rows = np.array([
            [codes[("step", int(v))] for v in true_labels],
            [codes[key] for key in pred_keys],
        ])
        ax.imshow(
            rows, aspect="auto", interpolation="nearest", cmap=cmap, vmin=-0.5,
            vmax=len(keys) - 0.5, extent=(0, len(true_labels) * unit, 1.5, -0.5),
        )
        ax.set_yticks([0, 1], ["ground truth", "prediction"])
        ax.set_title(str(name), fontsize="medium", loc="left")
        ax.axhline(0.5, color="white", linewidth=2)
    axes[-1, 0].set_xlabel("time (s)" if fps else "frame")

    def key_name(key):
        kind, value = key
        if kind == "cluster":
            return f"cluster {value} (unmatched)"
        return _label_name(value, label_names, background)

    handles = [Patch(color=colors[key], label=key_name(key)) for key in keys]
    n_columns = min(len(handles), 4)
    legend_rows = math.ceil(len(handles) / n_columns)
    legend_height = 0.28 * legend_rows + 0.2
    fig.set_figheight(figsize[1] + legend_height)
    fig.legend(handles=handles, loc="lower center", ncol=n_columns, frameon=False)
    fig.tight_layout(rect=(0, legend_height / fig.get_figheight(), 1, 1))
    if title is not None:
        fig.suptitle(title)
        fig.tight_layout(rect=(0, legend_height / fig.get_figheight(), 1, 0.97))
    return fig


# --- training and objective curves ------------------------------------------------------


def _history_columns(history):
    """Turn a dict of sequences or a list of per-iteration dicts into named 1-D arrays."""
    if isinstance(history, dict):
        items = history.items()
    elif isinstance(history, (list, tuple)) and all(isinstance(row, dict) for row in history):
        names = []
        for row in history:
            names.extend(name for name in row if name not in names)
        items = [(name, [row.get(name, np.nan) for row in history]) for name in names]
    else:
        raise ValueError(
            "history must be a dict of per-iteration sequences or a list of per-iteration "
            f"dicts; got {type(history).__name__}."
        )

    columns = {}
    for name, values in items:
        try:
            values = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            continue
        if values.ndim == 1 and values.size:
            columns[str(name)] = values
    return columns


def plot_training_history(history, *, keys=None, log_scale=False, title=None, figsize=None):
    """Draw each loss term of a training history against the iteration, one panel each.

    Parameters
    ----------
    history : dict of str to sequence, or list of dict
        Per-iteration figures, such as ``RealignEmbedder.history_``: either one sequence
        per term, or one dict of terms per iteration. Terms that are not numbers are left
        out, and an ``iteration`` (or ``iter``, ``step``, ``epoch``) entry, when present,
        gives the x values.
    keys : list of str, default=None
        The terms to draw, in order; all numeric terms by default.
    log_scale : bool, default=False
        Whether the y axes are logarithmic (for positive terms).
    title : str, default=None
        The figure title.
    figsize : (float, float), default=None
        The figure size in inches; by default 3.6 wide and 2.6 high per panel.

    Returns
    -------
    fig : :class:`~matplotlib.figure.Figure`

    Raises
    ------
    ValueError
        For a history of another form, one without numeric terms, or a key it lacks.

    Examples
    --------
    >>> from sk_realign.plotting import plot_training_history
    >>> fig = plot_training_history({"loss": [3.0, 2.0, 1.5], "align": [2.0, 1.2, 1.0]})
    >>> [ax.get_title() for ax in fig.axes]
    ['loss', 'align']
    """
    plt = _import_pyplot()
    columns = _history_columns(history)
    x_key = next((key for key in _ITERATION_KEYS if key in columns), None)
    x_values = columns.pop(x_key) if x_key is not None else None
    if keys is None:
        keys = list(columns)
    missing = [key for key in keys if key not in columns]
    if missing:
        raise ValueError(
            f"The history has no numeric term {missing}; it has {sorted(columns)}."
        )
    if not keys:
        raise ValueError("The history has no numeric term to draw.")

    n_columns = min(3, len(keys))
    n_rows = math.ceil(len(keys) / n_columns)
    if figsize is None:
        figsize = (3.6 * n_columns, 2.6 * n_rows + (0.4 if title else 0))
    fig, axes = plt.subplots(n_rows, n_columns, figsize=figsize, squeeze=False)
    for index, key in enumerate(keys):
        ax = axes.flat[index]
        values = columns[key]
        x = x_values if x_values is not None and len(x_values) == len(values) else (
            np.arange(1, len(values) + 1)
        )
        ax.plot(x, values, color="C0", linewidth=1.2, marker="." if len(values) <= 50 else None)
        ax.set_title(key)
        ax.set_xlabel(x_key or "iteration")
        ax.grid(True, alpha=0.3)
        if log_scale:
            ax.set_yscale("log")
    for ax in axes.flat[len(keys):]:
        ax.remove()
    if title is not None:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_objective_history(objective, *, labels=None, ax=None, title=None):
    """Draw the R-FPGWOT objective over the majorisation-minimisation steps.

    Parameters
    ----------
    objective : array-like of float, list of them, or Alignment
        The objective ``J(T)`` after each MM outer step, as in
        ``Alignment.objective_history``; an Alignment is accepted directly. A list of
        such sequences draws one line per pair.
    labels : list of str, default=None
        Legend entries, one per sequence.
    ax : :class:`~matplotlib.axes.Axes`, default=None
        The axes to draw on; a new figure by default.
    title : str, default=None
        The axes title.

    Returns
    -------
    fig : :class:`~matplotlib.figure.Figure`
        The figure of ``ax``, or the new one.

    Raises
    ------
    ValueError
        For an empty sequence or a count of ``labels`` that differs from the count of
        sequences.

    Examples
    --------
    >>> from sk_realign.plotting import plot_objective_history
    >>> fig = plot_objective_history([0.91, 0.62, 0.60, 0.598])
    >>> fig.axes[0].get_xlabel()
    'MM outer step'
    """
    plt = _import_pyplot()
    if hasattr(objective, "objective_history"):
        objective = objective.objective_history
    if isinstance(objective, (str, bytes)) or not hasattr(objective, "__len__"):
        raise ValueError(
            f"objective must be a sequence of values, a list of them or an Alignment; got "
            f"{type(objective).__name__}."
        )
    if isinstance(objective, np.ndarray) and objective.ndim == 1:
        sequences = [objective]
    elif len(objective) and all(isinstance(v, numbers.Real) for v in objective):
        sequences = [objective]
    else:
        sequences = list(objective)
    sequences = [np.asarray(values, dtype=float).ravel() for values in sequences]
    if not sequences or any(values.size == 0 for values in sequences):
        raise ValueError("objective must contain at least one value per sequence.")
    if labels is not None and len(labels) != len(sequences):
        raise ValueError(f"Got {len(labels)} labels for {len(sequences)} objective sequences.")

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
    else:
        fig = ax.figure
    for index, values in enumerate(sequences):
        label = labels[index] if labels is not None else None
        ax.plot(np.arange(1, values.size + 1), values, marker="o", markersize=4, label=label)
    ax.set_xlabel("MM outer step")
    ax.set_ylabel("objective J(T)")
    ax.grid(True, alpha=0.3)
    longest = max(values.size for values in sequences)
    if longest <= 20:
        ax.set_xticks(np.arange(1, longest + 1))
    if labels is not None:
        ax.legend()
    if title is not None:
        ax.set_title(title)
    if ax.figure is fig and fig.get_layout_engine() is None:
        fig.tight_layout()
    return fig
