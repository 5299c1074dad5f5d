"""Mistakes users make with the package: each gets a clear error, never a wrong result."""

import numpy as np
import pytest

from sk_realign import KeyStepSegmenter


@pytest.mark.parametrize("prototypes", ["kmeans", "fuzzy-cmeans"])
def test_segmenter_huge_feature_rejected_in_fit(prototypes, rng):
    video = rng.normal(size=(10, 4))
    video[3, 1] = 1e300
    segmenter = KeyStepSegmenter(2, prototypes=prototypes, n_init=1, random_state=0)
    with pytest.raises(ValueError, match=r"Video 0 has a feature of absolute value 1e\+300"):
        segmenter.fit([video])


@pytest.mark.parametrize("prototypes", ["kmeans", "fuzzy-cmeans"])
def test_segmenter_huge_feature_rejected_in_predict(prototypes, rng):
    segmenter = KeyStepSegmenter(2, prototypes=prototypes, n_init=1, random_state=0)
    segmenter.fit([rng.normal(size=(10, 4))])
    far = rng.normal(size=(10, 4)) * 1e200
    with pytest.raises(ValueError, match="Video 1 has a feature .*StandardScaler"):
        segmenter.predict([rng.normal(size=(10, 4)), far])


def test_labels_mixing_names_and_ids_rejected():
    from sk_realign._validation import check_labels

    y = [np.array([0, 0, 1]), np.array(["SIL", "pour", "pour"])]
    with pytest.raises(ValueError, match=r"video 1 are names .* video 0 are numbers"):
        check_labels(y)


def test_task_score_mixing_names_and_ids_rejected():
    from sk_realign.metrics import task_scores

    y_true = [np.array([0, 0, 1, 1]), np.array(["SIL", "SIL", "1", "1"])]
    y_pred = [np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])]
    with pytest.raises(ValueError, match="names_to_ids"):
        task_scores(y_true, y_pred)


def test_labels_flat_list_rejected():
    from sk_realign._validation import check_labels

    with pytest.raises(ValueError, match=r"flat list of 3 labels.*\[labels\]"):
        check_labels([0, 1, 1])


@pytest.mark.parametrize("protocol", ["per-video", "task"])
def test_metrics_empty_video_rejected(protocol):
    from sk_realign.metrics import procedure_learning_scores

    y_true = [np.array([1, 1, 2]), np.array([], dtype=np.int64)]
    y_pred = [np.array([0, 0, 1]), np.array([], dtype=np.int64)]
    with pytest.raises(ValueError, match="Video 1 has no frames"):
        procedure_learning_scores(y_true, y_pred, protocol=protocol)


def test_metrics_empty_list_rejected():
    from sk_realign.metrics import per_video_scores

    with pytest.raises(ValueError, match="y_true has no videos"):
        per_video_scores([], [])


def test_uniform_split_of_padded_array():
    from sk_realign.metrics import uniform_segmentation

    padded = np.full((2, 5, 3), np.nan)
    padded[0] = 1.0
    padded[1, :3] = 1.0
    labels = uniform_segmentation(padded, 2)
    assert len(labels) == 2
    np.testing.assert_array_equal(labels[0], [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(labels[1], [0, 0, 1])


def test_uniform_split_of_one_video_rejected():
    from sk_realign.metrics import uniform_segmentation

    with pytest.raises(ValueError, match=r"Wrap a single video in a list"):
        uniform_segmentation(np.zeros((6, 4)), 2)


@pytest.fixture
def latin1_files(tmp_path):
    """One file of every annotation format, each written in Latin-1 with an accented name."""
    contents = {
        "step.csv": "0.0,1.0,1. café\n",
        "crosstask.csv": "1,0.0,1.0\n\xe9\n",
        "tasks.txt": "1\nCafé\nn/a\n1\ncafé\n",
        "labels.txt": "SIL\ncafé\n",
        "mapping.txt": "0 SIL\n1 café\n",
    }
    paths = {}
    for name, text in contents.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(text.encode("latin-1"))
    return paths


def test_readers_name_non_utf8_file(latin1_files):
    from sk_realign.datasets import (
        read_crosstask_csv,
        read_crosstask_tasks,
        read_frame_labels,
        read_step_csv,
    )
    from sk_realign.labels import read_mapping

    readers = {
        "step.csv": read_step_csv,
        "crosstask.csv": read_crosstask_csv,
        "tasks.txt": read_crosstask_tasks,
        "labels.txt": lambda path: read_frame_labels(path, {0: "SIL", 1: "café"}),
        "mapping.txt": read_mapping,
    }
    for name, reader in readers.items():
        with pytest.raises(ValueError, match=f"{name} is not UTF-8 text: the byte 0xe9"):
            reader(latin1_files[name])


def test_mapping_folder_is_not_missing(tmp_path):
    from sk_realign.labels import read_mapping

    with pytest.raises(IsADirectoryError, match="is a folder; expected a text file"):
        read_mapping(tmp_path)


def test_segments_negative_step_rejected():
    from sk_realign.labels import segments_to_labels

    with pytest.raises(ValueError, match="Segment 1 has the negative step id -2"):
        segments_to_labels([(0.0, 1.0, 1), (1.0, 2.0, -2)], fps=2)


def test_video_folder_is_not_missing(tmp_path, data_dir):
    from sk_realign._validation import check_videos
    from sk_realign.io import probe_video, read_video, read_videos

    with pytest.raises(IsADirectoryError, match="is a folder; expected a video file"):
        read_video(tmp_path)
    with pytest.raises(IsADirectoryError, match="is a folder; expected a video file"):
        probe_video(tmp_path)
    with pytest.raises(IsADirectoryError, match="Video 0 is the folder"):
        check_videos([tmp_path], kinds=("paths",))

    result = read_videos(
        [tmp_path, data_dir / "videos" / "carphone_pristine.mp4"], fps=1, on_error="skip"
    )
    assert len(result.videos) == 1
    assert list(result.errors) == [str(tmp_path)]


@pytest.mark.parametrize(
    "y_true, y_pred, fps, message",
    [
        ([], [], None, "y_true has no videos"),
        ([[0, 1, 1]], [[0, 1, 1]], 0, "fps must be a positive finite number or None. Got 0"),
        ([[0, 1, 1]], [[0, 1, 1]], -15.0, "Got -15.0 instead"),
    ],
)
def test_timeline_bad_input_rejected(y_true, y_pred, fps, message):
    from sk_realign.plotting import plot_segmentation_timeline

    with pytest.raises(ValueError, match=message):
        plot_segmentation_timeline(y_true, y_pred, fps=fps)


def test_alpha_expansion_subnormal_costs():
    from sk_realign._graphcut import chain_energy, solve_chain_alpha_expansion

    # In units of the smallest subnormal float: unary 3, smoothness 1, so switching to
    # label 1 for the middle frame costs 2 against 3 for keeping label 0.
    unit = np.nextafter(0.0, 1.0)
    unary = np.array([[0.0, 3.0], [3.0, 0.0], [0.0, 3.0]]) * unit
    with np.errstate(all="raise"):
        labels = solve_chain_alpha_expansion(unary, smoothness=unit)
    np.testing.assert_array_equal(labels, [0, 1, 0])
    assert chain_energy(unary, labels, unit) == 2 * unit


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("clip.npy", np.array([["a", "b"]] * 4), r"have dtype <U1; expected numbers"),
        ("clip.txt", "", r"have shape \(0, 0\); expected \(n_frames, d\)"),
        ("clip.npy", np.zeros((0, 3)), r"have shape \(0, 3\); expected \(n_frames, d\)"),
    ],
)
def test_bad_feature_file_named(tmp_path, name, content, message):
    from sk_realign.datasets import load_egoprocel

    annotations = tmp_path / "clip.csv"
    annotations.write_text("0.0,1.0,1. take bread\n")
    features = tmp_path / "features"
    features.mkdir()
    if isinstance(content, str):
        (features / name).write_text(content)
    else:
        np.save(features / name, content)
    with pytest.raises(ValueError, match=f"features in .*{name}.* {message}"):
        load_egoprocel([annotations], features, fps=2)


def test_videos_hint_matches_dimension():
    from sk_realign._validation import check_videos

    with pytest.raises(ValueError, match="3-D array holds several videos") as error:
        check_videos([np.zeros((2, 10, 4))])
    assert "1-D array" not in str(error.value)
    scalar_message = r"shape \(\) and dtype float64; expected \(T_i, d\) features\.$"
    with pytest.raises(ValueError, match=scalar_message):
        check_videos([np.float64(3.0)])
    with pytest.raises(ValueError, match="1-D array is a single frame"):
        check_videos([np.zeros(4)])


def test_labels_to_segments_names_rejected():
    from sk_realign.labels import labels_to_segments

    with pytest.raises(ValueError, match="dtype <U3. Convert step names with names_to_ids"):
        labels_to_segments(["SIL", "cup", "cup"])


def test_write_mapping_mixed_ids_keeps_file(tmp_path):
    from sk_realign.labels import write_mapping

    path = tmp_path / "mapping.txt"
    path.write_text("0 SIL\n")
    with pytest.raises(ValueError, match="Mapping ids must be integers; got 'cup'"):
        write_mapping({0: "SIL", "cup": "take cup"}, path)
    assert path.read_text() == "0 SIL\n"


def test_ids_to_names_empty():
    from sk_realign.labels import ids_to_names

    names = ids_to_names([], {0: "SIL"})
    assert names.shape == (0,)
    assert names.dtype.kind == "U"


def test_plan_label_names_rejected():
    from sk_realign.plotting import plot_transport_plan

    with pytest.raises(ValueError, match="labels_a must contain integer labels; got dtype <U3"):
        plot_transport_plan(np.ones((4, 4)) / 16, labels_a=["SIL", "cup", "cup"])


@pytest.mark.parametrize("length", [3.5, True, np.float64(4.0)])
def test_uniform_split_bad_length_rejected(length):
    from sk_realign.metrics import uniform_segmentation

    with pytest.raises(ValueError, match="Video 1 has the length .*expected an int"):
        uniform_segmentation([4, length], 2)


def test_segmenter_bool_key_steps_rejected(rng):
    with pytest.raises(ValueError, match="n_key_steps must be an int >= 1, not a bool"):
        KeyStepSegmenter(True).fit([rng.normal(size=(10, 4))])


@pytest.mark.parametrize("row", ["0,5,1,5,1. take bread", "0,5,2,1. take bread"])
def test_step_csv_decimal_commas_rejected(tmp_path, row):
    from sk_realign.datasets import read_step_csv

    path = tmp_path / "clip.csv"
    path.write_text(row + "\n")
    with pytest.raises(ValueError, match="line 1: .* looks like times written with decimal"):
        read_step_csv(path)


def test_step_csv_numbers_in_names_kept(tmp_path):
    from sk_realign.datasets import read_step_csv

    path = tmp_path / "clip.csv"
    path.write_text("0,5,3. add 2, 3 eggs\n5.5,7,4. stir, 10 times\n")
    segments, names = read_step_csv(path)
    assert segments == [(0.0, 5.0, 3), (5.5, 7.0, 4)]
    assert names == {3: "add 2, 3 eggs", 4: "stir, 10 times"}


def test_step_csv_comma_after_number(tmp_path):
    from sk_realign.datasets import read_step_csv

    path = tmp_path / "clip.csv"
    path.write_text("0,5,3, pour water\n")
    segments, names = read_step_csv(path)
    assert segments == [(0.0, 5.0, 3)]
    assert names == {3: "pour water"}


def test_videos_in_object_array_accepted(rng):
    from sk_realign._validation import check_videos

    videos = [rng.normal(size=(5, 3)), rng.normal(size=(7, 3))]
    stored = np.empty(2, dtype=object)
    stored[:] = videos
    checked = check_videos(stored)
    assert [video.shape for video in checked] == [(5, 3), (7, 3)]
    np.testing.assert_array_equal(checked[1], videos[1])


def test_integer_padded_array_hint():
    from sk_realign._validation import check_videos

    with pytest.raises(ValueError, match=r"must be float to hold NaN: pass X\.astype") as error:
        check_videos(np.ones((2, 10, 4), dtype=np.int64))
    assert "Wrap a single video" not in str(error.value)


def test_video_timestamp_jump_rejected(tmp_path):
    import fractions

    import av
    from sk_realign.io import VideoReadError, probe_video, read_video

    # Ten frames at 30 fps, then two frames five hours later. Written by libx264, the file
    # declares 0.4 s, so its header and its timestamps disagree as in a damaged file.
    # Sampling at 30 fps would need 540,000 copies of the tenth frame.
    path = tmp_path / "jump.mp4"
    time_base = fractions.Fraction(1, 30)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        stream.codec_context.time_base = time_base
        for index, pts in enumerate([*range(10), 540_000, 540_001]):
            frame = av.VideoFrame.from_ndarray(
                np.full((32, 32, 3), 20 * index, dtype=np.uint8), format="rgb24"
            )
            frame.pts, frame.time_base = pts, time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)

    assert probe_video(path).duration < 1.0
    assert read_video(path).shape == (12, 32, 32, 3)
    with pytest.raises(VideoReadError, match="jumps to the timestamp 18000 s at frame 10"):
        read_video(path, fps=30)


@pytest.mark.parametrize("objective, kind", [(1.0, "float"), ("abc", "str")])
def test_objective_plot_scalar_rejected(objective, kind):
    from sk_realign.plotting import plot_objective_history

    with pytest.raises(ValueError, match=f"objective must be a sequence .*; got {kind}"):
        plot_objective_history(objective)
