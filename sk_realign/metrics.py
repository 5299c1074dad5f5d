"""Hungarian-matched precision, recall, F1 and IoU of unsupervised key-step segmentations.

An unsupervised segmenter labels frames with cluster ids that carry no names. Each score
therefore first matches clusters to ground-truth classes one to one with the Hungarian
algorithm (:func:`scipy.optimize.linear_sum_assignment`). The matching maximises the
number of frames on which a cluster and its class agree. Background (label 0, or a name such as ``"SIL"``)
is a class like any other in both protocols, as in the procedure-learning literature.

Two protocols differ in where the matching is done and in what counts:

- :func:`per_video_scores`, the protocol of the procedure-learning literature: one
  matching per video; only matched pairs count. It is lenient, because a cluster may mean
  different steps in different videos and a step that no cluster covers is never counted.
- :func:`task_scores`: one matching over all frames of all videos of the task, so a
  cluster must mean the same step in every video; every ground-truth class counts, and an
  unmatched one scores zero. It also gives the frame accuracy after matching (MoF).

:func:`procedure_learning_scores` dispatches on the protocol's name, and
:func:`uniform_segmentation` builds the baseline that splits every video into ``k`` equal
parts. On the bundled Breakfast coffee videos the uniform split into 5 parts scores F1
0.713 under the per-video protocol and 0.577 under the task protocol.
"""

import numbers

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.utils import Bunch

from ._validation import check_labels, check_videos

__all__ = [
    "PROTOCOLS",
    "per_video_scores",
    "procedure_learning_scores",
    "task_scores",
    "uniform_segmentation",
]

#: Names of the scoring protocols.
PROTOCOLS = ("per-video", "task")


def _check_pair(y_true, y_pred):
    """Check two lists of per-frame labels against each other and return them as int64."""
    y_true = check_labels(y_true)
    if isinstance(y_pred, np.ndarray) and y_pred.ndim == 1 and y_pred.dtype != object:
        raise ValueError(
            f"y_pred is a single 1-D array of shape {y_pred.shape}; expected a list with one "
            "label array per video. Wrap it in a list: [labels]."
        )
    if not isinstance(y_pred, (list, tuple, np.ndarray)):
        raise ValueError(
            f"y_pred must be a list of per-frame label arrays, one per video; got "
            f"{type(y_pred).__name__}."
        )
    if len(y_pred) != len(y_true):
        raise ValueError(
            f"y_true has {len(y_true)} videos but y_pred has {len(y_pred)}. Give one "
            "predicted label array per video, in the same order."
        )
    for index, (truth, prediction) in enumerate(zip(y_true, y_pred)):
        if np.shape(prediction) != truth.shape:
            raise ValueError(
                f"Video {index} has {truth.shape[0]} true labels but y_pred has shape "
                f"{np.shape(prediction)}. Give exactly one predicted label per frame."
            )
    y_pred = check_labels(y_pred)
    if not y_true:
        raise ValueError("y_true has no videos; pass at least one labelled video.")
    for index, truth in enumerate(y_true):
        if truth.size == 0:
            raise ValueError(
                f"Video {index} has no frames, so it has no score. Drop it from y_true and "
                "y_pred."
            )
    return y_true, y_pred


def _overlap_counts(truth, prediction):
    """Count the frames of each (cluster, class) pair.

    Returns the clusters present, the classes present, and the ``(n_clusters,
    n_classes)`` matrix whose entry ``[c, g]`` is the number of frames predicted ``c`` and
    labelled ``g``.
    """
    clusters, cluster_index = np.unique(prediction, return_inverse=True)
    classes, class_index = np.unique(truth, return_inverse=True)
    counts = np.zeros((clusters.size, classes.size), dtype=np.int64)
    np.add.at(counts, (cluster_index, class_index), 1)
    return clusters, classes, counts


def _match(counts):
    """Match clusters (rows) to classes (columns) maximising the total overlap."""
    rows, columns = linear_sum_assignment(counts, maximize=True)
    return rows, columns


def _ratio(numerator, denominator):
    """Divide elementwise, with 0 / 0 read as 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _f1(precision, recall):
    """Harmonic mean of precision and recall, 0 when both are 0."""
    return float(_ratio(2.0 * precision * recall, precision + recall))


def per_video_scores(y_true, y_pred):
    """Score a segmentation with the per-video protocol of procedure learning.

    For each video ``v`` separately, the clusters present in its prediction are matched
    one to one to the classes present in its ground truth (background included) by the
    Hungarian algorithm, maximising the total overlap
    :math:`\\sum_{(c, g) \\in M_v} |P_c \\cap G_g|`, where :math:`P_c` is the set of
    frames of ``v`` predicted as cluster ``c`` and :math:`G_g` the set labelled class ``g``.
    The matching :math:`M_v` has :math:`\\min(\\#\\text{clusters}, \\#\\text{classes})`
    pairs; unmatched clusters and classes are not counted. Then

    .. math::

        P_v = \\frac{1}{|M_v|} \\sum_{(c, g) \\in M_v} \\frac{|P_c \\cap G_g|}{|P_c|},
        \\quad
        R_v = \\frac{1}{|M_v|} \\sum_{(c, g) \\in M_v} \\frac{|P_c \\cap G_g|}{|G_g|},
        \\quad
        IoU_v = \\frac{1}{|M_v|} \\sum_{(c, g) \\in M_v}
                \\frac{|P_c \\cap G_g|}{|P_c \\cup G_g|},

    and over the :math:`V` videos

    .. math::

        P = \\frac{1}{V} \\sum_v P_v, \\quad R = \\frac{1}{V} \\sum_v R_v, \\quad
        F_1 = \\frac{2 P R}{P + R}, \\quad IoU = \\frac{1}{V} \\sum_v IoU_v .

    Parameters
    ----------
    y_true : list of array-like of shape (T_i,)
        Ground-truth label of every frame of every video: non-negative integers or
        strings (see :func:`~sk_realign._validation.check_labels`).
    y_pred : list of array-like of shape (T_i,)
        Predicted cluster id of every frame, non-negative integers.

    Returns
    -------
    scores : :class:`~sklearn.utils.Bunch`
        With the fields ``protocol`` (``"per-video"``), ``precision``, ``recall``, ``f1``
        and ``iou`` (floats, the aggregates above), and ``per_video``, a Bunch of arrays
        of shape (n_videos,): ``precision``, ``recall``, ``iou`` (:math:`P_v, R_v,
        IoU_v`), ``f1`` (:math:`2 P_v R_v / (P_v + R_v)`) and ``n_matched``
        (:math:`|M_v|`); and ``matching``, one dict per video from each matched cluster
        id to its class id.

    See Also
    --------
    task_scores : One matching for all videos; every class counts.
    procedure_learning_scores : Either protocol by name.

    Notes
    -----
    Because every video gets its own matching, a segmenter whose cluster 3 means
    "pour milk" in one video and "take cup" in another is not penalised, and a class that
    no cluster covers is simply left out. A video labelled with a single class and
    predicted as a single cluster always scores precision 1.

    Examples
    --------
    >>> import numpy as np
    >>> y_true = [np.array([0, 0, 1, 1, 1, 2])]
    >>> y_pred = [np.array([5, 5, 5, 7, 7, 7])]
    >>> scores = per_video_scores(y_true, y_pred)
    >>> round(scores.precision, 4), round(scores.recall, 4), round(scores.iou, 4)
    (0.6667, 0.8333, 0.5833)
    """
    y_true, y_pred = _check_pair(y_true, y_pred)

    n_videos = len(y_true)
    precision = np.zeros(n_videos)
    recall = np.zeros(n_videos)
    iou = np.zeros(n_videos)
    n_matched = np.zeros(n_videos, dtype=np.int64)
    matching = []
    for index, (truth, prediction) in enumerate(zip(y_true, y_pred)):
        clusters, classes, counts = _overlap_counts(truth, prediction)
        rows, columns = _match(counts)
        overlap = counts[rows, columns]
        cluster_sizes = counts.sum(axis=1)[rows]
        class_sizes = counts.sum(axis=0)[columns]

        precision[index] = _ratio(overlap, cluster_sizes).mean()
        recall[index] = _ratio(overlap, class_sizes).mean()
        iou[index] = _ratio(overlap, cluster_sizes + class_sizes - overlap).mean()
        n_matched[index] = rows.size
        matching.append(
            {int(clusters[r]): int(classes[c]) for r, c in zip(rows, columns)}
        )

    per_video_f1 = _ratio(2.0 * precision * recall, precision + recall)
    mean_precision = float(precision.mean())
    mean_recall = float(recall.mean())
    return Bunch(
        protocol="per-video",
        precision=mean_precision,
        recall=mean_recall,
        f1=_f1(mean_precision, mean_recall),
        iou=float(iou.mean()),
        per_video=Bunch(
            precision=precision, recall=recall, f1=per_video_f1, iou=iou, n_matched=n_matched
        ),
        matching=matching,
    )


def task_scores(y_true, y_pred):
    """Score a segmentation with one matching over all videos of a task.

    The clusters present anywhere in ``y_pred`` are matched one to one to the classes
    present anywhere in ``y_true`` (background included) by the Hungarian algorithm on the
    overlap counts summed over all frames of all videos, maximising
    :math:`\\sum_{(c, g) \\in M} |P_c \\cap G_g|`, where :math:`P_c` is now the set of
    frames of all videos predicted as cluster ``c`` and :math:`G_g` the set labelled class
    ``g``. Every class :math:`g` of the set :math:`\\mathcal{G}` of classes present
    counts: a class matched to cluster :math:`\\sigma(g)` scores

    .. math::

        P_g = \\frac{|P_{\\sigma(g)} \\cap G_g|}{|P_{\\sigma(g)}|}, \\quad
        R_g = \\frac{|P_{\\sigma(g)} \\cap G_g|}{|G_g|}, \\quad
        IoU_g = \\frac{|P_{\\sigma(g)} \\cap G_g|}{|P_{\\sigma(g)} \\cup G_g|},

    an unmatched class (more classes than clusters) scores :math:`P_g = R_g = IoU_g = 0`,
    and

    .. math::

        P = \\frac{1}{|\\mathcal{G}|} \\sum_g P_g, \\quad
        R = \\frac{1}{|\\mathcal{G}|} \\sum_g R_g, \\quad
        F_1 = \\frac{2 P R}{P + R}, \\quad
        IoU = \\frac{1}{|\\mathcal{G}|} \\sum_g IoU_g, \\quad
        MoF = \\frac{\\sum_{(c, g) \\in M} |P_c \\cap G_g|}{\\#\\text{frames}} .

    Parameters
    ----------
    y_true : list of array-like of shape (T_i,)
        Ground-truth label of every frame of every video: non-negative integers or
        strings (see :func:`~sk_realign._validation.check_labels`).
    y_pred : list of array-like of shape (T_i,)
        Predicted cluster id of every frame, non-negative integers. A cluster id must mean
        the same thing in every video.

    Returns
    -------
    scores : :class:`~sklearn.utils.Bunch`
        With the fields ``protocol`` (``"task"``), ``precision``, ``recall``, ``f1``,
        ``iou`` and ``mof`` (floats, the aggregates above); ``classes``, the class ids of
        :math:`\\mathcal{G}`, and ``per_class``, a Bunch of arrays aligned with
        ``classes``: ``precision``, ``recall``, ``iou`` and ``cluster`` (the matched
        cluster id, -1 when unmatched); ``matching``, the dict from each matched cluster
        id to its class id; and ``per_video``, a Bunch of arrays of shape (n_videos,):
        ``precision``, ``recall``, ``f1``, ``iou`` and ``mof``, the same figures computed
        on each video's frames with the task's matching, averaged over the classes present
        in that video (a matched cluster absent from the video gives precision 0).

    See Also
    --------
    per_video_scores : One matching per video; only matched pairs count.
    procedure_learning_scores : Either protocol by name.

    Notes
    -----
    This protocol is stricter than :func:`per_video_scores`: a segmenter must use the same
    cluster for the same step in every video, and a step that no cluster covers lowers
    recall and precision alike.

    Examples
    --------
    >>> import numpy as np
    >>> y_true = [np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2])]
    >>> y_pred = [np.array([0, 1, 1, 2]), np.array([0, 1, 1, 2])]
    >>> scores = task_scores(y_true, y_pred)
    >>> scores.mof, round(scores.precision, 4), round(scores.recall, 4)
    (0.875, 0.9167, 0.8889)
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    all_truth = np.concatenate(y_true)
    all_prediction = np.concatenate(y_pred)

    # One matching on the counts of all frames of all videos.
    clusters, classes, counts = _overlap_counts(all_truth, all_prediction)
    rows, columns = _match(counts)
    matched_cluster = np.full(classes.size, -1, dtype=np.int64)
    matched_cluster[columns] = clusters[rows]

    overlap = np.zeros(classes.size)
    cluster_sizes = np.zeros(classes.size)
    overlap[columns] = counts[rows, columns]
    cluster_sizes[columns] = counts.sum(axis=1)[rows]
    class_sizes = counts.sum(axis=0)
    class_precision = _ratio(overlap, cluster_sizes)
    class_recall = _ratio(overlap, class_sizes)
    class_iou = _ratio(overlap, cluster_sizes + class_sizes - overlap)
    precision = float(class_precision.mean())
    recall = float(class_recall.mean())

    # The same matching applied to each video's frames.
    n_videos = len(y_true)
    video_figures = {name: np.zeros(n_videos) for name in ("precision", "recall", "iou", "mof")}
    for index, (truth, prediction) in enumerate(zip(y_true, y_pred)):
        present = np.unique(truth)
        position = np.searchsorted(classes, present)
        cluster_of = matched_cluster[position]
        is_class = truth[:, None] == present[None, :]
        is_cluster = prediction[:, None] == cluster_of[None, :]
        video_overlap = np.count_nonzero(is_class & is_cluster, axis=0)
        video_cluster_sizes = np.count_nonzero(is_cluster, axis=0)
        video_class_sizes = np.count_nonzero(is_class, axis=0)
        union = video_cluster_sizes + video_class_sizes - video_overlap
        video_figures["precision"][index] = _ratio(video_overlap, video_cluster_sizes).mean()
        video_figures["recall"][index] = _ratio(video_overlap, video_class_sizes).mean()
        video_figures["iou"][index] = _ratio(video_overlap, union).mean()
        video_figures["mof"][index] = video_overlap.sum() / truth.size
    video_figures["f1"] = _ratio(
        2.0 * video_figures["precision"] * video_figures["recall"],
        video_figures["precision"] + video_figures["recall"],
    )

    return Bunch(
        protocol="task",
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        iou=float(class_iou.mean()),
        mof=float(counts[rows, columns].sum() / all_truth.size),
        classes=classes,
        per_class=Bunch(
            precision=class_precision,
            recall=class_recall,
            iou=class_iou,
            cluster=matched_cluster,
        ),
        matching={int(clusters[r]): int(classes[c]) for r, c in zip(rows, columns)},
        per_video=Bunch(**video_figures),
    )


def procedure_learning_scores(y_true, y_pred, *, protocol="per-video"):
    """Score a key-step segmentation under the named protocol.

    Parameters
    ----------
    y_true : list of array-like of shape (T_i,)
        Ground-truth label of every frame of every video.
    y_pred : list of array-like of shape (T_i,)
        Predicted cluster id of every frame.
    protocol : {"per-video", "task"}, default="per-video"
        :func:`per_video_scores` (one Hungarian matching per video, only matched pairs
        count) or :func:`task_scores` (one matching for all videos, every class counts,
        with MoF).

    Returns
    -------
    scores : :class:`~sklearn.utils.Bunch`
        The result of the chosen function; ``scores.f1`` is the headline figure.

    Examples
    --------
    >>> import numpy as np
    >>> y_true = [np.array([0, 0, 1, 1, 1, 1]), np.array([0, 1, 1, 1])]
    >>> y_pred = [np.array([1, 1, 0, 0, 0, 0]), np.array([0, 1, 1, 1])]
    >>> procedure_learning_scores(y_true, y_pred, protocol="per-video").f1
    1.0
    >>> procedure_learning_scores(y_true, y_pred, protocol="task").mof
    0.6
    """
    if protocol == "per-video":
        return per_video_scores(y_true, y_pred)
    if protocol == "task":
        return task_scores(y_true, y_pred)
    raise ValueError(f"protocol must be one of {PROTOCOLS}. Got {protocol!r} instead.")


def uniform_segmentation(lengths, n_segments):
    """Split every video into ``n_segments`` parts of equal length, the baseline to beat.

    Frame ``t`` of a video of ``T`` frames gets the label ``floor(t * n_segments / T)``,
    so part ``j`` covers frames ``ceil(j T / n_segments)`` to
    ``ceil((j + 1) T / n_segments) - 1``, and part ``j`` is the same label in every video.
    A video shorter than ``n_segments`` frames gets one frame in each of ``T`` parts.

    Parameters
    ----------
    lengths : sequence of int or sequence of array-like
        The number of frames of each video, or the videos (or label arrays) themselves,
        whose ``len`` is used. A NaN-padded ``(n_videos, T_max, d)`` array gives the
        lengths without padding.
    n_segments : int
        Number of parts ``k >= 1``.

    Returns
    -------
    labels : list of ndarray of shape (T_i,), dtype int64
        The part of every frame, in ``[0, n_segments)``.

    Examples
    --------
    >>> uniform_segmentation([5, 3], 2)
    [array([0, 0, 0, 1, 1]), array([0, 0, 1])]
    """
    if isinstance(n_segments, bool) or not isinstance(n_segments, numbers.Integral) or (
        n_segments < 1
    ):
        raise ValueError(
            f"n_segments must be an int in the range [1, inf). Got {n_segments!r} instead."
        )
    # A feature array of one video, or a NaN-padded array of videos, would otherwise be
    # read row by row as the videos themselves.
    if isinstance(lengths, np.ndarray) and lengths.ndim > 1:
        lengths = check_videos(lengths, min_frames=0, estimator="uniform_segmentation")
    if isinstance(lengths, (str, bytes)) or not hasattr(lengths, "__len__"):
        raise ValueError(
            f"lengths must be a sequence of frame counts or of videos; got "
            f"{type(lengths).__name__}."
        )

    labels = []
    for index, length in enumerate(lengths):
        if isinstance(length, numbers.Real) and not (
            isinstance(length, numbers.Integral) and not isinstance(length, bool)
        ):
            raise ValueError(
                f"Video {index} has the length {length!r}; expected an int number of frames "
                "or the video itself."
            )
        if not isinstance(length, numbers.Integral):
            length = len(length)
        if length < 0:
            raise ValueError(f"Video {index} has the negative length {length}.")
        frames = np.arange(length, dtype=np.int64)
        labels.append(frames * int(n_segments) // max(int(length), 1))
    return labels
