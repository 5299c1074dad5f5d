"""RealignEmbedder on the real Breakfast coffee features and a real video clip."""

import logging
import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

import sk_realign.embedder as embedder_module
from sk_realign import RealignEmbedder
from sk_realign.exceptions import EmbeddingCollapseWarning, RandomBackboneWarning

# Small settings so that each fit takes about a second on two cores.
FAST = dict(max_iter=3, n_frames=8, batch_size=2, device="cpu")


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Run torch on one thread: on a loaded 2-core machine two threads made a fit 14 times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def fitted(coffee):
    embedder = RealignEmbedder(**FAST, random_state=0)
    embeddings = embedder.fit_transform(coffee.X)
    return embedder, embeddings


def test_transform_embeds_every_frame(coffee, fitted):
    embedder, embeddings = fitted
    assert len(embeddings) == len(coffee.X)
    for video, embedding in zip(coffee.X, embeddings):
        assert embedding.shape == (len(video), 128)
        assert embedding.dtype == np.float32
        assert np.isfinite(embedding).all()


def test_transform_is_deterministic(coffee, fitted):
    embedder, embeddings = fitted
    again = embedder.transform(coffee.X[:2])
    assert np.array_equal(again[0], embeddings[0])
    assert np.array_equal(again[1], embeddings[1])


def test_transform_batching_does_not_change_result(coffee, fitted):
    embedder, embeddings = fitted
    small_batches = clone(embedder).set_params(inference_batch_size=7)
    small_batches.__dict__.update(
        {key: value for key, value in embedder.__dict__.items() if key.endswith("_")}
    )
    np.testing.assert_allclose(small_batches.transform(coffee.X[3:4])[0], embeddings[3], atol=1e-6)


def test_same_random_state_same_embeddings(coffee, fitted):
    _, embeddings = fitted
    again = RealignEmbedder(**FAST, random_state=0).fit_transform(coffee.X)
    for first, second in zip(embeddings, again):
        assert np.array_equal(first, second)


def test_other_random_state_other_embeddings(coffee, fitted):
    _, embeddings = fitted
    other = RealignEmbedder(**FAST, random_state=1).fit_transform(coffee.X)
    assert not np.allclose(embeddings[0], other[0])


def test_fit_leaves_global_rng_alone(coffee):
    before = torch.random.get_rng_state()
    RealignEmbedder(**FAST, random_state=0).fit(coffee.X)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_history_records_every_iteration(fitted):
    embedder, _ = fitted
    assert embedder.n_iter_ == 3
    assert [record["iteration"] for record in embedder.history_] == [1, 2, 3]
    for record in embedder.history_:
        for key in ("loss", "align", "idm", "inter", "spread", "solver_time", "time"):
            assert np.isfinite(record[key]), key
        assert record["spread"] > 0
        assert 0 < record["solver_time"] < record["time"]


def test_loss_is_weighted_sum_of_terms(coffee):
    embedder = RealignEmbedder(**FAST, lambda_idm=0.3, lambda_inter=2.0, random_state=0)
    embedder.fit(coffee.X)
    for record in embedder.history_:
        total = record["align"] + 0.3 * record["idm"] + 2.0 * record["inter"]
        assert record["loss"] == pytest.approx(total, rel=1e-5)


def test_fitted_attributes(coffee, fitted):
    embedder, _ = fitted
    assert embedder.input_kind_ == "features"
    assert embedder.n_features_in_ == 64
    assert embedder.device_ == torch.device("cpu")
    assert not embedder.module_.training


def test_clone_is_unfitted(fitted):
    embedder, _ = fitted
    copy = clone(embedder)
    assert copy.get_params() == embedder.get_params()
    assert not hasattr(copy, "module_")
    with pytest.raises(NotFittedError):
        copy.transform([np.zeros((5, 64), dtype=np.float32)])


def test_pickle_round_trip(coffee, fitted):
    embedder, embeddings = fitted
    restored = pickle.loads(pickle.dumps(embedder))
    assert all(p.device.type == "cpu" for p in restored.module_.parameters())
    assert np.array_equal(restored.transform(coffee.X[:1])[0], embeddings[0])
    assert restored.history_ == embedder.history_


def test_getstate_stores_cpu_module(fitted):
    embedder, _ = fitted
    state = embedder.__getstate__()
    assert state["module_"] is not embedder.module_
    assert all(p.device.type == "cpu" for p in state["module_"].parameters())


def test_verbose_logs_rate_and_time_left(coffee, caplog):
    with caplog.at_level(logging.INFO, logger="sk_realign.embedder"):
        RealignEmbedder(**FAST, verbose=2, random_state=0).fit(coffee.X)
    messages = [r.getMessage() for r in caplog.records if r.name == "sk_realign.embedder"]
    assert len(messages) == 3
    assert messages[0].startswith("[RealignEmbedder] iteration 1/3: loss ")
    assert "it/s" in messages[-1]
    assert "s left" in messages[-1]


def test_silent_by_default(coffee, caplog):
    with caplog.at_level(logging.INFO, logger="sk_realign.embedder"):
        RealignEmbedder(**FAST, random_state=0).fit(coffee.X)
    assert not [r for r in caplog.records if r.name == "sk_realign.embedder"]


def test_nan_loss_keeps_last_finite_weights(coffee, monkeypatch):
    reference = RealignEmbedder(**{**FAST, "max_iter": 1}, random_state=0).fit(coffee.X)

    # C-IDM is called twice per iteration; make the third iteration's loss NaN.
    calls = {"count": 0}
    cidm_loss = embedder_module.cidm_loss

    def failing_cidm(*args, **kwargs):
        calls["count"] += 1
        value = cidm_loss(*args, **kwargs)
        return value * float("nan") if calls["count"] > 4 else value

    monkeypatch.setattr(embedder_module, "cidm_loss", failing_cidm)
    embedder = RealignEmbedder(**{**FAST, "max_iter": 10}, random_state=0)
    with pytest.raises(FloatingPointError, match="NaN or infinite at iteration 3"):
        embedder.fit(coffee.X)

    assert embedder.n_iter_ == 2
    assert len(embedder.history_) == 2
    # The weights that started iteration 2 are those after one step.
    for name, value in reference.module_.state_dict().items():
        assert torch.equal(embedder.module_.state_dict()[name], value), name
    assert np.isfinite(embedder.transform(coffee.X[:1])[0]).all()


def test_collapse_warning(coffee):
    # A threshold of 1 flags any fall of the spread below its first value.
    embedder = RealignEmbedder(
        **{**FAST, "max_iter": 15}, collapse_threshold=1.0, lambda_idm=0.0, random_state=0
    )
    with pytest.warns(EmbeddingCollapseWarning, match="spread fell"):
        embedder.fit(coffee.X)
    spreads = [record["spread"] for record in embedder.history_]
    assert min(spreads) < spreads[0]


def test_no_collapse_warning_at_zero_threshold(coffee):
    with warnings.catch_warnings():
        warnings.simplefilter("error", EmbeddingCollapseWarning)
        RealignEmbedder(**FAST, collapse_threshold=0.0, random_state=0).fit(coffee.X)


def test_early_stopping_evaluates_held_out_pair(coffee):
    embedder = RealignEmbedder(
        **{**FAST, "max_iter": 40},
        early_stopping=True,
        validation_interval=2,
        n_iter_no_change=2,
        random_state=0,
    )
    embedder.fit(coffee.X)
    checked = [r["iteration"] for r in embedder.history_ if "validation_loss" in r]
    assert checked == list(range(2, embedder.n_iter_ + 1, 2))
    assert all(np.isfinite(r["validation_loss"]) for r in embedder.history_ if "validation_loss" in r)


def test_early_stopping_needs_four_videos(coffee):
    with pytest.raises(ValueError, match="at least 4 videos with early_stopping"):
        RealignEmbedder(**FAST, early_stopping=True).fit(coffee.X[:3])


@pytest.mark.parametrize(
    "options",
    [
        {"zeta": None, "tau": float("inf")},
        {"rho": 0.0},
        {"metric": "sqeuclidean", "zeta": 5.0},
        {"inter_negatives": "single"},
        {"differentiable_plan": True},
    ],
    ids=["no-sink", "no-gw", "sqeuclidean", "single-negative", "differentiable"],
)
def test_loss_options_train(coffee, options):
    embedder = RealignEmbedder(**FAST, **options, random_state=0).fit(coffee.X[:3])
    assert all(np.isfinite(r["loss"]) for r in embedder.history_)
    assert embedder.transform(coffee.X[3:4])[0].shape == (271, 128)


def test_fit_needs_two_videos(coffee):
    with pytest.raises(ValueError, match="at least 2 videos; got 1"):
        RealignEmbedder(**FAST).fit(coffee.X[:1])


def test_fit_rejects_invalid_parameter(coffee):
    with pytest.raises(InvalidParameterError, match="rho"):
        RealignEmbedder(rho=1.5).fit(coffee.X)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error without CUDA")
def test_cuda_without_device_is_an_error(coffee):
    with pytest.raises(ValueError, match="device='cuda'"):
        RealignEmbedder(**{**FAST, "device": "cuda"}).fit(coffee.X)


def test_transform_rejects_other_feature_size(fitted):
    embedder, _ = fitted
    with pytest.raises(ValueError, match="expects 64"):
        embedder.transform([np.zeros((10, 32), dtype=np.float32)])


def test_transform_rejects_frames_after_features(fitted):
    embedder, _ = fitted
    with pytest.raises(ValueError, match="fitted on features but transform got frames"):
        embedder.transform([np.zeros((4, 16, 16, 3), dtype=np.uint8)])


def test_fit_rejects_mixed_inputs(coffee):
    X = [coffee.X[0], np.zeros((4, 16, 16, 3), dtype=np.uint8)]
    with pytest.raises(ValueError, match="both feature arrays"):
        RealignEmbedder(**FAST).fit(X)


def test_frame_input_on_real_clip(data_dir):
    pytest.importorskip("av")
    from sk_realign.io import read_video

    frames = read_video(data_dir / "videos" / "carphone_pristine.mp4", size=(40, 48))
    assert frames.shape == (120, 40, 48, 3)
    assert frames.dtype == np.uint8

    # Two halves of the clip as two videos; the trunk is random.
    videos = [frames[:64], frames[64:]]
    embedder = RealignEmbedder(
        max_iter=2, n_frames=4, batch_size=1, frame_size=32, context_stride=2,
        inference_batch_size=64, device="cpu", random_state=0,
    )
    with pytest.warns(RandomBackboneWarning):
        embeddings = embedder.fit_transform(videos)

    assert embedder.input_kind_ == "frames"
    assert not hasattr(embedder, "n_features_in_")
    assert [e.shape for e in embeddings] == [(64, 128), (56, 128)]
    assert all(e.dtype == np.float32 for e in embeddings)
    assert all(np.isfinite(e).all() for e in embeddings)
    assert len(embedder.history_) == 2


def test_path_input_on_real_clip(data_dir):
    pytest.importorskip("av")
    from sk_realign.io import read_video

    path = data_dir / "videos" / "carphone_pristine.mp4"
    n_decoded = len(read_video(path, fps=5, size=32))
    embedder = RealignEmbedder(
        max_iter=1, n_frames=4, batch_size=1, frame_size=32, fps=5, context_stride=1,
        device="cpu", random_state=0,
    )
    with pytest.warns(RandomBackboneWarning):
        embedder.fit([path, str(path)])
    embeddings = embedder.transform([path])

    assert embedder.input_kind_ == "frames"
    assert embeddings[0].shape == (n_decoded, 128)
    assert np.isfinite(embeddings[0]).all()
