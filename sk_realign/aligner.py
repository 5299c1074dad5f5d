"""PartialFGWAligner: R-FPGWOT alignments and transport costs between sequences."""

import logging
import math
import warnings
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._validation import check_videos, sequence_tags
from .exceptions import ConvergenceWarning
from .ot import solve_rfpgwot
from .ot._memory import check_memory, solver_memory_bytes
from .ot._temporal import PREFIX_SUM_MIN_FRAMES

__all__ = ["Alignment", "PartialFGWAligner"]

logger = logging.getLogger(__name__)


# Constraints of the R-FPGWOT parameters, which PartialFGWAligner and RealignEmbedder
# share with the same names and meanings.
RFPGWOT_PARAMETER_CONSTRAINTS = {
    "rho": [Interval(Real, 0, 1, closed="both")],
    "tau": [Interval(Real, 0, None, closed="neither"), Options(Real, {math.inf})],
    "zeta": [Interval(Real, 0, None, closed="neither"), None],
    "eps": [Interval(Real, 0, None, closed="neither")],
    "laplace_scale": [Interval(Real, 0, None, closed="neither")],
    "prior_weight": [Interval(Real, 0, None, closed="left")],
    "metric": [StrOptions({"cosine", "sqeuclidean"})],
    "structure": [StrOptions({"temporal", "feature", "kernel"})],
    "kernel_scale": [Interval(Real, 0, None, closed="neither")],
    "max_outer_iter": [Interval(Integral, 1, None, closed="left")],
    "max_inner_iter": [Interval(Integral, 1, None, closed="left")],
}


@dataclass
class Alignment:
    """The R-FPGWOT alignment of two sequences, as returned by :meth:`PartialFGWAligner.align`.

    Attributes
    ----------
    plan : ndarray of shape (N, M)
        The real block of the transport plan. A frame's row (or column) sums to at most
        about ``1 / (N + M)`` (``1 / N`` without the sink), less what goes to the sink.
    sink_mass_a : ndarray of shape (N,)
        For each frame of ``a``, the fraction in [0, 1] of its transported mass that goes
        to the sink (zeros without a sink).
    sink_mass_b : ndarray of shape (M,)
        For each frame of ``b``, the fraction in [0, 1] of its received mass that comes
        from the sink.
    matches : ndarray of shape (N,), dtype int64
        For each frame of ``a``, the index of the frame of ``b`` that receives most of its
        mass, or -1 when more than half of its mass goes to the sink.
    cost : float
        The fused transport cost :math:`(1 - \\rho) \\langle \\tilde C, T \\rangle +
        \\rho \\, GW(T_{real})`, sink included.
    objective_history : ndarray of shape (n_iter,)
        The R-FPGWOT objective after each majorisation-minimisation step.
    n_iter : int
        Number of majorisation-minimisation steps run.
    converged : bool
        Whether the relative change of the objective fell below ``tol``.

    See Also
    --------
    PartialFGWAligner.align : Compute the alignment of two sequences.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_realign import PartialFGWAligner
    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(5, 3))
    >>> alignment = PartialFGWAligner(max_outer_iter=10).align(a, a)
    >>> alignment.plan.shape
    (5, 5)
    >>> alignment.matches
    array([0, 1, 2, 3, 4])
    >>> bool(alignment.sink_mass_a.max() < 0.5)
    True
    """

    plan: np.ndarray
    sink_mass_a: np.ndarray
    sink_mass_b: np.ndarray
    matches: np.ndarray
    cost: float
    objective_history: np.ndarray
    n_iter: int
    converged: bool


def _resolve_device(device):
    """Turn the ``device`` parameter into a :class:`torch.device`."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(
            f"device must be 'cpu', 'cuda', 'cuda:<index>' or 'auto'. Got {device!r} ({error})."
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r}, but torch finds no CUDA device. Use device='cpu' or 'auto'."
        )
    return resolved


def _pad(videos, dtype):
    """Stack videos of unequal length into a right-padded array and its mask."""
    frames = max(video.shape[0] for video in videos)
    padded = np.zeros((len(videos), frames, videos[0].shape[1]), dtype=dtype)
    mask = np.zeros((len(videos), frames), dtype=bool)
    for index, video in enumerate(videos):
        padded[index, : video.shape[0]] = video
        mask[index, : video.shape[0]] = True
    return padded, mask


def _solve_batch(videos_a, videos_b, solver_params, device, dtype):
    """Solve one batch of pairs and return its costs as float64 NumPy.

    A module-level function with NumPy inputs, so that any joblib backend can ship it to
    another process or machine.
    """
    x, mask_x = _pad(videos_a, dtype)
    y, mask_y = _pad(videos_b, dtype)
    device = torch.device(device)
    _, log = solve_rfpgwot(
        torch.from_numpy(x).to(device),
        torch.from_numpy(y).to(device),
        mask_x=torch.from_numpy(mask_x).to(device),
        mask_y=torch.from_numpy(mask_y).to(device),
        warn=False,
        **solver_params,
    )
    return log["cost"].cpu().numpy().astype(np.float64), log["converged"].cpu().numpy()


class PartialFGWAligner(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Align sequences with regularised fused partial Gromov-Wasserstein transport.

    Each pair of sequences is aligned by R-FPGWOT (:func:`sk_realign.ot.solve_rfpgwot`
    states the objective). The transport plan between their frames weighs the feature
    cost against the preservation of temporal structure, and a virtual sink on each side
    takes the frames with no good match. ``fit`` stores reference sequences,
    ``transform`` returns the transport cost of every sequence to every reference, and
    :meth:`align` returns the full alignment of two sequences.

    Parameters
    ----------
    rho : float in [0, 1], default=0.5
        Weight of the Gromov-Wasserstein (structure) term against the feature cost; 0 drops
        the GW term. An even split keeps order and content equally important.
    tau : float in (0, inf], default=1.0
        Marginal relaxation; ``float("inf")`` makes the marginals exact. At 1 a frame's
        mass may vary a little without the sink taking over the role of the relaxation.
    zeta : float in (0, inf) or None, default=0.5
        Matching threshold on the feature cost (cosine cost: 0 to 2): a pair of frames
        costing more than ``zeta`` is left unmatched, both frames going to the sink.
        ``None`` removes the sink. 0.5 is about a 60 degree angle between features.
    eps : float in (0, inf), default=0.03
        Entropic regularisation. Small enough that the sink decision stays sharp on real
        features (at 0.07 real frames lost 18% of their mass to the sink in a prototype
        run on Breakfast features), large enough for few Sinkhorn iterations.
    laplace_scale : float in (0, inf), default=0.1
        Scale of the Laplace prior :math:`\exp(-|t_i - s_j| / b)` in normalised time: a
        tenth of a sequence.
    prior_weight : float in [0, inf), default=1.0
        Exponent of the prior; 0 removes it.
    metric : {"cosine", "sqeuclidean"}, default="cosine"
        Feature cost between frames.
    structure : {"temporal", "feature", "kernel"}, default="temporal"
        Structure cost of each sequence in the GW term: the distance between normalised
        positions, the feature cost between frames of one sequence, or the kernelised
        temporal cost ``1 - exp(-|t_i - t_i'| / kernel_scale)``.
    kernel_scale : float in (0, inf), default=0.1
        Scale of the kernelised temporal structure.
    max_outer_iter : int, default=5
        Maximum number of majorisation-minimisation steps.
    max_inner_iter : int, default=25
        Maximum number of Sinkhorn iterations per step; the dual potentials are carried
        over from step to step, so later steps start close to their solution.
    tol : float, default=1e-6
        Relative change of the objective below which the steps stop.
    init : {"prior", "feature"}, default="prior"
        Plan at which the GW term is first linearised: the prior-weighted independent
        plan, or the plan of the feature cost alone (see
        :func:`~sk_realign.ot.solve_rfpgwot`).
    device : str, default="cpu"
        Torch device: ``"cpu"``, ``"cuda"``, ``"cuda:<index>"`` or ``"auto"`` (CUDA when
        available).
    batch_size : int, default=64
        Number of pairs solved together as one batched tensor program.
    n_jobs : int, default=None
        Number of joblib workers over which the batches are spread. ``None`` means 1
        unless in a :func:`joblib.parallel_backend` context; -1 uses all processors.
    memory_limit : int, default=None
        Bytes one batch may use. ``None`` uses the memory available on the device.

    Attributes
    ----------
    references_ : list of ndarray of shape (T_j, n_features_in_)
        The reference sequences stored by ``fit``.
    n_references_ : int
        Number of reference sequences; the number of columns of ``transform``.
    n_features_in_ : int
        Number of features per frame seen in ``fit``.

    See Also
    --------
    sk_realign.ot.solve_rfpgwot : The batched solver.
    sk_realign.RealignEmbedder : Learns frame embeddings with the same objective.

    Notes
    -----
    Pairs are sorted by length and solved ``batch_size`` at a time, right-padded to the
    longest sequence of their batch. Padding frames take no part in the transport. A batch
    whose estimated peak memory exceeds ``memory_limit`` (or the available memory) is
    rejected with a :class:`MemoryError` before anything is solved.

    Scaling out: the batches are independent joblib tasks, so any joblib backend runs
    them. To use a dask cluster, connect a client and wrap the call::

        from dask.distributed import Client
        import joblib

        client = Client("tcp://scheduler-address:8786")
        with joblib.parallel_backend("dask"):
            costs = aligner.transform(videos)

    With ``n_jobs=None`` the backend decides how many tasks run at once; the workers
    need sk_realign installed. Ray works the same way through
    ``ray.util.joblib.register_ray()`` and ``parallel_backend("ray")``. Each worker runs
    torch with its own thread pool, so with several workers on one machine limit the
    threads per worker (``OMP_NUM_THREADS``) to keep workers times threads within the
    number of cores.

    A pair that has not reached ``tol`` after ``max_outer_iter`` steps keeps its last
    plan, and one :class:`~sk_realign.exceptions.ConvergenceWarning` per call gives the
    number of such pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_realign import PartialFGWAligner
    >>> rng = np.random.default_rng(0)
    >>> videos = [rng.normal(size=(n, 8)).astype(np.float32) for n in (10, 12, 9)]
    >>> aligner = PartialFGWAligner(max_outer_iter=20, tol=1e-4).fit(videos[:2])
    >>> aligner.transform(videos).shape
    (3, 2)
    >>> alignment = aligner.align(videos[0], videos[0])
    >>> alignment.plan.shape
    (10, 10)
    """

    _parameter_constraints = {
        **RFPGWOT_PARAMETER_CONSTRAINTS,
        "tol": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions({"prior", "feature"})],
        "device": [str, torch.device],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "memory_limit": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(
        self,
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
        tol=1e-6,
        init="prior",
        device="cpu",
        batch_size=64,
        n_jobs=None,
        memory_limit=None,
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
        self.tol = tol
        self.init = init
        self.device = device
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.memory_limit = memory_limit

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return sequence_tags(tags)

    def _solver_params(self):
        return {
            "rho": self.rho,
            "tau": self.tau,
            "zeta": self.zeta,
            "eps": self.eps,
            "laplace_scale": self.laplace_scale,
            "prior_weight": self.prior_weight,
            "metric": self.metric,
            "structure": self.structure,
            "kernel_scale": self.kernel_scale,
            "max_outer_iter": self.max_outer_iter,
            "max_inner_iter": self.max_inner_iter,
            "tol": self.tol,
            "init": self.init,
            "memory_limit": self.memory_limit,
        }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the reference sequences.

        Parameters
        ----------
        X : list of ndarray of shape (T_j, d)
            Reference sequences of per-frame features, at least 2 frames each (frame
            positions are normalised by ``T_j - 1``).
        y : None
            Ignored.

        Returns
        -------
        self : PartialFGWAligner
        """
        _resolve_device(self.device)
        references = check_videos(X, min_frames=2, estimator=self)
        self.references_ = references
        self.n_references_ = len(references)
        self.n_features_in_ = references[0].shape[1]
        return self

    @property
    def _n_features_out(self):
        return self.n_references_

    def transform(self, X):
        """Compute the R-FPGWOT cost of every sequence to every reference.

        Parameters
        ----------
        X : list of ndarray of shape (T_i, n_features_in_)
            Sequences, at least 2 frames each.

        Returns
        -------
        costs : ndarray of shape (len(X), n_references_)
            The fused transport cost (see :attr:`Alignment.cost`) of each pair.
        """
        check_is_fitted(self)
        videos = check_videos(X, min_frames=2, n_features=self.n_features_in_, estimator=self)
        return self._pair_costs(videos, self.references_)

    def _pair_costs(self, videos_a, videos_b):
        """Solve all pairs (a, b) in length-sorted batches and return the cost matrix."""
        device = _resolve_device(self.device)
        dtype = np.result_type(*[v.dtype for v in videos_a], *[v.dtype for v in videos_b])
        dtype = np.float64 if dtype == np.float64 else np.float32

        # Sorting by length keeps the padding inside each batch small.
        pairs = [(i, j) for i in range(len(videos_a)) for j in range(len(videos_b))]
        pairs.sort(key=lambda pair: (videos_a[pair[0]].shape[0], videos_b[pair[1]].shape[0]))
        batches = [
            pairs[start : start + self.batch_size]
            for start in range(0, len(pairs), self.batch_size)
        ]

        # Reject a batch that cannot fit before any batch is solved.
        for batch in batches:
            n = max(videos_a[i].shape[0] for i, _ in batch)
            m = max(videos_b[j].shape[0] for _, j in batch)
            dense = self.rho > 0 and (
                self.structure != "temporal" or min(n, m) < PREFIX_SUM_MIN_FRAMES
            )
            needed = solver_memory_bytes(
                len(batch), n, m, itemsize=np.dtype(dtype).itemsize,
                sink=self.zeta is not None, dense_structure=dense,
            )
            check_memory(needed, device, self.memory_limit)

        params = self._solver_params()
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_solve_batch)(
                [videos_a[i] for i, _ in batch], [videos_b[j] for _, j in batch],
                params, str(device), dtype,
            )
            for batch in batches
        )

        costs = np.empty((len(videos_a), len(videos_b)), dtype=np.float64)
        n_failed = 0
        for batch, (batch_costs, batch_converged) in zip(batches, results):
            for (i, j), cost in zip(batch, batch_costs):
                costs[i, j] = cost
            n_failed += int((~batch_converged).sum())
        if n_failed:
            warnings.warn(
                f"[{type(self).__name__}] {n_failed} of {len(pairs)} pairs did not converge "
                f"within max_outer_iter={self.max_outer_iter} steps (tol={self.tol:g}). "
                "Increase max_outer_iter or max_inner_iter, or raise tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return costs

    def align(self, a, b):
        """Align two sequences and return the full :class:`Alignment`.

        Does not need ``fit``; once fitted, both sequences must have ``n_features_in_``
        features.

        Parameters
        ----------
        a : ndarray of shape (N, d)
        b : ndarray of shape (M, d)
            Sequences of per-frame features, at least 2 frames each.

        Returns
        -------
        alignment : Alignment
        """
        self._validate_params()
        device = _resolve_device(self.device)
        n_features = getattr(self, "n_features_in_", None)
        a, b = check_videos([a, b], min_frames=2, n_features=n_features, estimator=self)
        dtype = torch.float64 if np.float64 in (a.dtype, b.dtype) else torch.float32

        x = torch.as_tensor(a, dtype=dtype, device=device)
        y = torch.as_tensor(b, dtype=dtype, device=device)
        plan, log = solve_rfpgwot(x, y, warn=False, **self._solver_params())
        converged = bool(log["converged"])
        if not converged:
            warnings.warn(
                f"[{type(self).__name__}] the alignment did not converge within "
                f"max_outer_iter={self.max_outer_iter} steps (tol={self.tol:g}). Increase "
                "max_outer_iter or max_inner_iter, or raise tol.",
                ConvergenceWarning,
                stacklevel=2,
            )

        n, m = a.shape[0], b.shape[0]
        plan = plan.cpu().numpy().astype(np.float64)
        real = plan[:n, :m]
        sink_mass_a = log["sink_mass_x"].cpu().numpy().astype(np.float64)
        sink_mass_b = log["sink_mass_y"].cpu().numpy().astype(np.float64)
        matches = np.where(sink_mass_a > 0.5, -1, real.argmax(axis=1)).astype(np.int64)
        return Alignment(
            plan=np.ascontiguousarray(real),
            sink_mass_a=sink_mass_a,
            sink_mass_b=sink_mass_b,
            matches=matches,
            cost=float(log["cost"]),
            objective_history=log["objective"].cpu().numpy().astype(np.float64),
            n_iter=int(log["n_iter"]),
            converged=converged,
        )
