"""The self-supervised frame embedder trained with the R-FPGWOT alignment loss."""

import copy
import logging
import numbers
import os
import time
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._validation import check_videos, sequence_tags
from .aligner import RFPGWOT_PARAMETER_CONSTRAINTS
from .exceptions import EmbeddingCollapseWarning
from .nn import (
    FeatureEncoder,
    FrameEncoder,
    cidm_loss,
    context_indices,
    inter_contrastive_loss,
    pairwise_cost,
    reset_parameters,
    rfpgwot_loss,
)
from .nn._encoders import set_dropout_generator

__all__ = ["RealignEmbedder"]

_logger = logging.getLogger(__name__)

_N_CONTEXT = 2


def _resolve_device(device, *, fitting):
    """Return the torch device for ``device`` ("cpu", "cuda" or "auto")."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        if fitting:
            raise ValueError(
                "device='cuda' was requested, but torch finds no CUDA device. Use "
                "device='cpu', or device='auto' to take CUDA only when it is there."
            )
        warnings.warn(
            "This RealignEmbedder was set to device='cuda', but torch finds no CUDA device; "
            "embedding on the CPU instead.",
            UserWarning,
            stacklevel=3,
        )
        return torch.device("cpu")
    return torch.device(device)


def _read_frames(path, fps, size):
    """Decode a video file to an array of RGB frames with :mod:`sk_realign.io`."""
    try:
        from .io import read_video
    except ImportError as error:
        raise ImportError(
            f"Decoding the video file {str(path)!r} needs sk_realign.io, which could not be "
            f"imported ({error}). Install the video extra (PyAV) or pass decoded frames of "
            "shape (T, H, W, 3) instead of paths."
        ) from error
    return read_video(path, fps=fps, size=size)


def _sample_frame_indices(length, n_frames, generator):
    """Draw one random frame from each of ``n_frames`` equal chunks of ``[0, length)``.

    The indices come out sorted. A video shorter than ``n_frames`` gives repeated
    indices, so every video yields the same number of frames and pairs batch together.
    """
    offsets = torch.rand(n_frames, generator=generator, dtype=torch.float64)
    starts = torch.arange(n_frames, dtype=torch.float64)
    indices = torch.floor((starts + offsets) * length / n_frames).long()
    return indices.clamp_(0, length - 1)


def _chunk_centre_indices(length, n_frames):
    """Pick the middle frame of each of ``n_frames`` equal chunks (the held-out sample)."""
    starts = torch.arange(n_frames, dtype=torch.float64)
    return torch.floor((starts + 0.5) * length / n_frames).long().clamp_(0, length - 1)


class RealignEmbedder(TransformerMixin, BaseEstimator):
    r"""Self-supervised per-frame embedding trained by aligning videos of one task.

    An encoder (:class:`~sk_realign.nn.FeatureEncoder` for per-frame features,
    :class:`~sk_realign.nn.FrameEncoder` for RGB frames or video files) maps every frame,
    with the frame ``context_stride`` frames before it, to an ``embedding_dim`` vector.
    Training takes random pairs of videos, samples ``n_frames`` frames from each (one
    random frame per equal-length chunk, in temporal order), solves the R-FPGWOT transport
    plan :math:`T^*` between their embeddings (:func:`sk_realign.ot.solve_rfpgwot`) and
    minimises with Adam

    .. math::

        L = (1 - \rho) \langle \tilde C(x, y), T^* \rangle
            + \lambda_{idm} \frac{\mathrm{CIDM}(x) + \mathrm{CIDM}(y)}{2}
            + \lambda_{inter} L_{inter}(x, y; T^*)

    where :math:`\tilde C` is the feature cost with the virtual-sink row and column
    (:func:`sk_realign.nn.alignment_loss`), CIDM the contrastive inverse difference moment
    of one sequence (:func:`sk_realign.nn.cidm_loss`) and :math:`L_{inter}` the InfoNCE
    loss whose positives are the best matches in :math:`T^*`
    (:func:`sk_realign.nn.inter_contrastive_loss`). :math:`T^*` is solved without
    gradient (envelope theorem) unless ``differentiable_plan=True``.

    Parameters
    ----------
    rho : float, default=0.5
        Weight in [0, 1] of the Gromov-Wasserstein (temporal structure) term; ``0`` drops
        it. Same meaning as in :class:`~sk_realign.PartialFGWAligner`.
    tau : float, default=1.0
        Marginal relaxation; ``float("inf")`` makes the marginals exact.
    zeta : float or None, default=0.5
        Matching threshold on the feature cost: a pair costing more than ``zeta`` is left
        unmatched (each side goes to the virtual sink at ``zeta / 2``). ``None`` removes
        the sink.
    eps : float, default=0.03
        Entropic regularisation of the plan.
    laplace_scale : float, default=0.1
        Scale ``b`` of the Laplace prior ``exp(-|t_i - s_j| / b)`` on normalised times.
    prior_weight : float, default=1.0
        Exponent of the prior; ``0`` turns it off.
    metric : {"cosine", "sqeuclidean"}, default="cosine"
        Feature cost between embeddings, in the plan and in the losses.
    structure : {"temporal", "feature", "kernel"}, default="temporal"
        Structure costs of the Gromov-Wasserstein term: ``|t_i - t_i'|`` on normalised
        times, the feature cost between frames of one video, or the kernelised temporal
        cost ``1 - exp(-|t_i - t_i'| / kernel_scale)``.
    kernel_scale : float, default=0.1
        Scale of the kernelised temporal structure (``structure="kernel"`` only).
    max_outer_iter : int, default=5
        Majorisation-minimisation steps of the solver.
    max_inner_iter : int, default=25
        Sinkhorn iterations per outer step.
    differentiable_plan : bool, default=False
        Differentiate through the unrolled solver iterations instead of holding the plan
        fixed. Slower; the gradient is exact for the truncated iterations.
    n_frames : int, default=32
        Frames sampled per video in each training pair.
    context_stride : int, default=5
        Distance in frames between a frame and its context frame.
    embedding_dim : int, default=128
        Size of the embedding.
    normalize : bool, default=True
        Scale every embedding to unit L2 norm, in training and in :meth:`transform`. The
        cosine cost depends only on directions, so without it the norms drift freely and
        distance-based segmenters (k-means) read that drift as structure.
    lambda_idm : float, default=1.0
        Weight of the C-IDM term.
    idm_window : int, default=2
        Window ``sigma`` of C-IDM, in sampled frames: closer frames are pulled together,
        farther ones pushed apart.
    idm_margin : float, default=2.0
        Margin of C-IDM on the squared embedding distance.
    lambda_inter : float, default=1.0
        Weight of the inter-sequence contrastive term.
    temperature : float, default=0.05
        Temperature of the inter-sequence InfoNCE loss.
    inter_window : int, default=2
        Frames within this many sampled positions of the positive are not used as
        negatives.
    inter_negatives : {"window", "single"}, default="window"
        Negatives of the inter-sequence loss: every frame outside the window, or only the
        worst match (the earlier single-negative form, kept for comparison).
    learning_rate : float, default=3e-4
        Adam learning rate.
    weight_decay : float, default=1e-5
        Adam weight decay.
    max_iter : int, default=100
        Training iterations (one batch of pairs each).
    batch_size : int, default=4
        Video pairs per iteration.
    early_stopping : bool, default=False
        Hold out two videos, evaluate the loss on one fixed sample of that pair every
        ``validation_interval`` iterations, stop after ``n_iter_no_change`` evaluations
        without improvement and keep the weights of the best one. Needs at least four
        videos.
    validation_interval : int, default=10
        Iterations between two evaluations of the held-out pair.
    n_iter_no_change : int, default=5
        Evaluations without improvement before early stopping.
    collapse_threshold : float, default=0.1
        An :class:`~sk_realign.exceptions.EmbeddingCollapseWarning` is raised when the
        embedding spread falls below this fraction of its value at the first iteration.
    backbone_weights : str or os.PathLike, default=None
        Frame input only: ResNet-50 trunk weights, a checkpoint path (loaded with
        ``torch.load(..., weights_only=True)``) or a torchvision weights name. ``None``
        gives a random trunk and a
        :class:`~sk_realign.exceptions.RandomBackboneWarning`.
    freeze_backbone : bool, default=True
        Frame input only: keep the trunk fixed.
    frame_size : int, default=224
        Frame input only: frames are resized to ``frame_size x frame_size``.
    fps : float, default=None
        Video file input only: the frame rate, in frames per second, at which files are
        decoded by :func:`sk_realign.io.read_video` (``None`` keeps every frame).
        :meth:`transform` returns one embedding per decoded frame.
    inference_batch_size : int, default=256
        Frames embedded at once by :meth:`transform`.
    device : {"cpu", "cuda", "auto"}, default="auto"
        Where to train and embed; ``"auto"`` takes CUDA when torch finds it.
    random_state : int, RandomState instance or None, default=None
        Seeds the parameter initialisation, the dropout masks and the sampling of pairs
        and frames, through a local ``torch.Generator`` (torch's global generator is not
        touched). On the CPU, equal seeds give equal embeddings.
    verbose : int, default=0
        ``1`` logs progress (loss terms, iterations per second, time left) ten times per
        fit through :mod:`logging` (logger ``sk_realign.embedder``); ``2`` every iteration.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained encoder (on the device of the last fit or transform).
    input_kind_ : {"features", "frames"}
        Whether the encoder takes per-frame features or RGB frames (paths decode to frames).
    n_features_in_ : int
        Feature size ``d`` of the training videos (feature input only).
    history_ : list of dict
        One entry per iteration with ``"iteration"``, ``"loss"``, ``"align"``, ``"idm"``,
        ``"inter"`` (the loss terms, unweighted), ``"spread"`` (mean pairwise feature cost
        between the batch's embeddings of one video: near zero when the embedding has
        collapsed), ``"solver_time"`` and ``"time"`` (seconds in the transport solver and in
        the whole iteration), and ``"validation_loss"`` at the iterations where the
        held-out pair was evaluated.
    n_iter_ : int
        Iterations run.
    device_ : torch.device
        Device the encoder was trained on.

    See Also
    --------
    sk_realign.PartialFGWAligner : Aligns sequences with the same transport problem.
    sk_realign.KeyStepSegmenter : Segments the embeddings into key steps.
    sk_realign.nn.FeatureEncoder : The encoder of feature input.
    sk_realign.nn.FrameEncoder : The encoder of frame input.

    Notes
    -----
    The alignment loss can fall towards zero while every frame moves to the same point;
    C-IDM's margin keeps distant frames apart, and ``history_["spread"]`` shows whether
    the embedding still separates frames.

    The training defaults (``learning_rate=3e-4``, ``max_iter=100``,
    ``temperature=0.05``) were chosen on the five bundled Breakfast coffee videos, scored
    through ``KeyStepSegmenter(n_key_steps=5)`` with its defaults, over five seeds. The
    segmentation is best early in training: with ``learning_rate=3e-4`` and
    ``temperature=0.1`` the task-level F1 was 0.48 after 50 iterations, 0.60 after 100
    and 0.57 after 150. A temperature of 0.05 instead of 0.1 raised the per-video F1 from
    0.74 to 0.77 at about the same task-level F1. The other values were kept: in earlier
    runs (``learning_rate=1e-3``, 200 iterations, a segmenter with ``smoothness=5`` and
    ``temporal_weight=1``), varying ``eps``, ``zeta``, ``context_stride``, the C-IDM
    margin and weight or ``batch_size`` moved the task-level F1 by less than its spread
    between seeds (about 0.07), or lowered it. The results and the script are in
    ``benchmarks/results_embedder.md``. For other data, tune these values with
    :class:`~sklearn.model_selection.GridSearchCV` over a pipeline with the segmenter.

    A training loss that turns NaN or infinite stops :meth:`fit` with a
    ``FloatingPointError``. The estimator then keeps, in ``module_``, the weights of the
    last iteration whose loss was finite (the weights it started that iteration with),
    and ``history_`` up to that iteration.

    Pickling stores the encoder on the CPU, so a model trained on CUDA loads on a machine
    without it.

    References
    ----------
    .. [1] W. Liu, B. Tekin, H. Coskun, V. Vineet, P. Fua and M. Pollefeys, "Learning to
       Align Sequential Actions in the Wild", CVPR 2022 (C-IDM, virtual frame alignment).
    .. [2] T. Vayer, L. Chapel, R. Flamary, R. Tavenard and N. Courty, "Optimal Transport
       for structured data with application on graphs", ICML 2019 (fused
       Gromov-Wasserstein).
    .. [3] A. van den Oord, Y. Li and O. Vinyals, "Representation Learning with Contrastive
       Predictive Coding", 2018 (InfoNCE).

    Examples
    --------
    >>> from sk_realign import RealignEmbedder
    >>> from sk_realign.datasets import load_breakfast_coffee
    >>> X = load_breakfast_coffee().X
    >>> embedder = RealignEmbedder(max_iter=2, n_frames=8, batch_size=2, device="cpu",
    ...                            random_state=0)
    >>> embeddings = embedder.fit_transform(X[:2])
    >>> embeddings[0].shape, embeddings[0].dtype
    ((917, 128), dtype('float32'))
    """

    _parameter_constraints = {
        **RFPGWOT_PARAMETER_CONSTRAINTS,
        "differentiable_plan": ["boolean"],
        "n_frames": [Interval(numbers.Integral, 2, None, closed="left")],
        "context_stride": [Interval(numbers.Integral, 1, None, closed="left")],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "normalize": ["boolean"],
        "lambda_idm": [Interval(numbers.Real, 0, None, closed="left")],
        "idm_window": [Interval(numbers.Real, 0, None, closed="left")],
        "idm_margin": [Interval(numbers.Real, 0, None, closed="left")],
        "lambda_inter": [Interval(numbers.Real, 0, None, closed="left")],
        "temperature": [Interval(numbers.Real, 0, None, closed="neither")],
        "inter_window": [Interval(numbers.Integral, 0, None, closed="left")],
        "inter_negatives": [StrOptions({"window", "single"})],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_interval": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "collapse_threshold": [Interval(numbers.Real, 0, 1, closed="both")],
        "backbone_weights": [str, os.PathLike, None],
        "freeze_backbone": ["boolean"],
        "frame_size": [Interval(numbers.Integral, 16, None, closed="left")],
        "fps": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "inference_batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        rho=0.5,
        tau=1.0,
        zeta=0.5,
        eps=0.03,
        laplace_scale=0.1,
        prior_weight=1.0,
        metric="cosine",
        structure="temporal",
        kernel_scale=0.1,
        max_outer_iter=5,
        max_inner_iter=25,
        differentiable_plan=False,
        n_frames=32,
        context_stride=5,
        embedding_dim=128,
        normalize=True,
        lambda_idm=1.0,
        idm_window=2,
        idm_margin=2.0,
        lambda_inter=1.0,
        temperature=0.05,
        inter_window=2,
        inter_negatives="window",
        learning_rate=3e-4,
        weight_decay=1e-5,
        max_iter=100,
        batch_size=4,
        early_stopping=False,
        validation_interval=10,
        n_iter_no_change=5,
        collapse_threshold=0.1,
        backbone_weights=None,
        freeze_backbone=True,
        frame_size=224,
        fps=None,
        inference_batch_size=256,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        self.rho = rho
        self.tau = tau
        self.zeta = zeta
        self.eps = eps
        self.laplace_scale = laplace_scale
        self.prior_weight = prior_weight
        self.metric = metric
        self.structure = structure
        self.kernel_scale = kernel_scale
        self.max_outer_iter = max_outer_iter
        self.max_inner_iter = max_inner_iter
        self.differentiable_plan = differentiable_plan
        self.n_frames = n_frames
        self.context_stride = context_stride
        self.embedding_dim = embedding_dim
        self.normalize = normalize
        self.lambda_idm = lambda_idm
        self.idm_window = idm_window
        self.idm_margin = idm_margin
        self.lambda_inter = lambda_inter
        self.temperature = temperature
        self.inter_window = inter_window
        self.inter_negatives = inter_negatives
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.early_stopping = early_stopping
        self.validation_interval = validation_interval
        self.n_iter_no_change = n_iter_no_change
        self.collapse_threshold = collapse_threshold
        self.backbone_weights = backbone_weights
        self.freeze_backbone = freeze_backbone
        self.frame_size = frame_size
        self.fps = fps
        self.inference_batch_size = inference_batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        return sequence_tags(tags)

    # -- input handling -------------------------------------------------------------------

    def _check_input(self, X, *, fitting):
        """Validate ``X``, decode paths, and return the videos and their kind."""
        n_features = None if fitting else getattr(self, "n_features_in_", None)
        videos = check_videos(
            X,
            kinds=("features", "frames", "paths"),
            n_features=n_features,
            dtype=(np.float32, np.float64),
            estimator=self,
        )
        decoded = [
            video if isinstance(video, np.ndarray) else _read_frames(video, self.fps, self.frame_size)
            for video in videos
        ]
        kinds = {"features" if video.ndim == 2 else "frames" for video in decoded}
        if len(kinds) > 1:
            raise ValueError(
                "RealignEmbedder got both feature arrays (T_i, d) and frames or video files "
                "in one X; give every video in the same form."
            )
        kind = kinds.pop()
        if not fitting and kind != self.input_kind_:
            raise ValueError(
                f"RealignEmbedder was fitted on {self.input_kind_} but transform got {kind}; "
                "give videos in the form used in fit."
            )
        return decoded, kind

    def _frame_inputs(self, videos, device):
        """Convert the videos to per-frame encoder inputs (feature tensors or raw frames)."""
        if self.input_kind_ == "features":
            return [torch.as_tensor(video, dtype=torch.float32, device=device) for video in videos]
        return videos

    def _encode(self, module, inputs, indices):
        """Embed the frames ``indices`` (shape (..., n)) of one video with their contexts."""
        context = context_indices(indices, _N_CONTEXT, self.context_stride)
        if self.input_kind_ == "features":
            embedding = module(inputs[context.to(inputs.device)])
        else:
            # Frame input: run the trunk once per distinct frame, then stack the contexts.
            needed, inverse = torch.unique(context, return_inverse=True)
            maps = module.frame_features(inputs[needed.numpy()])
            embedding = module(maps[inverse.to(maps.device)])
        if self.normalize:
            embedding = torch.nn.functional.normalize(embedding, dim=-1)
        return embedding

    # -- training -------------------------------------------------------------------------

    def _build_module(self, n_features, generator, device):
        if self.input_kind_ == "features":
            module = FeatureEncoder(
                n_features, embedding_dim=self.embedding_dim, n_context=_N_CONTEXT
            )
        else:
            module = FrameEncoder(
                embedding_dim=self.embedding_dim,
                n_context=_N_CONTEXT,
                weights=self.backbone_weights,
                freeze_backbone=self.freeze_backbone,
                frame_size=self.frame_size,
                generator=generator,
            )
        reset_parameters(module, generator)
        return module.to(device)

    def _batch_loss(self, module, inputs, pairs, indices):
        """Return the loss terms, the spread and the solver time of one batch of pairs."""
        first = torch.stack([self._encode(module, inputs[a], indices[k][0]) for k, (a, _) in enumerate(pairs)])
        second = torch.stack([self._encode(module, inputs[b], indices[k][1]) for k, (_, b) in enumerate(pairs)])

        solver_start = time.perf_counter()
        align, plan, _ = rfpgwot_loss(
            first,
            second,
            rho=self.rho,
            tau=self.tau,
            zeta=self.zeta,
            eps=self.eps,
            laplace_scale=self.laplace_scale,
            prior_weight=self.prior_weight,
            metric=self.metric,
            structure=self.structure,
            kernel_scale=self.kernel_scale,
            max_outer_iter=self.max_outer_iter,
            max_inner_iter=self.max_inner_iter,
            differentiable=self.differentiable_plan,
        )
        solver_time = time.perf_counter() - solver_start

        idm = 0.5 * (
            cidm_loss(first, sigma=self.idm_window, margin=self.idm_margin)
            + cidm_loss(second, sigma=self.idm_window, margin=self.idm_margin)
        )
        inter = inter_contrastive_loss(
            first,
            second,
            plan,
            temperature=self.temperature,
            window=self.inter_window,
            negatives=self.inter_negatives,
            metric=self.metric,
        )
        loss = align + self.lambda_idm * idm + self.lambda_inter * inter
        with torch.no_grad():
            embeddings = torch.cat([first, second]).detach()
            spread = pairwise_cost(embeddings, embeddings, self.metric).mean()
        terms = {"align": align, "idm": idm, "inter": inter}
        return loss, terms, float(spread), solver_time

    def _sample_batch(self, train_videos, lengths, generator):
        """Draw ``batch_size`` ordered pairs of distinct videos and their frame indices."""
        n_train = len(train_videos)
        pairs, indices = [], []
        for _ in range(self.batch_size):
            first = int(torch.randint(n_train, (1,), generator=generator))
            second = (first + 1 + int(torch.randint(n_train - 1, (1,), generator=generator))) % n_train
            a, b = train_videos[first], train_videos[second]
            pairs.append((a, b))
            indices.append((
                _sample_frame_indices(lengths[a], self.n_frames, generator),
                _sample_frame_indices(lengths[b], self.n_frames, generator),
            ))
        return pairs, indices

    def _trainable_state(self, module):
        """Copy the module's state, without a frozen trunk (which never changes)."""
        return {
            name: value.detach().clone()
            for name, value in module.state_dict().items()
            if not (self.input_kind_ == "frames" and self.freeze_backbone and name.startswith("trunk."))
        }

    def _log_progress(self, iteration, record, start):
        elapsed = time.perf_counter() - start
        rate = iteration / elapsed if elapsed > 0 else float("inf")
        remaining = (self.max_iter - iteration) / rate if rate > 0 else float("inf")
        _logger.info(
            "[RealignEmbedder] iteration %d/%d: loss %.4f (align %.4f, idm %.4f, inter %.4f), "
            "spread %.3f, %.2f it/s, %.0f s left",
            iteration,
            self.max_iter,
            record["loss"],
            record["align"],
            record["idm"],
            record["inter"],
            record["spread"],
            rate,
            remaining,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the encoder on pairs of videos of one task.

        Parameters
        ----------
        X : list of videos
            Per-frame features ``(T_i, d)``, RGB frames ``(T_i, H, W, 3)`` or video file
            paths, all of the same form; at least two videos (four with
            ``early_stopping``).
        y : None
            Ignored; present for :class:`~sklearn.pipeline.Pipeline`.

        Returns
        -------
        self : RealignEmbedder
            The fitted estimator.

        Raises
        ------
        FloatingPointError
            When the training loss or its gradient becomes NaN or infinite; the weights
            of the last finite iteration are kept in ``module_``.
        """
        videos, kind = self._check_input(X, fitting=True)
        n_required = 4 if self.early_stopping else 2
        if len(videos) < n_required:
            reason = " with early_stopping=True (two are held out)" if self.early_stopping else ""
            raise ValueError(
                f"RealignEmbedder needs at least {n_required} videos{reason}; got "
                f"{len(videos)}. Give more videos of the task."
            )
        self.input_kind_ = kind
        if kind == "features":
            self.n_features_in_ = videos[0].shape[1]
        elif hasattr(self, "n_features_in_"):
            del self.n_features_in_

        device = _resolve_device(self.device, fitting=True)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        generator = torch.Generator().manual_seed(int(seed))
        # Building the layers draws torch's default initialisation from the global
        # generator; fork_rng restores its state, and reset_parameters re-draws them all
        # from the local generator.
        with torch.random.fork_rng(devices=[]):
            module = self._build_module(
                videos[0].shape[1] if kind == "features" else None, generator, device
            )
        self.device_ = device
        inputs = self._frame_inputs(videos, device)
        lengths = [len(video) for video in videos]

        # Early stopping holds out one pair, evaluated on a fixed sample of frames.
        order = torch.randperm(len(videos), generator=generator).tolist()
        if self.early_stopping:
            held_out, train_videos = order[:2], sorted(order[2:])
            validation_pairs = [tuple(held_out)]
            validation_indices = [tuple(_chunk_centre_indices(lengths[v], self.n_frames) for v in held_out)]
        else:
            train_videos = list(range(len(videos)))

        parameters = [p for p in module.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(
            parameters, lr=self.learning_rate, weight_decay=self.weight_decay
        )
        self.history_ = []
        self.module_ = module
        self.n_iter_ = 0
        best_validation, best_state, checks_without_gain = np.inf, None, 0
        collapse_warned = False
        log_every = 1 if self.verbose >= 2 else max(1, self.max_iter // 10)
        start = time.perf_counter()

        # The states at the start of this iteration and of the previous one: a NaN loss
        # at this iteration goes back to the previous one, the last with a finite loss.
        state, previous_state = self._trainable_state(module), None
        set_dropout_generator(module, generator)
        try:
            for iteration in range(1, self.max_iter + 1):
                iteration_start = time.perf_counter()
                if iteration > 1:
                    state, previous_state = self._trainable_state(module), state
                module.train()
                pairs, indices = self._sample_batch(train_videos, lengths, generator)
                loss, terms, spread, solver_time = self._batch_loss(module, inputs, pairs, indices)
                values = {name: float(term.detach()) for name, term in terms.items()}

                if not torch.isfinite(loss):
                    module.load_state_dict(previous_state or state, strict=False)
                    self._stop_on_nan(iteration, values)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if not all(torch.isfinite(p.grad).all() for p in parameters if p.grad is not None):
                    module.load_state_dict(state, strict=False)
                    self._stop_on_nan(iteration, values, gradient=True)
                optimizer.step()

                record = {"iteration": iteration, "loss": float(loss.detach()), **values, "spread": spread}
                record["solver_time"] = solver_time
                record["time"] = time.perf_counter() - iteration_start
                self.history_.append(record)
                self.n_iter_ = iteration

                initial_spread = self.history_[0]["spread"]
                if not collapse_warned and spread < self.collapse_threshold * initial_spread:
                    collapse_warned = True
                    warnings.warn(
                        f"[RealignEmbedder] the embedding spread fell to {spread:.3g} at "
                        f"iteration {iteration}, below {self.collapse_threshold} times its "
                        f"first value {initial_spread:.3g}: the frames are collapsing to one "
                        "point. Raise lambda_idm, lower learning_rate or max_iter, or use "
                        "early_stopping=True.",
                        EmbeddingCollapseWarning,
                        stacklevel=3,
                    )

                if self.verbose and (iteration % log_every == 0 or iteration == self.max_iter):
                    self._log_progress(iteration, record, start)

                if self.early_stopping and iteration % self.validation_interval == 0:
                    module.eval()
                    with torch.no_grad():
                        validation, _, _, _ = self._batch_loss(
                            module, inputs, validation_pairs, validation_indices
                        )
                    record["validation_loss"] = float(validation)
                    if float(validation) < best_validation:
                        best_validation, checks_without_gain = float(validation), 0
                        best_state = self._trainable_state(module)
                    else:
                        checks_without_gain += 1
                    if checks_without_gain >= self.n_iter_no_change:
                        if self.verbose:
                            _logger.info(
                                "[RealignEmbedder] early stop at iteration %d: the held-out "
                                "loss has not improved for %d evaluations",
                                iteration,
                                checks_without_gain,
                            )
                        break
        finally:
            set_dropout_generator(module, None)
            module.eval()

        if best_state is not None:
            module.load_state_dict(best_state, strict=False)
        return self

    def _stop_on_nan(self, iteration, values, gradient=False):
        quantity = "gradient" if gradient else "loss"
        terms = ", ".join(f"{name} {value:.4g}" for name, value in values.items())
        if gradient:
            kept_weights = f"the weights at the start of iteration {iteration}, whose loss was finite"
        elif iteration > 1:
            kept_weights = (
                f"the weights at the start of iteration {iteration - 1}, whose loss was finite"
            )
        else:
            kept_weights = "its initial weights"
        raise FloatingPointError(
            f"[RealignEmbedder] the training {quantity} became NaN or infinite at iteration "
            f"{iteration} ({terms}). module_ keeps {kept_weights}. Lower learning_rate, raise eps, or "
            "check the input features for extreme values."
        )

    # -- inference ------------------------------------------------------------------------

    def transform(self, X):
        """Embed every frame of every video.

        Parameters
        ----------
        X : list of videos
            In the form used in :meth:`fit` (features of the same size ``d``, or frames or
            video files).

        Returns
        -------
        embeddings : list of ndarray of shape (T_i, embedding_dim) and dtype float32
            One embedding per frame, in order, computed without gradient in eval mode.
        """
        check_is_fitted(self, "module_")
        videos, _ = self._check_input(X, fitting=False)
        device = _resolve_device(self.device, fitting=False)
        module = self.module_.to(device).eval()
        inputs = self._frame_inputs(videos, device)

        embeddings = []
        with torch.no_grad():
            for video in inputs:
                chunks = []
                for start in range(0, len(video), self.inference_batch_size):
                    stop = min(start + self.inference_batch_size, len(video))
                    indices = torch.arange(start, stop)
                    chunks.append(self._encode(module, video, indices).float().cpu())
                embeddings.append(torch.cat(chunks).numpy().astype(np.float32, copy=False))
        return embeddings

    def __getstate__(self):
        state = self.__dict__.copy()
        if "module_" in state:
            state["module_"] = copy.deepcopy(self.module_).to("cpu")
        return state
