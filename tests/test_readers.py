import numpy as np
import pytest

from sk_realign._validation import check_labels, check_videos
from sk_realign.datasets import (
    load_breakfast,
    load_crosstask,
    load_egoprocel,
    load_procel,
    read_crosstask_csv,
    read_crosstask_tasks,
    read_step_csv,
)
from sk_realign.labels import ids_to_names, read_mapping, write_mapping


@pytest.fixture
def crosstask_dir(data_dir):
    return data_dir / "crosstask"


@pytest.fixture
def egoprocel_dir(data_dir):
    return data_dir / "egoprocel"


# --- EgoProceL and ProceL ------------------------------------------------------------


def test_step_csv_read(egoprocel_dir):
    segments, names = read_step_csv(egoprocel_dir / "clean" / "sandwich_01.csv")
    assert segments == [(0.0, 2.5, 1), (3.0, 6.0, 2), (6.0, 8.5, 3)]
    assert names == {1: "take bread", 2: "spread butter", 3: "add cheese, ham"}


def test_egoprocel_hand_labels(egoprocel_dir):
    data = load_egoprocel(
        egoprocel_dir / "clean", fps=2, n_frames={"sandwich_01": 20, "sandwich_02": 10}
    )
    assert data.video_names == ["sandwich_01", "sandwich_02"]
    # sandwich_01 at 2 fps: [0, 2.5) covers frames 0-4, [3, 6) frames 6-11, [6, 8.5) 12-16.
    np.testing.assert_array_equal(
        data.y[0], [1] * 5 + [0] + [2] * 6 + [3] * 5 + [0] * 3
    )
    np.testing.assert_array_equal(data.y[1], [0, 0, 2, 2, 1, 1, 1, 1, 0, 0])
    assert data.label_names == {
        0: "background", 1: "take bread", 2: "spread butter", 3: "add cheese, ham"
    }
    assert data.X is None
    assert data.fps == 2


def test_egoprocel_without_lengths(egoprocel_dir):
    data = load_egoprocel(egoprocel_dir / "clean", fps=2)
    assert [len(labels) for labels in data.y] == [17, 8]


def test_procel_same_format(egoprocel_dir):
    ego = load_egoprocel(egoprocel_dir / "clean", fps=4)
    procel = load_procel(egoprocel_dir / "clean", fps=4)
    assert procel.video_names == ego.video_names
    assert procel.label_names == ego.label_names
    for procel_labels, ego_labels in zip(procel.y, ego.y):
        np.testing.assert_array_equal(procel_labels, ego_labels)


def test_egoprocel_overlap_policies(egoprocel_dir):
    folder = egoprocel_dir / "overlap"
    with pytest.raises(ValueError, match=r"sandwich_03.csv: Segment 0 .* both cover frame 4"):
        load_egoprocel(folder, fps=2, n_frames={"sandwich_03": 12})

    first = load_egoprocel(folder, fps=2, n_frames={"sandwich_03": 12}, overlap="first")
    last = load_egoprocel(folder, fps=2, n_frames={"sandwich_03": 12}, overlap="last")
    np.testing.assert_array_equal(first.y[0], [1] * 6 + [2] * 4 + [0] * 2)
    np.testing.assert_array_equal(last.y[0], [1] * 4 + [2] * 6 + [0] * 2)


def test_egoprocel_out_of_range_policies(egoprocel_dir):
    folder = egoprocel_dir / "out_of_range"
    with pytest.raises(ValueError, match=r"sandwich_04.csv: Segment 0 .* lies outside"):
        load_egoprocel(folder, fps=2, n_frames={"sandwich_04": 12})

    clipped = load_egoprocel(folder, fps=2, n_frames={"sandwich_04": 12}, out_of_range="clip")
    np.testing.assert_array_equal(clipped.y[0], [1, 1] + [0] * 6 + [2] * 4)


def test_egoprocel_features_matched(egoprocel_dir, tmp_path, rng):
    features_a = rng.normal(size=(20, 6)).astype(np.float32)
    features_b = rng.normal(size=(10, 6))
    np.save(tmp_path / "sandwich_01.npy", features_a)
    np.savetxt(tmp_path / "sandwich_02.txt", features_b)
    np.save(tmp_path / "unannotated.npy", features_a)

    data = load_egoprocel(egoprocel_dir / "clean", tmp_path, fps=2)
    np.testing.assert_array_equal(data.X[0], features_a)
    np.testing.assert_allclose(data.X[1], features_b, rtol=1e-6)
    assert data.X[1].dtype == np.float32
    assert [len(labels) for labels in data.y] == [20, 10]
    np.testing.assert_array_equal(data.y[1], [0, 0, 2, 2, 1, 1, 1, 1, 0, 0])


def test_unmatched_features_listed(egoprocel_dir, tmp_path):
    np.save(tmp_path / "sandwich_01.npy", np.zeros((20, 3)))
    np.save(tmp_path / "sandwich_2.npy", np.zeros((10, 3)))
    with pytest.raises(ValueError, match=r"annotated video\(s\) 'sandwich_02'.*'sandwich_2'"):
        load_egoprocel(egoprocel_dir / "clean", tmp_path, fps=2)


def test_feature_file_errors(egoprocel_dir, tmp_path):
    np.save(tmp_path / "sandwich_01.npy", np.zeros((20, 3)))
    np.save(tmp_path / "sandwich_02.npy", np.zeros(10))
    with pytest.raises(ValueError, match=r"sandwich_02.npy' have shape \(10,\)"):
        load_egoprocel(egoprocel_dir / "clean", tmp_path, fps=2)

    np.save(tmp_path / "sandwich_02.npy", np.zeros((10, 3)))
    np.savetxt(tmp_path / "sandwich_02.txt", np.zeros((10, 3)))
    with pytest.raises(ValueError, match="Two feature files for 'sandwich_02'"):
        load_egoprocel(egoprocel_dir / "clean", tmp_path, fps=2)


def test_features_and_lengths_exclusive(egoprocel_dir, tmp_path):
    np.save(tmp_path / "sandwich_01.npy", np.zeros((20, 3)))
    with pytest.raises(ValueError, match="not both"):
        load_egoprocel(egoprocel_dir / "clean", tmp_path, fps=2, n_frames={"sandwich_01": 3})


def test_missing_frame_count_listed(egoprocel_dir):
    with pytest.raises(ValueError, match=r"no frame count for the video\(s\) \['sandwich_02'\]"):
        load_egoprocel(egoprocel_dir / "clean", fps=2, n_frames={"sandwich_01": 20})


@pytest.mark.parametrize(
    "text, message",
    [
        ("start,end,step\n0,1,1. a\n", "line 1: the start 'start' is not a number"),
        ("0,1\n", "line 1: '0,1' has 2 field"),
        ("0,1,take bread\n", "'take bread' does not begin with its number"),
        ("0,1,0. idle\n", "step number 0 is the background id"),
        ("0,1,1. a\n2,3,1. b\n", "line 2: step 1 is named 'b', but 'a'"),
    ],
)
def test_step_csv_errors(tmp_path, text, message):
    path = tmp_path / "video.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_step_csv(path)


def test_step_csv_number_forms(tmp_path):
    path = tmp_path / "video.csv"
    path.write_text("0,1,1) take bread\n\n1,2,2 spread butter\n2,3,3.\n")
    segments, names = read_step_csv(path)
    assert [step for _, _, step in segments] == [1, 2, 3]
    assert names == {1: "take bread", 2: "spread butter", 3: "step 3"}


def test_step_csv_with_bom_and_crlf(tmp_path):
    path = tmp_path / "video.csv"
    text = "0.0,1.5,1. take bread\r\n1.5,3.0,2. spread butter\r\n"
    path.write_bytes(text.encode("utf-8-sig"))
    segments, names = read_step_csv(path)
    assert segments == [(0.0, 1.5, 1), (1.5, 3.0, 2)]
    assert names == {1: "take bread", 2: "spread butter"}


def test_conflicting_names_across_files(tmp_path):
    (tmp_path / "a.csv").write_text("0,1,1. take bread\n")
    (tmp_path / "b.csv").write_text("0,1,1. take toast\n")
    message = "Step 1 is named 'take toast' in .*b.csv but 'take bread'"
    with pytest.raises(ValueError, match=message):
        load_egoprocel(tmp_path, fps=1)


def test_missing_or_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_egoprocel(tmp_path / "absent", fps=1)
    with pytest.raises(ValueError, match="contains no files with suffix .csv"):
        load_egoprocel(tmp_path, fps=1)


def test_annotation_file_list(egoprocel_dir):
    data = load_egoprocel([egoprocel_dir / "clean" / "sandwich_02.csv"], fps=2)
    assert data.video_names == ["sandwich_02"]
    with pytest.raises(FileNotFoundError, match="absent.csv"):
        load_egoprocel([egoprocel_dir / "absent.csv"], fps=2)


# --- CrossTask (real annotation files of task 105222) --------------------------------


def test_crosstask_csv_read(crosstask_dir):
    segments = read_crosstask_csv(crosstask_dir / "annotations" / "105222_5sOPNTbFe6A.csv")
    assert segments[0] == (92.39, 114.3, 1)
    assert [step for _, _, step in segments] == [1, 3, 4, 2, 5]


def test_crosstask_tasks_read(crosstask_dir):
    tasks = read_crosstask_tasks(crosstask_dir / "tasks_primary.txt")
    assert list(tasks) == ["105222"]
    assert tasks["105222"].title == "Make Kimchi Fried Rice"
    assert tasks["105222"].n_steps == 6
    assert tasks["105222"].steps == list(read_mapping(crosstask_dir / "mapping.txt").values())


def test_crosstask_real_labels_at_1_fps(crosstask_dir):
    with pytest.warns(UserWarning, match=r"L0MVdMNihGI.csv: Segment 2 \(step 2, 68.88 s"):
        data = load_crosstask(
            crosstask_dir / "annotations", fps=1, tasks=crosstask_dir / "tasks_primary.txt",
            overlap="first",
        )
    assert data.task == "105222"
    assert data.task_title == "Make Kimchi Fried Rice"
    assert data.video_names == ["5sOPNTbFe6A", "L0MVdMNihGI"]
    assert data.label_names[0] == "background"
    assert data.label_names[6] == "stir_mixture"

    # 5sOPNTbFe6A: step 1 on frames 92-113, 3 on 115-118, 4 on 119-124, 2 on 126-139,
    # 5 on 140-153; frames 114 and 125 fall between segments.
    expected = np.zeros(154, dtype=np.int64)
    expected[92:114] = 1
    expected[115:119] = 3
    expected[119:125] = 4
    expected[126:140] = 2
    expected[140:154] = 5
    np.testing.assert_array_equal(data.y[0], expected)

    # L0MVdMNihGI: steps 4 and 6 both cover frame 63 and "first" keeps step 4; the 0.35 s
    # segment of step 2 covers no frame centre at 1 fps.
    expected = np.zeros(114, dtype=np.int64)
    expected[63] = 4
    expected[64:66] = 6
    expected[69:72] = 6
    expected[112:114] = 1
    np.testing.assert_array_equal(data.y[1], expected)


def test_crosstask_real_overlap_raises(crosstask_dir):
    with pytest.raises(ValueError, match=r"105222_L0MVdMNihGI.csv: .*both cover frame 635"):
        load_crosstask(crosstask_dir / "annotations", fps=10)


def test_crosstask_overlap_last_at_10_fps(crosstask_dir):
    data = load_crosstask(crosstask_dir / "annotations", fps=10, overlap="last")
    labels = data.y[1]

    # Step 4 spans 62.56-63.62 s (frames 626-635) and step 6 starts at 63.46 s (frame
    # 635 on): "last" gives the shared frame 635, centred at 63.55 s, to step 6.
    assert labels[625] == 0
    assert labels[626] == 4
    assert labels[634] == 4
    assert labels[635] == 6
    np.testing.assert_array_equal(np.flatnonzero(labels == 2), np.arange(689, 692))
    assert len(labels) == 1139
    assert data.label_names == {0: "background", **{i: f"step {i}" for i in range(1, 7)}}


def test_crosstask_names_from_mapping(crosstask_dir):
    with pytest.warns(UserWarning, match="covers no frame centre at 2 fps"):
        data = load_crosstask(
            crosstask_dir / "annotations", fps=2, mapping=crosstask_dir / "mapping.txt",
            overlap="last",
        )
    assert data.label_names == {0: "background", **read_mapping(crosstask_dir / "mapping.txt")}
    assert data.task_title is None
    names = set(ids_to_names(data.y[0], data.label_names))
    assert names == {"background", "add_onion", "add_rice", "add_ham", "add_kimchi",
                     "pour_sesame_oil"}


def test_crosstask_features_by_video_or_task(crosstask_dir, tmp_path):
    np.save(tmp_path / "5sOPNTbFe6A.npy", np.ones((160, 4), dtype=np.float32))
    np.save(tmp_path / "105222_L0MVdMNihGI.npy", np.ones((120, 4), dtype=np.float32))
    with pytest.warns(UserWarning, match="covers no frame centre"):
        data = load_crosstask(crosstask_dir / "annotations", tmp_path, fps=1, overlap="last")
    assert [x.shape for x in data.X] == [(160, 4), (120, 4)]
    assert [len(y) for y in data.y] == [160, 120]
    assert data.y[0][150] == 5
    assert data.y[0][155] == 0


def test_crosstask_short_features_out_of_range(crosstask_dir, tmp_path):
    np.save(tmp_path / "5sOPNTbFe6A.npy", np.ones((150, 4)))
    np.save(tmp_path / "L0MVdMNihGI.npy", np.ones((120, 4)))
    with pytest.raises(ValueError, match=r"5sOPNTbFe6A.csv: Segment 4 .* lies outside"):
        load_crosstask(crosstask_dir / "annotations", tmp_path, fps=1, overlap="last")

    with pytest.warns(UserWarning, match="covers no frame centre"):
        data = load_crosstask(
            crosstask_dir / "annotations", tmp_path, fps=1, overlap="last",
            out_of_range="clip",
        )
    np.testing.assert_array_equal(np.flatnonzero(data.y[0] == 5), np.arange(140, 150))


def test_crosstask_several_tasks(crosstask_dir, tmp_path):
    for path in (crosstask_dir / "annotations").iterdir():
        (tmp_path / path.name).write_text(path.read_text())
    (tmp_path / "16815_abc.csv").write_text("1,0.0,2.0\n")
    with pytest.raises(ValueError, match=r"2 tasks \(\['105222', '16815'\]\); pass task="):
        load_crosstask(tmp_path, fps=1)

    data = load_crosstask(tmp_path, fps=1, task=16815)
    assert data.video_names == ["abc"]
    with pytest.raises(ValueError, match="No annotation file of task '999'"):
        load_crosstask(tmp_path, fps=1, task="999")


def test_crosstask_step_beyond_task(crosstask_dir, tmp_path):
    (tmp_path / "105222_abc.csv").write_text("7,0.0,2.0\n")
    with pytest.raises(ValueError, match=r"step number\(s\) \[7\], which have no name"):
        load_crosstask(tmp_path, fps=1, tasks=crosstask_dir / "tasks_primary.txt")
    (tmp_path / "16815_abc.csv").write_text("1,0.0,2.0\n")
    with pytest.raises(ValueError, match="Task '16815' is not in"):
        load_crosstask(tmp_path, fps=1, task="16815", tasks=crosstask_dir / "tasks_primary.txt")


@pytest.mark.parametrize(
    "text, message",
    [
        ("step,start,end\n1,0,1\n", "the step 'step' is not an integer >= 1"),
        ("0,0.0,1.0\n", "the step '0' is not an integer >= 1"),
        ("1,0.0\n", "has 2 field"),
        ("1,zero,1.0\n", "the start 'zero' is not a number"),
    ],
)
def test_crosstask_csv_errors(tmp_path, text, message):
    path = tmp_path / "105222_abc.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_crosstask_csv(path)


def test_crosstask_bad_file_name(tmp_path):
    (tmp_path / "abc.csv").write_text("1,0.0,1.0\n")
    with pytest.raises(ValueError, match="not of the form <task>_<video>.csv"):
        load_crosstask(tmp_path, fps=1)


@pytest.mark.parametrize(
    "text, message",
    [
        ("1\nTitle\nurl\n", "has 3 line"),
        ("1\nTitle\nurl\nsix\na,b\n", "is 'six', not an integer"),
        ("1\nTitle\nurl\n3\na,b\n", "declares 3 steps but lists 2 names"),
        ("1\nT\nu\n1\na\n\n1\nT\nu\n1\na\n", "task '1' occurs twice"),
    ],
)
def test_crosstask_tasks_errors(tmp_path, text, message):
    path = tmp_path / "tasks_primary.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_crosstask_tasks(path)


def test_crosstask_tasks_without_final_blank(tmp_path):
    path = tmp_path / "tasks_primary.txt"
    path.write_text("1\nA\nu\n2\na,b\n\n2\nB\nu\n1\nc")
    tasks = read_crosstask_tasks(path)
    assert tasks["1"].steps == ["a", "b"]
    assert tasks["2"].steps == ["c"]


# --- Breakfast (the bundled real labels and features, written out in its layout) -----


@pytest.fixture
def breakfast_layout(coffee, tmp_path):
    labels_dir = tmp_path / "groundTruth"
    features_dir = tmp_path / "features"
    labels_dir.mkdir()
    features_dir.mkdir()
    for index, (name, features, labels) in enumerate(
        zip(coffee.video_names, coffee.X, coffee.y)
    ):
        names = ids_to_names(labels, coffee.label_names)
        (labels_dir / name).write_text("\n".join(names) + "\n")
        if index < 2:
            np.savetxt(features_dir / f"{name}.txt", features, fmt="%.9g")
        else:
            np.save(features_dir / f"{name}.npy", features)
    write_mapping(coffee.label_names, tmp_path / "mapping.txt")
    return tmp_path


def test_breakfast_real_round_trip(coffee, breakfast_layout):
    data = load_breakfast(
        breakfast_layout / "groundTruth", breakfast_layout / "mapping.txt",
        breakfast_layout / "features",
    )
    assert data.video_names == coffee.video_names
    assert data.label_names == coffee.label_names
    assert data.fps == 15
    for loaded, expected in zip(data.y, coffee.y):
        np.testing.assert_array_equal(loaded, expected)
    for loaded, expected in zip(data.X, coffee.X):
        assert loaded.dtype == np.float32
        np.testing.assert_array_equal(loaded, expected)

    # The Bunch passes the data contract as it is.
    videos = check_videos(data.X)
    labels = check_labels(data.y, lengths=[len(video) for video in videos])
    assert [len(y) for y in labels] == [917, 1119, 472, 271, 571]


def test_breakfast_labels_only(coffee, breakfast_layout):
    data = load_breakfast(breakfast_layout / "groundTruth", coffee.label_names)
    assert data.X is None
    assert [len(y) for y in data.y] == [917, 1119, 472, 271, 571]


def test_breakfast_unknown_label(breakfast_layout):
    path = breakfast_layout / "groundTruth" / "P08_webcam01_P08_coffee"
    path.write_text("SIL\npour_tea\n")
    with pytest.raises(ValueError, match=r"P08_webcam01_P08_coffee: Names not in .*'pour_tea'"):
        load_breakfast(breakfast_layout / "groundTruth", breakfast_layout / "mapping.txt")


def test_breakfast_length_mismatch(breakfast_layout):
    path = breakfast_layout / "groundTruth" / "P08_webcam01_P08_coffee"
    path.write_text("SIL\n" * 270)
    with pytest.raises(ValueError, match="'P08_webcam01_P08_coffee' have 271 rows but .* 270"):
        load_breakfast(
            breakfast_layout / "groundTruth", breakfast_layout / "mapping.txt",
            breakfast_layout / "features",
        )
