import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sk_realign.labels import (
    ids_to_names,
    labels_to_segments,
    names_to_ids,
    read_mapping,
    segments_to_labels,
    write_mapping,
)


def test_segments_hand_case():
    # fps 2: frame centres at 0.25, 0.75, 1.25, ...; [0.5, 1.5) contains centres 0.75 and 1.25.
    labels = segments_to_labels([(0.5, 1.5, 2), (2.0, 2.5, 1)], fps=2, n_frames=6)
    np.testing.assert_array_equal(labels, [0, 2, 2, 0, 1, 0])
    assert labels.dtype == np.int64


def test_touching_segments_share_no_frame():
    labels = segments_to_labels([(0.0, 1.0, 1), (1.0, 2.0, 2)], fps=4, n_frames=8)
    np.testing.assert_array_equal(labels, [1, 1, 1, 1, 2, 2, 2, 2])


def test_centre_exactly_on_start_included():
    # Frame 1 at fps 2 has its centre at 0.75 s: a segment starting there covers it,
    # one ending there does not.
    np.testing.assert_array_equal(
        segments_to_labels([(0.75, 2.0, 3)], fps=2, n_frames=4), [0, 3, 3, 3]
    )
    np.testing.assert_array_equal(
        segments_to_labels([(0.0, 0.75, 3)], fps=2, n_frames=4), [3, 0, 0, 0]
    )


def test_float_error_on_boundaries_ignored():
    # 0.1 * 3 is 0.30000000000000004 and 0.7 * 10 - 0.5 is 6.499999999999999.
    labels = segments_to_labels([(0.1 * 3, 0.7, 5)], fps=10, n_frames=10)
    np.testing.assert_array_equal(np.flatnonzero(labels == 5), [3, 4, 5, 6])


def test_duration_gives_frame_count():
    # 2.05 s at 2 fps: frames start at 0, 0.5, 1, 1.5 and 2 s, all before the end.
    assert segments_to_labels([], fps=2, duration=2.05).shape == (5,)
    assert segments_to_labels([], fps=2, duration=2.0).shape == (4,)


def test_without_length_ends_at_last_segment():
    labels = segments_to_labels([(1.0, 2.0, 4)], fps=2)
    np.testing.assert_array_equal(labels, [0, 0, 4, 4])


def test_custom_background():
    labels = segments_to_labels([(0.0, 1.0, 0)], fps=1, n_frames=3, background=-1)
    np.testing.assert_array_equal(labels, [0, -1, -1])


def test_overlap_raises_by_default():
    segments = [(0.0, 3.0, 1), (2.0, 5.0, 2)]
    with pytest.raises(ValueError, match=r"both cover frame 4 \(2 s to 2.5 s\)"):
        segments_to_labels(segments, fps=2, n_frames=12)


def test_overlap_first_and_last():
    segments = [(0.0, 3.0, 1), (2.0, 5.0, 2)]
    first = segments_to_labels(segments, fps=2, n_frames=12, overlap="first")
    last = segments_to_labels(segments, fps=2, n_frames=12, overlap="last")
    np.testing.assert_array_equal(first, [1] * 6 + [2] * 4 + [0] * 2)
    np.testing.assert_array_equal(last, [1] * 4 + [2] * 6 + [0] * 2)


def test_overlap_first_keeps_earlier_listed_segment():
    # The policy follows list order, not time order.
    segments = [(2.0, 5.0, 2), (0.0, 3.0, 1)]
    first = segments_to_labels(segments, fps=2, n_frames=12, overlap="first")
    np.testing.assert_array_equal(first, [1] * 4 + [2] * 6 + [0] * 2)


def test_same_step_overlap_merged():
    labels = segments_to_labels([(0.0, 2.0, 3), (1.0, 3.0, 3)], fps=1, n_frames=4)
    np.testing.assert_array_equal(labels, [3, 3, 3, 0])


def test_out_of_range_raises_by_default():
    with pytest.raises(ValueError, match=r"Segment 1 \(step 2, 4 s to 7.5 s\) lies outside"):
        segments_to_labels([(0.0, 1.0, 1), (4.0, 7.5, 2)], fps=2, n_frames=12)
    with pytest.raises(ValueError, match="out_of_range='clip'"):
        segments_to_labels([(-0.5, 1.0, 1)], fps=2, n_frames=12)


def test_out_of_range_clipped():
    labels = segments_to_labels(
        [(-0.5, 1.0, 1), (4.0, 7.5, 2)], fps=2, n_frames=12, out_of_range="clip"
    )
    np.testing.assert_array_equal(labels, [1, 1] + [0] * 6 + [2] * 4)


def test_segment_outside_after_clip_warns():
    with pytest.warns(UserWarning, match="covers no frame centre"):
        labels = segments_to_labels([(8.0, 9.0, 1)], fps=2, n_frames=4, out_of_range="clip")
    np.testing.assert_array_equal(labels, [0, 0, 0, 0])


def test_short_segment_warns():
    with pytest.warns(UserWarning, match=r"Segment 0 \(step 2, 68.88 s to 69.23 s\)"):
        labels = segments_to_labels([(68.88, 69.23, 2)], fps=1, n_frames=80)
    assert not labels.any()


@pytest.mark.parametrize(
    "segments, kwargs, message",
    [
        ([(2.0, 1.0, 1)], {}, "ends at 1 s, before its start at 2 s"),
        ([(0.0, 1.0, 0)], {}, "the background id"),
        ([(0.0, 1.0, 1.5)], {}, "expected an integer step id"),
        ([(0.0, 1.0, "pour")], {}, "names_to_ids"),
        ([(0.0, 1.0)], {}, "expected a \\(start, end, step\\) triple"),
        ([("a", 1.0, 1)], {}, "expected numbers of seconds"),
        ([(0.0, np.inf, 1)], {}, "times must be finite"),
        ([], {}, "Give n_frames \\(or duration\\)"),
        ([(0.0, 1.0, 1)], {"n_frames": 4, "duration": 2.0}, "not both"),
        ([(0.0, 1.0, 1)], {"n_frames": -1}, "n_frames must be an int >= 0"),
        ([(0.0, 1.0, 1)], {"overlap": "max"}, "overlap must be one of"),
        ([(0.0, 1.0, 1)], {"out_of_range": "drop"}, "out_of_range must be one of"),
    ],
)
def test_segment_errors(segments, kwargs, message):
    with pytest.raises(ValueError, match=message):
        segments_to_labels(segments, fps=2, **kwargs)


@pytest.mark.parametrize("fps", [0, -1.0, np.nan, "15", True])
def test_bad_fps_rejected(fps):
    with pytest.raises(ValueError, match="fps must be a positive finite number"):
        segments_to_labels([(0.0, 1.0, 1)], fps=fps)


def test_float_steps_with_integer_values_accepted():
    labels = segments_to_labels(np.array([[0.0, 1.0, 2.0]]), fps=1, n_frames=2)
    np.testing.assert_array_equal(labels, [2, 0])


def test_labels_to_segments_hand_case():
    assert labels_to_segments([0, 2, 2, 0, 1, 0], fps=2) == [(0.5, 1.5, 2), (2.0, 2.5, 1)]
    assert labels_to_segments([3, 3, 1]) == [(0.0, 2.0, 3), (2.0, 3.0, 1)]
    assert labels_to_segments([]) == []


def test_coffee_labels_round_trip(coffee):
    for labels in coffee.y:
        segments = labels_to_segments(labels, fps=coffee.fps)
        assert all(step != 0 for _, _, step in segments)
        rebuilt = segments_to_labels(segments, fps=coffee.fps, n_frames=len(labels))
        np.testing.assert_array_equal(rebuilt, labels)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=1, max_size=60),
    st.sampled_from([1, 2.5, 15, 29.97]),
)
def test_random_labels_round_trip(labels, fps):
    labels = np.array(labels)
    segments = labels_to_segments(labels, fps=fps)
    rebuilt = segments_to_labels(segments, fps=fps, n_frames=len(labels))
    np.testing.assert_array_equal(rebuilt, labels)


def test_mapping_round_trip(coffee, tmp_path):
    path = tmp_path / "mapping.txt"
    write_mapping(coffee.label_names, path)
    lines = path.read_text().splitlines()
    assert len(lines) == 48
    assert lines[0] == "0 SIL"
    assert read_mapping(path) == coffee.label_names


def test_mapping_names_with_spaces(tmp_path):
    path = tmp_path / "mapping.txt"
    path.write_text("1 pour   water\n\n2  add sugar \n")
    assert read_mapping(path) == {1: "pour   water", 2: "add sugar"}


def test_mapping_without_final_newline(data_dir):
    mapping = read_mapping(data_dir / "crosstask" / "mapping.txt")
    assert mapping[1] == "add_onion"
    assert mapping[6] == "stir_mixture"
    assert len(mapping) == 6


@pytest.mark.parametrize(
    "text, message",
    [
        ("0 SIL\n1\n", "line 2: '1' has no name"),
        ("0 SIL\nx take_cup\n", "line 2: the id 'x' is not an integer"),
        ("0 SIL\n0 take_cup\n", "line 2: the id 0 occurs twice"),
        ("0 SIL\n1 SIL\n", "line 2: the name 'SIL' occurs twice"),
    ],
)
def test_mapping_read_errors(tmp_path, text, message):
    path = tmp_path / "mapping.txt"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        read_mapping(path)


def test_mapping_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_mapping(tmp_path / "absent.txt")


@pytest.mark.parametrize("mapping", [{1: ""}, {1: "two\nlines"}, {1: " padded"}, {"1": "a"}])
def test_mapping_write_errors(tmp_path, mapping):
    with pytest.raises(ValueError):
        write_mapping(mapping, tmp_path / "mapping.txt")


def test_names_ids_round_trip(coffee):
    names = [ids_to_names(labels, coffee.label_names) for labels in coffee.y]
    assert names[0][0] == "SIL"
    assert set(np.concatenate(names)) == {
        "SIL", "take_cup", "pour_coffee", "pour_milk", "pour_sugar"
    }
    for video_names, labels in zip(names, coffee.y):
        np.testing.assert_array_equal(names_to_ids(video_names, coffee.label_names), labels)


def test_names_to_ids_keeps_shape():
    ids = names_to_ids([["a", "b"], ["b", "a"]], {1: "a", 2: "b"})
    np.testing.assert_array_equal(ids, [[1, 2], [2, 1]])


def test_unknown_names_listed():
    with pytest.raises(ValueError, match=r"Names not in the mapping: 'pour_tea', 'stir'"):
        names_to_ids(["SIL", "stir", "pour_tea"], {0: "SIL"})


def test_unknown_ids_listed():
    with pytest.raises(ValueError, match=r"Ids not in the mapping: 5, 7"):
        ids_to_names([0, 7, 5], {0: "SIL"})
    with pytest.raises(ValueError, match="must be integers"):
        ids_to_names([0.5], {0: "SIL"})
    with pytest.raises(ValueError, match="mapping must be a dict"):
        ids_to_names([0], ["SIL"])
