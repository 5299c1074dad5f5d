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


def test_cuda_requested_without_gpu(coffee_files, tmp_path, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    paths = sorted((coffee_files / "features").glob("*.npy"))[:2]
    status, _, err = run(
        ["discover", *paths, "--k", "3", "--device", "cuda", "--out", tmp_path / "out"], capsys
    )
    assert_one_line_error(status, err, "--device cuda", "--device cpu")


def test_align_zeta_out_of_range(coffee_files, tmp_path, capsys):
    a = coffee_files / "features" / "P06_cam01_P06_coffee.npy"
    b = coffee_files / "features" / "P09_cam01_P09_coffee.npy"
    status, _, err = run(["align", a, b, "--zeta", "-1", "--out", tmp_path / "out"], capsys)
    assert_one_line_error(status, err, "'zeta'", "Got -1.0", "--zeta")


def test_negative_temporal_weight(tmp_path, capsys):
    status, _, err = run(
        ["demo", "--temporal-weight", "-1", "--out", tmp_path / "out"], capsys
    )
    assert_one_line_error(status, err, "'temporal_weight'", "--temporal-weight")
    assert "training" not in err


def test_debug_shows_traceback(tmp_path, capsys):
    missing = tmp_path / "missing.npy"
    status, _, err = run(["discover", missing, "--k", "3", "--debug"], capsys)
    assert status == 1
    assert "Traceback" in err
    assert err.strip().splitlines()[-1].startswith("sk-realign discover: error: no such file")


# -- helpers --------------------------------------------------------------------------------


def test_progress_bar_prints_tenths():
    import io

    from sk_realign._console import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(20, "training", stream)
    for done in range(1, 21):
        bar.update(done, f"loss {1.0 / done:.3f}")
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[0].startswith("training [")
    assert "1/20" in lines[0]
    assert "20/20 100%" in lines[-1]
    assert lines[-1].endswith("loss 0.050")


def test_score_table_layout():
    from sk_realign._report import format_score_table

    per_video = {"precision": 0.5, "recall": 0.25, "f1": 1 / 3, "iou": 0.2}
    task = {"precision": 1.0, "recall": 0.0, "f1": 0.0, "iou": float("nan"), "mof": 0.75}
    table = format_score_table(
        [("method", "video 1", per_video, task), ("method", "overall", per_video, task)]
    )
    lines = table.splitlines()
    assert "per-video protocol" in lines[0]
    assert "task-level protocol" in lines[0]
    assert lines[3].split() == [
        "method", "video", "1", "0.500", "0.250", "0.333", "0.200",
        "1.000", "0.000", "0.000", "-", "0.750",
    ]
    assert lines[4].split()[0] == "overall"


def test_matched_segments_split_on_jumps():
    matches = np.array([-1, 0, 1, 2, 9, 10, -1, -1, 11, 12])
    segments = matched_segments(matches, max_jump=2)
    assert segments == [(1, 4, 0, 3), (4, 6, 9, 11), (8, 10, 11, 13)]


def test_matched_segments_all_in_sink():
    assert matched_segments(np.full(5, -1), max_jump=2) == []


def test_unreadable_video(tmp_path, data_dir, capsys):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    video = data_dir / "videos" / "carphone_pristine.mp4"
    status, _, err = run(
        ["discover", broken, video, "--k", "2", "--out", tmp_path / "out"], capsys
    )
    assert status == 1
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert "error" in last
    assert "could not be read" in last
    assert "broken.mp4" in err


# -- runs on the bundled coffee videos ------------------------------------------------------


def test_align_two_coffee_videos(coffee_files, tmp_path, capsys):
    a = coffee_files / "features" / "P06_cam01_P06_coffee.npy"
    b = coffee_files / "features" / "P09_cam01_P09_coffee.npy"
    out = tmp_path / "alignment"
    status, stdout, err = run(["align", a, b, "--fps", "15", "--out", out], capsys)
    assert status == 0, err
    assert "A = P06_cam01_P06_coffee (472 frames)" in stdout
    assert "B = P09_cam01_P09_coffee (571 frames)" in stdout
    assert "left in the sink, A:" in stdout
    assert (out / "transport_plan.png").stat().st_size > 0

    # The per-frame CSV agrees with the printed sink counts.
    rows = [line.split(",") for line in (out / "alignment.csv").read_text().splitlines()[1:]]
    assert len(rows) == 472 + 571
    in_sink_a = sum(1 for seq, _, _, mass in rows if seq == "A" and float(mass) > 0.5)
    assert f"left in the sink, A: {in_sink_a} of 472 frames" in stdout
    matched_a = [int(match) for seq, _, match, _ in rows if seq == "A"]
    assert all(-1 <= match < 571 for match in matched_a)
    assert sum(match == -1 for match in matched_a) == in_sink_a

    report = json.loads((out / "report.json").read_text())
    assert report["command"] == "align"
    assert report["results"]["n_frames"] == [472, 571]
    assert report["results"]["sink_frames_a"] == in_sink_a
    assert report["figures"][0]["file"] == "transport_plan.png"
    assert "zeta" in report["parameters"]["PartialFGWAligner"]


def test_align_sink_option(coffee_files, tmp_path, capsys):
    a = coffee_files / "features" / "P06_cam01_P06_coffee.npy"
    b = coffee_files / "features" / "P09_cam01_P09_coffee.npy"
    status, stdout, err = run(
        ["align", a, b, "--zeta", "none", "--out", tmp_path / "out"], capsys
    )
    assert status == 0, err
    # Without a sink, no frame can be left unmatched.
    assert "left in the sink, A: 0 of 472 frames" in stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["parameters"]["PartialFGWAligner"]["zeta"] is None


def test_discover_with_breakfast_annotations(coffee, coffee_files, tmp_path, capsys):
    from sk_realign.metrics import per_video_scores, task_scores, uniform_segmentation

    names = ["P06_cam01_P06_coffee", "P08_webcam01_P08_coffee", "P09_cam01_P09_coffee"]
    paths = [coffee_files / "features" / f"{name}.npy" for name in names]
    out = tmp_path / "discover"
    status, stdout, err = run(
        ["discover", *paths, "--k", "4", "--annotations", coffee_files / "groundTruth",
         "--format", "breakfast", "--max-iter", "2", "--temporal-weight", "3", "--out", out],
        capsys,
    )
    assert status == 0, err

    # One CSV per video, one row per frame, key steps in [0, k).
    lengths = {name: len(coffee.X[coffee.video_names.index(name)]) for name in names}
    for name in names:
        lines = (out / "labels" / f"{name}.csv").read_text().splitlines()
        assert lines[0] == "frame,time_s,key_step"
        assert len(lines) == 1 + lengths[name]
        steps = {int(line.split(",")[2]) for line in lines[1:]}
        assert steps <= set(range(4))
        assert lines[16].split(",")[:2] == ["15", "1.000"]

    # The uniform split row is the value the metrics give for the real labels.
    truth = [coffee.y[coffee.video_names.index(name)] for name in names]
    uniform = uniform_segmentation([len(labels) for labels in truth], 4)
    expected_per_video = per_video_scores(truth, uniform)
    expected_task = task_scores(truth, uniform)
    report = json.loads((out / "report.json").read_text())
    overall = report["results"]["scores"]["uniform split"]["overall"]
    assert overall["per_video_protocol"]["f1"] == pytest.approx(expected_per_video.f1)
    assert overall["task_protocol"]["f1"] == pytest.approx(expected_task.f1)
    assert overall["task_protocol"]["mof"] == pytest.approx(expected_task.mof)
    uniform_rows = [line for line in stdout.splitlines() if line.startswith("uniform split")]
    assert f"{expected_per_video.per_video.f1[0]:.3f}" in uniform_rows[0]
    assert set(report["results"]["scores"]) == {"RealignEmbedder", "raw features", "uniform split"}
    assert report["results"]["data"]["scored_videos"] == names
    assert report["parameters"]["KeyStepSegmenter"]["temporal_weight"] == 3
    assert {figure["file"] for figure in report["figures"]} == {
        "timelines_realignembedder.png", "timelines_raw_features.png",
        "timelines_uniform_split.png", "training_loss.png", "transport_plan.png",
    }
    for figure in report["figures"]:
        assert (out / figure["file"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_writes_figures_and_report(tmp_path, capsys):
    out = tmp_path / "report"
    status, stdout, err = run(["demo", "--max-iter", "2", "--out", out], capsys)
    assert status == 0, err
    assert "training [" in err
    for method in ("RealignEmbedder", "raw features", "uniform split"):
        assert method in stdout
    assert stdout.count("overall") == 3

    report = json.loads((out / "report.json").read_text())
    assert set(report) >= {"command", "parameters", "figures", "results", "timings_s", "versions"}
    assert set(report["parameters"]) >= {"RealignEmbedder", "KeyStepSegmenter", "PartialFGWAligner"}
    assert report["parameters"]["RealignEmbedder"]["max_iter"] == 2
    assert report["parameters"]["KeyStepSegmenter"]["n_key_steps"] == 5
    files = [figure["file"] for figure in report["figures"]]
    assert "transport_plan.png" in files
    assert "training_loss.png" in files
    assert "timelines_realignembedder.png" in files
    assert "timelines_raw_features.png" in files
    assert "timelines_uniform_split.png" in files
    for name in files:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The uniform split into 5 parts scores what the metrics document for these labels.
    uniform = report["results"]["scores"]["uniform split"]["overall"]
    assert uniform["per_video_protocol"]["f1"] == pytest.approx(0.713, abs=5e-4)
    assert uniform["task_protocol"]["f1"] == pytest.approx(0.577, abs=5e-4)
    assert len(report["results"]["training"]["last"]) > 0


def test_discover_crosstask_overlap_needs_policy(data_dir, tmp_path, capsys):
    # The real annotation of L0MVdMNihGI has steps 4 and 6 overlapping at 63.46-63.62 s.
    rng = np.random.default_rng(0)
    for video in ("5sOPNTbFe6A", "L0MVdMNihGI"):
        np.save(tmp_path / f"{video}.npy", rng.random((160, 8)))
    argv = [
        "discover", tmp_path / "5sOPNTbFe6A.npy", tmp_path / "L0MVdMNihGI.npy", "--k", "3",
        "--annotations", data_dir / "crosstask" / "annotations", "--format", "crosstask",
        "--fps", "1", "--no-train", "--out", tmp_path / "out",
    ]
    status, _, err = run(argv, capsys)
    assert_one_line_error(status, err, "--overlap")

    status, stdout, err = run(argv + ["--overlap", "first"], capsys)
    assert status == 0, err
    assert "input features" in stdout
    assert "warning: " in err
    assert "covers no frame" in err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["results"]["data"]["scored_videos"] == ["5sOPNTbFe6A", "L0MVdMNihGI"]

    # The uniform split is scored against the labels the CrossTask reader gives.
    from sk_realign.datasets import load_crosstask
    from sk_realign.metrics import task_scores, uniform_segmentation

    with pytest.warns(UserWarning, match="covers no frame"):
        truth = load_crosstask(
            data_dir / "crosstask" / "annotations", fps=1, overlap="first",
            n_frames={"5sOPNTbFe6A": 160, "L0MVdMNihGI": 160},
            tasks=data_dir / "crosstask" / "tasks_primary.txt",
        ).y
    expected = task_scores(truth, uniform_segmentation([160, 160], 3))
    overall = report["results"]["scores"]["uniform split"]["overall"]["task_protocol"]
    assert overall["f1"] == pytest.approx(expected.f1)
    assert (tmp_path / "out" / "timelines_uniform_split.png").is_file()


def test_breakfast_labels_of_wrong_length(coffee_files, tmp_path, capsys):
    labels = tmp_path / "groundTruth"
    labels.mkdir()
    (labels / "short").write_text("SIL\ntake_cup\n" * 5)
    rng = np.random.default_rng(0)
    for name in ("short", "other"):
        np.save(tmp_path / f"{name}.npy", rng.random((12, 4)))
    status, _, err = run(
        ["discover", tmp_path / "short.npy", tmp_path / "other.npy", "--k", "2",
         "--annotations", labels, "--format", "breakfast",
         "--mapping", coffee_files / "mapping.txt", "--no-train", "--out", tmp_path / "out"],
        capsys,
    )
    assert_one_line_error(status, err, "gives 10 labels", "has 12 frames", "one line per")
