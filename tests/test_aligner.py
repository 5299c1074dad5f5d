"""PartialFGWAligner: the scikit-learn API on sequence data, conventions and scale-out."""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline

from sk_realign import Alignment, PartialFGWAligner
from sk_realign.exceptions import ConvergenceWarning
from sk_realign.ot import solve_rfpgwot

FAST = dict(max_outer_iter=4, max_inner_iter=40)

# The short solves of these tests stop before tol; test_convergence_warning checks the
# warning itself.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def clips(coffee):
    """Short clips of real coffee videos: 24 frames every 6th frame, varied lengths."""
    videos = []
    for index, video in enumerate(coffee.X):
        video = video[np.linalg.norm(video, axis=1) > 0]
        for start, length in ((0, 20), (60, 24), (140, 18)):
            videos.append(video[start : start + 6 * length : 6])
    return videos


def test_fit_stores_references(clips):
    aligner = PartialFGWAligner(**FAST)

    returned = aligner.fit(clips[:4])

    assert returned is aligner
    assert aligner.n_references_ == 4
    assert aligner.n_features_in_ == 64
    assert len(aligner.references_) == 4
    np.testing.assert_array_equal(aligner.references_[1], clips[1])


def test_transform_matches_single_pair_solves(clips):
    aligner = PartialFGWAligner(**FAST).fit(clips[:3])

    costs = aligner.transform(clips[3:7])

    assert costs.shape == (4, 3)
    assert costs.dtype == np.float64
    for i, video in enumerate(clips[3:7]):
        for j, reference in enumerate(clips[:3]):
            _, log = solve_rfpgwot(torch.from_numpy(video), torch.from_numpy(reference), warn=False, **FAST)
            assert costs[i, j] == pytest.approx(log["cost"].item(), rel=1e-4)


def test_costs_independent_of_batching(clips):
    reference = PartialFGWAligner(batch_size=64, **FAST).fit(clips[:5]).transform(clips[5:10])

    one_by_one = PartialFGWAligner(batch_size=1, **FAST).fit(clips[:5]).transform(clips[5:10])
    parallel = PartialFGWAligner(batch_size=4, n_jobs=2, **FAST).fit(clips[:5]).transform(clips[5:10])

    np.testing.assert_allclose(one_by_one, reference, rtol=1e-4)
    np.testing.assert_allclose(parallel, reference, rtol=1e-4)


def test_transform_costs_small_on_self(clips):
    aligner = PartialFGWAligner(**FAST).fit(clips[:6])

    costs = aligner.transform(clips[:6])

    assert (costs >= 0).all()
    assert (np.diag(costs) < costs.mean(axis=1)).all()


def test_align_returns_alignment(clips):
    a, b = clips[0], clips[3]

    alignment = PartialFGWAligner(**FAST).align(a, b)

    assert isinstance(alignment, Alignment)
    assert alignment.plan.shape == (len(a), len(b))
    assert alignment.sink_mass_a.shape == (len(a),)
    assert alignment.sink_mass_b.shape == (len(b),)
    assert alignment.matches.shape == (len(a),)
    assert alignment.matches.dtype == np.int64
    assert ((alignment.sink_mass_a >= 0) & (alignment.sink_mass_a <= 1)).all()
    assert alignment.objective_history.shape == (alignment.n_iter,)
    assert isinstance(alignment.cost, float)
    assert isinstance(alignment.converged, bool)
    matched = alignment.matches >= 0
    np.testing.assert_array_equal(alignment.matches[matched], alignment.plan[matched].argmax(axis=1))
    np.testing.assert_array_equal(matched, alignment.sink_mass_a <= 0.5)


def test_align_cost_equals_transform(clips):
    aligner = PartialFGWAligner(**FAST).fit([clips[4]])

    alignment = aligner.align(clips[0], clips[4])

    assert alignment.cost == pytest.approx(aligner.transform([clips[0]])[0, 0], rel=1e-6)


def test_align_parks_foreign_frames(clips):
    rng = np.random.default_rng(0)
    a = clips[1]
    foreign = (rng.normal(size=(4, 64)) * a.std() + a.mean()).astype(np.float32)
    b = np.concatenate([a[:10], foreign, a[10:]])

    alignment = PartialFGWAligner(eps=0.02, max_outer_iter=10, max_inner_iter=100).align(b, a)

    np.testing.assert_array_equal(alignment.matches[10:14], -1)
    assert (alignment.sink_mass_a[10:14] > 0.95).all()
    assert (alignment.matches[:10] >= 0).all()
    assert (alignment.matches[14:] >= 0).all()


def test_conventions_switch_terms_off(clips):
    a, b = clips[0], clips[4]

    no_sink = PartialFGWAligner(zeta=None, **FAST).align(a, b)
    exact = PartialFGWAligner(zeta=None, tau=float("inf"), max_outer_iter=4, max_inner_iter=2000).align(a, b)
    no_gw = PartialFGWAligner(rho=0, prior_weight=0, zeta=None, **FAST).align(a, b)

    assert (no_sink.sink_mass_a == 0).all()
    assert (no_sink.matches >= 0).all()
    np.testing.assert_allclose(exact.plan.sum(axis=1), 1 / len(a), rtol=1e-4)
    np.testing.assert_allclose(exact.plan.sum(axis=0), 1 / len(b), rtol=1e-3)
    cosine = 1 - (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (b / np.linalg.norm(b, axis=1, keepdims=True)).T
    assert no_gw.cost == pytest.approx((cosine * no_gw.plan).sum(), rel=1e-4)


def test_clone_get_set_params():
    aligner = PartialFGWAligner(rho=0.3, zeta=None)

    copy = clone(aligner)
    copy.set_params(tau=2.0, eps=0.05)

    assert copy.get_params()["rho"] == 0.3
    assert copy.get_params()["zeta"] is None
    assert copy.get_params()["tau"] == 2.0
    assert aligner.tau == 1.0
    assert set(aligner.get_params()) >= {
        "rho", "tau", "zeta", "eps", "laplace_scale", "prior_weight", "metric", "structure",
        "max_outer_iter", "max_inner_iter", "tol", "device", "batch_size", "n_jobs",
    }


def test_clone_of_fitted_is_unfitted(clips):
    aligner = PartialFGWAligner(**FAST).fit(clips[:2])

    copy = clone(aligner)

    assert not hasattr(copy, "references_")
    with pytest.raises(NotFittedError):
        copy.transform(clips[:1])


def test_pickle_roundtrip(clips):
    aligner = PartialFGWAligner(**FAST).fit(clips[:3])

    restored = pickle.loads(pickle.dumps(aligner))

    np.testing.assert_array_equal(restored.transform(clips[3:5]), aligner.transform(clips[3:5]))


def test_not_fitted_raises(clips):
    with pytest.raises(NotFittedError):
        PartialFGWAligner().transform(clips[:1])


def test_feature_names_out(clips):
    aligner = PartialFGWAligner(**FAST).fit(clips[:3])

    names = aligner.get_feature_names_out()

    assert list(names) == ["partialfgwaligner0", "partialfgwaligner1", "partialfgwaligner2"]


def test_pipeline_and_grid_search(clips):
    # Task: tell clips from the start of a video (labels 0) from clips later on (label 1).
    y = np.array([0, 1, 1] * 5)
    pipeline = Pipeline(
        [
            ("align", PartialFGWAligner(max_outer_iter=3, max_inner_iter=30)),
            ("knn", KNeighborsClassifier(n_neighbors=1, metric="precomputed")),
        ]
    )
    grid = GridSearchCV(pipeline, {"align__tau": [0.5, float("inf")], "align__rho": [0.0, 0.5]}, cv=3)

    grid.fit(clips, y)

    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_params_["align__tau"] in (0.5, float("inf"))
    assert grid.best_params_["align__rho"] in (0.0, 0.5)
    assert grid.best_score_ > 0.6
    assert grid.predict(clips[:3]).shape == (3,)


def test_pipeline_fit_transform(clips):
    pipeline = Pipeline([("align", PartialFGWAligner(**FAST))])

    costs = pipeline.fit_transform(clips[:4])

    assert costs.shape == (4, 4)


@pytest.mark.parametrize(
    "X, message",
    [
        ([], "empty list"),
        ([np.zeros((1, 64), np.float32)], "needs at least 2"),
        ([np.zeros((5, 64)), np.zeros((5, 32))], "features per frame"),
        ([np.full((5, 64), np.nan)], "NaN or inf"),
        (np.zeros((5, 64)), "list of videos"),
        ([np.zeros(5)], "1-D array"),
        ([np.array([["a", "b"], ["c", "d"]])], "expected numbers"),
    ],
)
def test_bad_input_raises(X, message):
    with pytest.raises(ValueError, match=message):
        PartialFGWAligner().fit(X)


def test_transform_feature_mismatch_raises(clips):
    aligner = PartialFGWAligner(**FAST).fit(clips[:2])

    with pytest.raises(ValueError, match="has 32 features per frame"):
        aligner.transform([clips[0][:, :32]])
    with pytest.raises(ValueError, match="has 32 features per frame"):
        aligner.align(clips[0][:, :32], clips[1][:, :32])


@pytest.mark.parametrize(
    "params",
    [
        dict(rho=1.5), dict(tau=0.0), dict(zeta=-1.0), dict(eps=0), dict(laplace_scale=-0.1),
        dict(prior_weight=-1), dict(metric="manhattan"), dict(structure="graph"),
        dict(max_outer_iter=0), dict(max_inner_iter=1.5), dict(tol=-1.0), dict(batch_size=0),
        dict(n_jobs="many"), dict(memory_limit=-5), dict(init="random"),
    ],
)
def test_invalid_parameters_raise(clips, params):
    name = next(iter(params))

    with pytest.raises(ValueError, match=f"'{name}' parameter of PartialFGWAligner"):
        PartialFGWAligner(**params).fit(clips[:2])


def test_invalid_device_raises(clips):
    with pytest.raises(ValueError, match="device must be"):
        PartialFGWAligner(device="tpu:0").fit(clips[:2])
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="finds no CUDA device"):
            PartialFGWAligner(device="cuda").fit(clips[:2])


def test_memory_limit_rejects_batch_before_solving(clips):
    aligner = PartialFGWAligner(memory_limit=10_000, **FAST).fit(clips[:3])

    with pytest.raises(MemoryError, match="smaller batch_size"):
        aligner.transform(clips[:3])
    aligner.set_params(batch_size=1, memory_limit=100_000)
    assert aligner.transform(clips[:3]).shape == (3, 3)


def test_convergence_warning(clips):
    aligner = PartialFGWAligner(max_outer_iter=1).fit(clips[:2])

    with pytest.warns(ConvergenceWarning, match="2 of 2 pairs did not converge"):
        aligner.transform(clips[:1])
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        aligner.align(clips[0], clips[1])


@pytest.mark.parametrize("processes", [False, True])
def test_transform_on_dask_cluster_matches_serial(clips, processes):
    distributed = pytest.importorskip("dask.distributed")
    aligner = PartialFGWAligner(batch_size=4, **FAST).fit(clips[:4])
    serial = aligner.transform(clips[4:10])

    with distributed.LocalCluster(
        n_workers=2 if processes else 1, threads_per_worker=1, processes=processes,
        host="127.0.0.1", protocol="tcp://", dashboard_address=None,
    ) as cluster, distributed.Client(cluster):
        with joblib.parallel_backend("dask"):
            distributed_costs = aligner.transform(clips[4:10])

    np.testing.assert_allclose(distributed_costs, serial, rtol=1e-6)
