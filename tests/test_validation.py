import numpy as np
import pytest
from sklearn.utils import _safe_indexing

from sk_realign._validation import check_labels, check_videos


def test_list_of_features_kept_as_float(rng):
    X = [rng.normal(size=(5, 3)), rng.normal(size=(7, 3)).astype(np.float32)]
    videos = check_videos(X)
    assert [v.shape for v in videos] == [(5, 3), (7, 3)]
    assert videos[0].dtype == np.float64
    assert videos[1].dtype == np.float32


def test_integer_features_converted_to_float():
    videos = check_videos([np.arange(6).reshape(3, 2)])
    assert videos[0].dtype == np.float64
    np.testing.assert_array_equal(videos[0], [[0, 1], [2, 3], [4, 5]])


def test_nan_padded_array_unpadded():
    X = np.full((2, 4, 3), np.nan)
    X[0, :4] = 1.0
    X[1, :2] = 2.0
    videos = check_videos(X)
    assert [v.shape for v in videos] == [(4, 3), (2, 3)]
    assert np.all(videos[1] == 2.0)


def test_nan_inside_padded_video_rejected():
    X = np.ones((1, 4, 3))
    X[0, 1] = np.nan
    with pytest.raises(ValueError, match="all-NaN row at frame 1"):
        check_videos(X)


@pytest.mark.parametrize(
    "X, message",
    [
        ([], "empty list"),
        (np.ones((5, 3)), "Wrap a single video in a list"),
        ("video.mp4", "single path"),
        ({"a": 1}, "list or tuple of videos"),
        ([np.ones((5, 3)), np.ones((5, 4))], "Video 1 has 4 features per frame"),
        ([np.ones((5, 3)), np.ones(5)], r"Video 1 is an array of shape \(5,\)"),
        ([np.array([[1.0, np.nan]])], r"NaN or inf, first at index \(0, 1\)"),
        ([np.array([[1.0, np.inf]])], "NaN or inf"),
        ([np.array([["a", "b"]])], "expected numbers"),
        ([np.ones((5, 0))], "0 features per frame"),
    ],
)
def test_bad_videos_rejected(X, message):
    with pytest.raises(ValueError, match=message):
        check_videos(X)


def test_too_few_frames_names_video_and_minimum():
    with pytest.raises(ValueError, match=r"Video 1 has 1 frame\(s\), but Est needs at least 2"):
        check_videos([np.ones((3, 2)), np.ones((1, 2))], min_frames=2, estimator="Est")


def test_feature_size_checked_against_fit():
    with pytest.raises(ValueError, match="expects 3 .*fitted data"):
        check_videos([np.ones((4, 2))], n_features=3)


def test_frames_and_paths_only_when_accepted(data_dir):
    frames = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="a frame array"):
        check_videos([frames])
    assert check_videos([frames], kinds=("frames",))[0].shape == (2, 8, 8, 3)
    path = data_dir / "videos" / "carphone_pristine.mp4"
    with pytest.raises(ValueError, match="takes arrays only"):
        check_videos([path])
    assert check_videos([str(path)], kinds=("paths",))[0] == path
    with pytest.raises(FileNotFoundError, match="Video 0: no such file"):
        check_videos(["missing.mp4"], kinds=("paths",))


def test_frames_need_three_channels():
    with pytest.raises(ValueError, match=r"frames of shape \(8, 8, 1\)"):
        check_videos([np.zeros((2, 8, 8, 1))], kinds=("frames",))


def test_safe_indexing_on_lists_and_padded_arrays(rng):
    X = [rng.normal(size=(n, 2)) for n in (3, 4, 5)]
    subset = _safe_indexing(X, [2, 0])
    assert [v.shape[0] for v in check_videos(subset)] == [5, 3]
    padded = np.full((3, 5, 2), np.nan)
    for i, v in enumerate(X):
        padded[i, : len(v)] = v
    assert [v.shape[0] for v in check_videos(_safe_indexing(padded, [1]))] == [4]


def test_string_labels_encoded_with_background_zero():
    y = check_labels([np.array(["SIL", "pour", "take"]), np.array(["take", "background"])], [3, 2])
    np.testing.assert_array_equal(y[0], [0, 1, 2])
    np.testing.assert_array_equal(y[1], [2, 0])


@pytest.mark.parametrize(
    "y, lengths, message",
    [
        ([np.zeros(3)], [3, 4], "1 label arrays but X has 2 videos"),
        ([np.zeros(3, dtype=int)], [4], "Video 0 has 4 frames but 3 labels"),
        ([np.array([0, -1])], [2], "negative value -1"),
        ([np.array([0.5, 1.0])], [2], "not integers"),
        ([np.zeros((2, 2), dtype=int)], [2], "expected a 1-D array"),
        (np.zeros(3, dtype=int), [3], "single 1-D array"),
        ([np.array([0.0, np.nan])], [2], "NaN or inf"),
    ],
)
def test_bad_labels_rejected(y, lengths, message):
    with pytest.raises(ValueError, match=message):
        check_labels(y, lengths)


def test_breakfast_labels_match_lengths(coffee):
    labels = check_labels(coffee.y, [len(v) for v in coffee.X])
    assert [len(l) for l in labels] == [917, 1119, 472, 271, 571]
    background = np.concatenate(labels) == 0
    assert background.mean() == pytest.approx(0.134, abs=0.001)
