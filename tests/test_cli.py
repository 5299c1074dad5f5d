"""Tests of the sk-realign command, run in-process through main(argv) and once as a subprocess."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sk_realign import __version__
from sk_realign.cli import main, matched_segments


def run(argv, capsys):
    """Run the command in-process; return its status, standard output and standard error."""
    status = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, err, *fragments):
    assert status != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "error" in lines[0]
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def coffee_files(tmp_path_factory, coffee):
    """The bundled coffee features as .npy files and Breakfast-format label files."""
    root = tmp_path_factory.mktemp("coffee")
    features = root / "features"
    labels = root / "groundTruth"
    features.mkdir()
    labels.mkdir()
    for name, video, video_labels in zip(coffee.video_names, coffee.X, coffee.y):
        np.save(features / f"{name}.npy", video)
        (labels / name).write_text(
            "".join(coffee.label_names[int(label)] + "\n" for label in video_labels)
        )
    (root / "mapping.txt").write_text(
        "".join(f"{i} {name}\n" for i, name in sorted(coffee.label_names.items()))
    )
    return root


# -- command line ---------------------------------------------------------------------------


def test_help_as_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "sk_realign", "--help"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0
    for command in ("demo", "discover", "align"):
        assert command in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("command", ["demo", "discover", "align"])
def test_help_of_each_command(command, capsys):
    status, out, _ = run([command, "--help"], capsys)
    assert status == 0
    assert f"sk-realign {command}" in out
    assert "--out" in out


def test_version(capsys):
    status, out, _ = run(["--version"], capsys)
    assert status == 0
    assert out.strip() == f"sk-realign {__version__}"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([], "COMMAND"),
        (["segment"], "invalid choice"),
        (["demo", "--k", "0"], "--k"),
        (["demo", "--k", "two"], "'two'"),
        (["demo", "--max-iter", "-3"], "--max-iter"),
        (["discover", "x.npy"], "--k"),
        (["discover", "--k", "3"], "PATH"),
        (["discover", "x.npy", "--k", "3", "--format", "procel"], "--format"),
        (["discover", "x.npy", "--k", "3", "--fps", "0"], "--fps"),
        (["align", "a.npy"], "B"),
    ],
)
def test_usage_errors(argv, fragment, capsys):
    status, _, err = run(argv, capsys)
    assert status == 2
    assert_one_line_error(status, err, fragment)


# -- invalid input files --------------------------------------------------------------------


def test_missing_file(tmp_path, capsys):
    missing = tmp_path / "missing.npy"
    status, _, err = run(["discover", missing, "--k", "3", "--out", tmp_path / "out"], capsys)
    assert status == 1
    assert_one_line_error(status, err, "no such file", "missing.npy")


def test_folder_as_input(tmp_path, capsys):
    status, _, err = run(["align", tmp_path, tmp_path, "--out", tmp_path / "out"], capsys)
    assert_one_line_error(status, err, "is a folder")


def test_unknown_suffix(tmp_path, capsys):
    path = tmp_path / "video.pdf"
    path.write_bytes(b"%PDF")
    status, _, err = run(["discover", path, path, "--k", "2"], capsys)
    assert_one_line_error(status, err, "'.pdf'")


def test_mixed_features_and_videos(tmp_path, data_dir, capsys):
    features = tmp_path / "a.npy"
    np.save(features, np.ones((10, 4), dtype=np.float32))
    video = data_dir / "videos" / "carphone_pristine.mp4"
    status, _, err = run(["align", features, video, "--out", tmp_path / "out"], capsys)
    assert_one_line_error(status, err, "mix feature files and video files")


def test_unreadable_npy(tmp_path, capsys):
    path = tmp_path / "broken.npy"
    path.write_bytes(b"not a numpy file")
    other = tmp_path / "other.npy"
    np.save(other, np.ones((10, 4), dtype=np.float32))
    status, _, err = run(["align", path, other, "--out", tmp_path / "out"], capsys)
    assert_one_line_error(status, err, "broken.npy", "numpy.save")


def test_features_with_nan(tmp_path, capsys):
    features = np.ones((10, 4), dtype=np.float32)
    features[6, 2] = np.nan
    np.save(tmp_path / "a.npy", features)
    np.save(tmp_path / "b.npy", np.ones((10, 4), dtype=np.float32))
    status, _, err = run(
        ["align", tmp_path / "a.npy", tmp_path / "b.npy", "--out", tmp_path / "out"], capsys
    )
    assert_one_line_error(status, err, "NaN", "row 6")


def test_features_of_wrong_shape(tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.ones((10, 4, 2), dtype=np.float32))
    np.save(tmp_path / "b.npy", np.ones((10, 4), dtype=np.float32))
    status, _, err = run(
        ["align", tmp_path / "a.npy", tmp_path / "b.npy", "--out", tmp_path / "out"], capsys
    )
    assert_one_line_error(status, err, "(10, 4, 2)")


def test_feature_sizes_differ(tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.ones((10, 4), dtype=np.float32))
    np.save(tmp_path / "b.npy", np.ones((10, 5), dtype=np.float32))
    status, _, err = run(
        ["discover", tmp_path / "a.npy", tmp_path / "b.npy", "--k", "2",
         "--out", tmp_path / "out"],
        capsys,
    )
    assert_one_line_error(status, err, "5 features per frame", "has 4")


def test_k_larger_than_video(tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.ones((10, 4), dtype=np.float32))
    np.save(tmp_path / "b.npy", np.ones((3, 4), dtype=np.float32))
    status, _, err = run(
        ["discover", tmp_path / "a.npy", tmp_path / "b.npy", "--k", "4",
         "--out", tmp_path / "out"],
        capsys,
    )
    assert_one_line_error(status, err, "--k 4", "3 frames", "'b'")


def test_output_path_is_a_file(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.write_text("")
    status, _, err = run(["demo", "--out", taken, "--max-iter", "1"], capsys)
    assert_one_line_error(status, err, "is a file", "--out")


def test_annotations_folder_missing(coffee_files, tmp_path, capsys):
    paths = sorted((coffee_files / "features").glob("*.npy"))[:2]
    status, _, err = run(
        ["discover", *paths, "--k", "3", "--annotations", tmp_path / "nowhere",
         "--format", "breakfast", "--out", tmp_path / "out"],
        capsys,
    )
    assert_one_line_error(status, err, "no such annotations folder", "nowhere")


def test_annotations_without_format(coffee_files, tmp_path, capsys):
    paths = sorted((coffee_files / "features").glob("*.npy"))[:2]
    status, _, err = run(
        ["discover", *paths, "--k", "3", "--annotations", coffee_files / "groundTruth",
         "--out", tmp_path / "out"],
        capsys,
    )
    assert_one_line_error(status, err, "--format")


def test_annotations_matching_no_video(coffee_files, tmp_path, capsys):
    features = tmp_path / "features"
    features.mkdir()
    for name in ("kitchen_01", "kitchen_02"):
        np.save(features / f"{name}.npy", np.random.default_rng(0).random((20, 4)))
    status, _, err = run(
        ["discover", features / "kitchen_01.npy", features / "kitchen_02.npy", "--k", "3",
         "--annotations", coffee_files / "groundTruth", "--format", "breakfast",
         "--out", tmp_path / "out"],
        capsys,
    )
    assert_one_line_error(status, err, "no annotation", "matches a video", "kitchen_01")


def test_seconds_annotations_need_fps(tmp_path, capsys):
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    (annotations / "a.csv").write_text("0.0,1.0,1. crack egg\n")
    for name in ("a", "b"):
        np.save(tmp_path / f"{name}.npy", np.random.default_rng(0).random((20, 4)))
    status, _, err = run(
        ["discover", tmp_path / "a.npy", tmp_path / "b.npy", "--k", "2",
         "--annotations", annotations, "--format", "egoprocel", "--out", tmp_path / "out"],
        capsys,
    )
    assert_one_line_error(status, err, "--fps")


# -- helpers --------------------------------------------------------------------------------


def test_matched_segments_split_on_jumps():
    matches = np.array([-1, 0, 1, 2, 9, 10, -1, -1, 11, 12])
    segments = matched_segments(matches, max_jump=2)
    assert segments == [(1, 4, 0, 3), (4, 6, 9, 11), (8, 10, 11, 13)]


def test_matched_segments_all_in_sink():
    assert matched_segments(np.full(5, -1), max_jump=2) == []
