"""Segmentation of videos into k key steps: step prototypes plus a graph cut per video."""

import logging
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, ClusterMixin, _fit_context
from sklearn.cluster import KMeans, kmeans_plusplus
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from ._graphcut import solve_chain
from ._validation import check_labels, check_videos, sequence_tags
from .metrics import procedure_learning_scores

__all__ = ["KeyStepSegmenter"]

logger = logging.getLogger(__name__)

# The products of frames with k prototypes are thin, so a multithreaded BLAS spends more
# time waking threads than computing. Measured on a busy 2-core machine: 24 ms with two
# OpenBLAS threads against 0.1 ms with one, for 3,350 x 64 by 64 x 5. KMeans limits BLAS
# threads in the same way.
_BLAS_LIMITS = {"limits": 1, "user_api": "blas"}

# Smallest squared distance used in a logarithm, so a frame that sits exactly on a
# prototype gets a large finite membership weight rather than an infinite one.
_TINY_DISTANCE = np.finfo(np.float64).tiny

# Largest absolute feature value accepted. Below it, squared distances and their sums over
# up to 1e100 frame-feature pairs stay under float64's maximum (1.8e308). Far above it they
# overflow to inf, and the graph cut gets no finite cost.
_MAX_ABS_FEATURE = 1e100


def _check_feature_range(videos):
    """Reject features so large that their squared distances overflow float64."""
    for index, video in enumerate(videos):
        largest = float(np.max(np.abs(video)))
        if largest > _MAX_ABS_FEATURE:
            raise ValueError(
                f"Video {index} has a feature of absolute value {largest:.3g}, above the "
                f"{_MAX_ABS_FEATURE:.0e} that KeyStepSegmenter accepts: squared distances "
                "between such frames overflow float64. Scale the features down, for example "
                "with sklearn.preprocessing.StandardScaler fitted on the stacked frames."
            )


def _relative_times(n_frames):
    """Compute the position ``(t + 0.5) / T`` of each frame's midpoint in [0, 1]."""
    return (np.arange(n_frames, dtype=np.float64) + 0.5) / n_frames


def _squared_distances(frames, centers):
    """Squared Euclidean distances of shape (n_frames, n_centers), clipped at 0."""
    distances = (
        np.einsum("ij,ij->i", frames, frames)[:, None]
        - 2.0 * frames @ centers.T
        + np.einsum("ij,ij->i", centers, centers)[None, :]
    )
    return np.maximum(distances, 0.0)


def _neg_log_memberships(squared_distances, fuzziness):
    """Compute ``-log u`` of the fuzzy c-means memberships in the log domain.

    ``u[t, l] = 1 / sum_j (d[t, l] / d[t, j]) ** (2 / (m - 1))`` with ``d`` the Euclidean
    distance, so ``log u[t, l]`` is a log-softmax over ``l`` of ``-log d[t, l]**2 / (m - 1)``.
    This form stays finite when a frame sits on a prototype.
    """
    logits = -np.log(np.maximum(squared_distances, _TINY_DISTANCE)) / (fuzziness - 1.0)
    return logsumexp(logits, axis=1, keepdims=True) - logits


def _flushed_exp(negative_log):
    """Return ``exp(-negative_log)``, with results below 1e-300 set to exactly 0.

    ``exp`` returns subnormal floats between about 1e-308 and 5e-324, and arithmetic on
    them is slow: ``exp``, a power and a product on a 3,350 x 5 array of them took 10 to
    40 times longer than on normal floats (x86_64, NumPy with OpenBLAS).
    """
    small_enough = negative_log < 690.0
    return np.where(small_enough, np.exp(-np.where(small_enough, negative_log, 0.0)), 0.0)


def _fuzzy_cmeans(frames, n_clusters, fuzziness, n_init, max_iter, tol, random_state):
    """Fit fuzzy c-means by alternating membership and centre updates.

    Minimises ``J = sum_{t, l} u[t, l] ** m * ||x_t - c_l|| ** 2`` from ``n_init``
    k-means++ starts and keeps the run of least ``J``. A run stops when the squared
    Frobenius norm of the centre change falls below ``tol`` times the mean variance of
    the features (the convergence test of :class:`~sklearn.cluster.KMeans`).

    Returns the centres, the memberships, the objective and the number of iterations of
    the kept run.
    """
    rng = check_random_state(random_state)
    threshold = tol * float(np.mean(np.var(frames, axis=0)))
    best = None
    not_converged = 0
    for _ in range(n_init):
        seed = rng.randint(np.iinfo(np.int32).max)
        centers, _ = kmeans_plusplus(frames, n_clusters, random_state=seed)
        centers = centers.astype(np.float64)

        converged = False
        for n_iter in range(1, max_iter + 1):
            neg_log = _neg_log_memberships(_squared_distances(frames, centers), fuzziness)
            weights = _flushed_exp(fuzziness * neg_log)
            totals = weights.sum(axis=0)

            # A prototype whose weights all flushed to 0 keeps its place.
            new_centers = centers.copy()
            has_weight = totals > 0
            new_centers[has_weight] = (weights.T[has_weight] @ frames) / totals[has_weight, None]
            shift = float(np.sum((new_centers - centers) ** 2))
            centers = new_centers
            if shift <= threshold:
                converged = True
                break
        not_converged += not converged

        squared = _squared_distances(frames, centers)
        neg_log = _neg_log_memberships(squared, fuzziness)
        memberships = _flushed_exp(neg_log)
        objective = float(np.sum(_flushed_exp(fuzziness * neg_log) * squared))
        if best is None or objective < best[2]:
            best = (centers, memberships, objective, n_iter)

    if not_converged:
        warnings.warn(
            f"Fuzzy c-means did not converge in {not_converged} of {n_init} runs within "
            f"max_iter={max_iter} iterations. Increase max_iter or tol.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return best


class KeyStepSegmenter(ClusterMixin, BaseEstimator):
    """Segment every video into key steps shared by all videos of a task.

    ``fit`` learns ``n_key_steps`` step prototypes over the frames of all training videos
    (k-means or fuzzy c-means). ``predict`` then labels the frames of each video by
    minimising, over the chain of its frames, the energy

    .. math::

        E(l) = \\sum_t \\Big( U[t, l_t] + w_{time} \\, |\\tau_t - \\mu_{l_t}| \\Big)
               + s \\sum_{t \\geq 1} [l_t \\neq l_{t-1}],

    where :math:`\\tau_t = (t + 0.5) / T` is the relative position of frame ``t`` in a video
    of ``T`` frames, :math:`\\mu_l` the mean relative position of prototype ``l``'s frames
    in training (``prototype_times_``), :math:`w_{time}` the ``temporal_weight`` and
    :math:`s` the ``smoothness``. The data cost is :math:`U = D / \\bar D`, where
    :math:`D` depends on the prototype model:

    - ``"kmeans"``: :math:`D[t, l] = \\|x_t - c_l\\|^2`, the squared distance of frame
      :math:`x_t` to centre :math:`c_l`;
    - ``"fuzzy-cmeans"``: :math:`D[t, l] = -\\log u_{tl}`, the negative log of the fuzzy
      c-means membership
      :math:`u_{tl} = 1 / \\sum_j (\\|x_t - c_l\\| / \\|x_t - c_j\\|)^{2 / (m - 1)}` with
      :math:`m` the ``fuzziness``;

    and :math:`\\bar D` (``unary_scale_``) is the mean, over the training frames, of the
    margin :math:`\\operatorname{mean}_l D[t, l] - \\min_l D[t, l]` of a frame's best
    prototype over an average one. In these units :math:`s` and :math:`w_{time}` mean
    the same whatever the scale of the features or the prototype model: a smoothness of
    20 lets a change of step happen when it saves about 20 frames' worth of the typical
    margin.

    Parameters
    ----------
    n_key_steps : int, default=7
        Number ``k`` of key steps (prototypes), the same for every video. A video may use
        fewer of them, and a video shorter than ``k`` frames is labelled as any other.
    prototypes : {"kmeans", "fuzzy-cmeans"}, default="kmeans"
        How the step prototypes are learned: :class:`~sklearn.cluster.KMeans`, or fuzzy
        c-means (k-means++ starts, implemented here) whose memberships give the data cost.
    smoothness : float, default=20.0
        Cost :math:`s >= 0` of each change of key step between consecutive frames, in
        units of :math:`\\bar D`. 0 labels each frame on its own. Larger values give
        fewer, longer segments; the right value grows with the frame rate. See Notes for
        how the default was chosen.
    solver : {"exact", "alpha-expansion"}, default="exact"
        ``"exact"``: the minimum-energy labelling of the chain by dynamic programming,
        ``O(T k)``. ``"alpha-expansion"``: the alpha-expansion graph cut of gco-wrapper,
        the method of the procedure-learning literature, whose energy on chains of 300
        frames or more came within 2% of the minimum in every test (usually within 0.1%).
        On short chains of random costs it came up to 20% above the minimum, and with a
        ``smoothness`` about 1e6 times the data cost far more (see
        :func:`~sk_realign._graphcut.solve_chain_alpha_expansion`). The exact solver
        is the default because it always reaches the minimum and never calls gco-wrapper,
        at most 0.1 s slower on 20,000 frames (see Notes).
    temporal_weight : float, default=10.0
        Weight :math:`w_{time} >= 0` of the temporal term, in units of :math:`\\bar D`,
        which favours the key steps whose training frames lay at the same relative
        position in their videos; 0 turns it off. See Notes for how it was chosen.
    fuzziness : float, default=1.1
        Fuzzifier :math:`m > 1` of fuzzy c-means; larger values give softer memberships.
        Used only when ``prototypes="fuzzy-cmeans"``. The common choice :math:`m = 2`
        collapses all prototypes towards the mean of the 64-d Breakfast features
        (task-level F1 0.27), and :math:`m = 1.5` does too; 1.1 keeps them apart.
    n_init : int, default=10
        Number of seeded starts of k-means or fuzzy c-means; the run of least objective
        is kept.
    max_iter : int, default=300
        Maximum number of iterations of one k-means or fuzzy c-means run.
    tol : float, default=1e-4
        Relative tolerance on the change of the prototypes between two iterations, as in
        :class:`~sklearn.cluster.KMeans`.
    scoring_protocol : {"per-video", "task"}, default="per-video"
        Protocol whose F1 :meth:`score` returns: one Hungarian matching per video, the
        protocol of the procedure-learning literature, or one matching over all videos
        (see :mod:`sk_realign.metrics`).
    random_state : int, RandomState instance or None, default=None
        Seeds the k-means or fuzzy c-means starts. Pass an int for results that are the
        same from run to run.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_key_steps, n_features)
        The step prototypes.
    prototype_times_ : ndarray of shape (n_key_steps,)
        Mean relative position :math:`\\mu_l` in [0, 1] of the training frames of each
        prototype: frames nearest to it for k-means, frames weighted by
        :math:`u_{tl}^m` for fuzzy c-means. A k-means prototype with no frames gets 0.5.
    unary_scale_ : float
        The unit :math:`\\bar D` of the data cost (1.0 when every training frame has the
        same cost for every prototype).
    labels_ : list of ndarray of shape (T_i,), dtype int64
        Key step of every frame of every training video, as ``predict`` would give.
    n_iter_ : int
        Number of iterations of the kept k-means or fuzzy c-means run.
    n_features_in_ : int
        Number of features per frame seen in ``fit``.

    See Also
    --------
    sk_realign.metrics.procedure_learning_scores : The scores behind :meth:`score`.
    sk_realign.metrics.uniform_segmentation : The baseline to compare against.

    Notes
    -----
    The defaults were chosen on the five bundled Breakfast coffee videos (raw 64-d
    features, 3,350 frames at 15 frames per second, ``n_key_steps=5``, k-means, the
    mean of seeds 0 to 4), first over ``smoothness`` in {0, 2, 5, 10, 20, 50, 100} and
    ``temporal_weight`` in {0, 1, 3, 10}, then around the best. Smoothness helped: with
    no temporal term, per-video F1 rose from 0.54 at ``smoothness=0`` to 0.73 at 20.
    At ``smoothness=20``, ``temporal_weight=10`` gave the best task-level F1 (0.52 +/-
    0.04 against 0.48 at 0 and 3), task IoU, frame accuracy and per-video IoU, at the
    cost of per-video F1 (0.72 against 0.74 at 3); 30 was worse on every score. Most of
    these differences are within the +/- 0.03 spread across seeds. A uniform split of
    each video into 5 parts scores F1 0.71 per video and 0.58 at task level: on raw
    features this segmenter matches it per video and stays below it at task level.
    Five videos of one task are little to tune on, so choose ``n_key_steps``,
    ``smoothness`` and ``temporal_weight`` for other data with
    :class:`~sklearn.model_selection.GridSearchCV`, whose scorer is :meth:`score`.

    On one video of 20,000 frames with ``n_key_steps=20`` (2 shared CPU cores,
    ``benchmarks/bench_segmenter.py``), the exact solver took 0.04 to 0.10 s and
    alpha-expansion 0.03 to 0.06 s, 1.3 to 1.8 times faster, with the same energy.

    gco-wrapper aborts the Python process on some inputs. The costs are therefore checked
    to be finite before any call, and one key step, one-frame videos and
    ``smoothness=0`` are solved without it.

    References
    ----------
    .. [1] Y. Boykov, O. Veksler and R. Zabih, "Fast Approximate Energy Minimization via
       Graph Cuts", IEEE TPAMI 23(11), 2001.
    .. [2] J. C. Bezdek, "Pattern Recognition with Fuzzy Objective Function Algorithms",
       Plenum Press, 1981.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_realign import KeyStepSegmenter
    >>> rng = np.random.default_rng(0)
    >>> steps = np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0]])
    >>> videos = [np.repeat(steps, n, axis=0) + rng.normal(0, 0.5, (3 * n, 2))
    ...           for n in (10, 12)]
    >>> segmenter = KeyStepSegmenter(n_key_steps=3, smoothness=1.0, random_state=0)
    >>> segmenter = segmenter.fit(videos)
    >>> labels = segmenter.predict(videos)
    >>> [len(np.unique(video_labels)) for video_labels in labels]
    [3, 3]
    >>> segmenter.score(videos, [np.repeat([0, 1, 2], n) for n in (10, 12)])
    1.0
    """

    _parameter_constraints: dict = {
        "n_key_steps": [Interval(Integral, 1, None, closed="left")],
        "prototypes": [StrOptions({"kmeans", "fuzzy-cmeans"})],
        "smoothness": [Interval(Real, 0, None, closed="left")],
        "solver": [StrOptions({"exact", "alpha-expansion"})],
        "temporal_weight": [Interval(Real, 0, None, closed="left")],
        "fuzziness": [Interval(Real, 1, None, closed="neither")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "scoring_protocol": [StrOptions({"per-video", "task"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_key_steps=7,
        *,
        prototypes="kmeans",
        smoothness=20.0,
        solver="exact",
        temporal_weight=10.0,
        fuzziness=1.1,
        n_init=10,
        max_iter=300,
        tol=1e-4,
        scoring_protocol="per-video",
        random_state=None,
    ):
        self.n_key_steps = n_key_steps
        self.prototypes = prototypes
        self.smoothness = smoothness
        self.solver = solver
        self.temporal_weight = temporal_weight
        self.fuzziness = fuzziness
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.scoring_protocol = scoring_protocol
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        return sequence_tags(tags)

    def _check_finite_weights(self):
        """Reject inf weights, which the interval constraints let through."""
        for name in ("smoothness", "temporal_weight"):
            value = getattr(self, name)
            if not np.isfinite(value):
                raise ValueError(
                    f"{name} must be a finite number >= 0. Got {value!r} instead; "
                    "use a large finite value to make the term dominate."
                )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the key-step prototypes from the frames of all videos.

        Parameters
        ----------
        X : list of ndarray of shape (T_i, n_features)
            Per-frame features or embeddings of each video (any form accepted by
            :func:`~sk_realign._validation.check_videos`).
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        self : KeyStepSegmenter
            The fitted segmenter.
        """
        self._check_finite_weights()
        if isinstance(self.n_key_steps, bool):
            raise ValueError(
                f"n_key_steps must be an int >= 1, not a bool. Got {self.n_key_steps!r} "
                "instead."
            )
        videos = check_videos(X, estimator=self)
        _check_feature_range(videos)
        lengths = [video.shape[0] for video in videos]
        n_frames = sum(lengths)
        if self.n_key_steps > n_frames:
            raise ValueError(
                f"n_key_steps={self.n_key_steps} is larger than the {n_frames} frames of "
                f"the {len(videos)} training video(s); each key step needs at least one "
                "frame. Lower n_key_steps or give more frames."
            )

        frames = np.concatenate(videos).astype(np.float64, copy=False)
        times = np.concatenate([_relative_times(length) for length in lengths])
        k = self.n_key_steps

        # Prototypes, and the weight of each frame in each prototype's mean time.
        if self.prototypes == "kmeans":
            kmeans = KMeans(
                n_clusters=k,
                n_init=self.n_init,
                max_iter=self.max_iter,
                tol=self.tol,
                random_state=self.random_state,
            ).fit(frames)
            centers = kmeans.cluster_centers_
            self.n_iter_ = int(kmeans.n_iter_)
            weights = np.zeros((n_frames, k))
            weights[np.arange(n_frames), kmeans.labels_] = 1.0
        else:
            with threadpool_limits(**_BLAS_LIMITS):
                centers, memberships, _, n_iter = _fuzzy_cmeans(
                    frames,
                    k,
                    self.fuzziness,
                    self.n_init,
                    self.max_iter,
                    self.tol,
                    self.random_state,
                )
            self.n_iter_ = int(n_iter)
            weights = memberships**self.fuzziness

        # The mean margin of the best prototype over an average one sets the unit of the
        # data cost, so smoothness and temporal_weight mean the same for any features.
        self.cluster_centers_ = centers
        with threadpool_limits(**_BLAS_LIMITS):
            data_cost = self._data_cost(frames)
        margin = float(np.mean(data_cost.mean(axis=1) - data_cost.min(axis=1)))
        self.unary_scale_ = margin if margin > 0.0 else 1.0

        totals = weights.sum(axis=0)
        self.prototype_times_ = np.full(k, 0.5)
        np.divide(weights.T @ times, totals, out=self.prototype_times_, where=totals > 0)
        self.n_features_in_ = frames.shape[1]

        with threadpool_limits(**_BLAS_LIMITS):
            self.labels_ = [self._segment(video) for video in videos]
        logger.debug(
            "[KeyStepSegmenter] fitted %d prototypes on %d frames of %d videos",
            k, n_frames, len(videos),
        )
        return self

    def _data_cost(self, frames):
        """Return the unscaled data cost of each frame for each prototype."""
        # NOTE: prototypes and fuzziness are read from the parameters, so changing either
        # after fit without refitting mixes the new cost with the old unary_scale_.
        squared = _squared_distances(
            np.asarray(frames, dtype=np.float64), self.cluster_centers_
        )
        if self.prototypes == "kmeans":
            return squared
        return _neg_log_memberships(squared, self.fuzziness)

    def _unary(self, video):
        """Return the scaled data cost plus the temporal term, shape (T, n_key_steps)."""
        unary = self._data_cost(video) / self.unary_scale_
        if self.temporal_weight > 0:
            times = _relative_times(video.shape[0])
            unary = unary + self.temporal_weight * np.abs(
                times[:, None] - self.prototype_times_[None, :]
            )
        return unary

    def _segment(self, video):
        return solve_chain(self._unary(video), float(self.smoothness), solver=self.solver)

    def predict(self, X):
        """Label every frame of every video with its key step.

        Parameters
        ----------
        X : list of ndarray of shape (T_i, n_features)
            Per-frame features of each video, with the feature size seen in ``fit``.

        Returns
        -------
        labels : list of ndarray of shape (T_i,), dtype int64
            Key step in ``[0, n_key_steps)`` of every frame. An id is the same prototype
            in every video.
        """
        check_is_fitted(self)
        self._check_finite_weights()
        videos = check_videos(X, n_features=self.n_features_in_, estimator=self)
        _check_feature_range(videos)
        with threadpool_limits(**_BLAS_LIMITS):
            return [self._segment(video) for video in videos]

    def fit_predict(self, X, y=None):
        """Fit the prototypes on ``X`` and label every frame of every video of ``X``.

        Parameters
        ----------
        X : list of ndarray of shape (T_i, n_features)
            Per-frame features of each video.
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        labels : list of ndarray of shape (T_i,), dtype int64
            ``labels_``, the key step of every frame.
        """
        return self.fit(X).labels_

    def score(self, X, y):
        """Return the F1 of the segmentation of ``X`` against the per-frame labels ``y``.

        The protocol is ``scoring_protocol``. With ``"per-video"``, the F1 of the
        procedure-learning literature, each video gets its own Hungarian matching,
        background is a class, and only matched pairs count. With ``"task"``, one
        matching covers all videos and every class counts. See
        :func:`sk_realign.metrics.procedure_learning_scores`.

        Parameters
        ----------
        X : list of ndarray of shape (T_i, n_features)
            Per-frame features of each video.
        y : list of array-like of shape (T_i,)
            Ground-truth label of every frame (integers, 0 for background, or names).

        Returns
        -------
        score : float
            F1 in [0, 1]; higher is better.
        """
        check_is_fitted(self)
        labels_pred = self.predict(X)
        labels_true = check_labels(y, lengths=[labels.shape[0] for labels in labels_pred])
        scores = procedure_learning_scores(
            labels_true, labels_pred, protocol=self.scoring_protocol
        )
        return scores.f1
