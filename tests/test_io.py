import builtins
import logging
import wave

import numpy as np
import pytest

from sk_realign.io import (
    VideoReadError,
    iter_frame_batches,
    probe_video,
    read_video,
    read_videos,
)

# The clip has 120 frames of 176 x 144 at 30000/1001 fps, so it spans 120 * 1001 / 30000 s.
N_FRAMES = 120
SOURCE_FPS = 30000 / 1001
DURATION = N_FRAMES / SOURCE_FPS


@pytest.fixture(scope="module")
def clip(data_dir):
    return data_dir / "videos" / "carphone_pristine.mp4"


@pytest.fixture(scope="module")
def all_frames(clip):
    return read_video(clip)


@pytest.fixture
def corrupt_files(clip, tmp_path):
    data = clip.read_bytes()
    rng = np.random.default_rng(0)
    garbled = bytearray(data)
    third = len(data) // 3
    garbled[third:2 * third] = rng.integers(0, 256, third, dtype=np.uint8).tobytes()
    files = {
        "truncated": data[: len(data) // 2],
        "garbled": bytes(garbled),
        "text": b"not a video\n",
        "empty": b"",
    }
    paths = {}
    for name, content in files.items():
        paths[name] = tmp_path / f"{name}.mp4"
        paths[name].write_bytes(content)
    return paths


def test_read_all_frames(all_frames):
    assert all_frames.shape == (N_FRAMES, 144, 176, 3)
    assert all_frames.dtype == np.uint8
    assert all_frames.std() > 10
    # Consecutive frames of a real clip differ, but not by much.
    assert np.abs(all_frames[1].astype(int) - all_frames[0]).mean() < 20
    assert not np.array_equal(all_frames[0], all_frames[60])


@pytest.mark.parametrize("fps", [10, 5, 1, 12.5])
def test_nearest_frame_sampling(clip, all_frames, fps):
    frames = read_video(clip, fps=fps)

    # Targets k / fps that start before the end of the video, each given the frame with
    # the nearest timestamp j / SOURCE_FPS.
    n_expected = int(np.ceil(DURATION * fps))
    assert frames.shape == (n_expected, 144, 176, 3)
    source_times = np.arange(N_FRAMES) / SOURCE_FPS
    for k, frame in enumerate(frames):
        nearest = int(np.argmin(np.abs(source_times - k / fps)))
        np.testing.assert_array_equal(frame, all_frames[nearest])


def test_sampling_at_source_rate_keeps_all(clip, all_frames):
    np.testing.assert_array_equal(read_video(clip, fps=SOURCE_FPS), all_frames)
    np.testing.assert_array_equal(read_video(clip, fps=29.97), all_frames)


def test_upsampling_repeats_frames(clip, all_frames):
    frames = read_video(clip, fps=2 * SOURCE_FPS, max_frames=6)
    for k in range(6):
        np.testing.assert_array_equal(frames[k], all_frames[k // 2])


def test_resize(clip, all_frames):
    frames = read_video(clip, size=(72, 88), max_frames=3)
    assert frames.shape == (3, 72, 88, 3)
    assert frames.dtype == np.uint8

    # Halving by bilinear scaling stays close to the mean of each 2 x 2 block.
    blocks = all_frames[:3].reshape(3, 72, 2, 88, 2, 3).mean(axis=(2, 4))
    assert np.abs(frames.astype(float) - blocks).mean() < 3

    assert read_video(clip, size=32, max_frames=1).shape == (1, 32, 32, 3)


def test_max_frames(clip, all_frames):
    frames = read_video(clip, max_frames=5)
    np.testing.assert_array_equal(frames, all_frames[:5])
    assert read_video(clip, fps=10, max_frames=500).shape[0] == 41


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fps": 0}, "fps must be a positive finite number"),
        ({"fps": np.inf}, "fps must be a positive finite number"),
        ({"size": (10,)}, "size must be an int or an \\(H, W\\) pair"),
        ({"size": (0, 10)}, "pair of positive ints"),
        ({"max_frames": 0}, "max_frames must be an int >= 1"),
    ],
)
def test_bad_parameters(clip, kwargs, message):
    with pytest.raises(ValueError, match=message):
        read_video(clip, **kwargs)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.mp4' not found"):
        read_video(tmp_path / "absent.mp4")


@pytest.mark.parametrize("name", ["truncated", "text", "empty"])
def test_unreadable_file_named(corrupt_files, name):
    path = corrupt_files[name]
    message = f"Could not open the video file .*{name}.mp4"
    with pytest.raises(VideoReadError, match=message) as info:
        read_video(path)
    assert info.value.path == str(path)
    assert isinstance(info.value, ValueError)


def test_garbled_file_named(corrupt_files):
    path = corrupt_files["garbled"]
    with pytest.raises(VideoReadError, match=r"Failed to decode .*garbled.mp4' after \d+ frame"):
        read_video(path)


def test_garbled_file_keeps_earlier_batches(corrupt_files, all_frames):
    batches = []
    with pytest.raises(VideoReadError, match="garbled.mp4"):
        for batch in iter_frame_batches(corrupt_files["garbled"], batch_size=10):
            batches.append(batch)
    assert batches
    np.testing.assert_array_equal(batches[0], all_frames[:10])


def test_file_batches(clip, all_frames):
    batches = list(iter_frame_batches(clip, batch_size=50, size=(36, 44)))
    assert [batch.shape for batch in batches] == [
        (50, 36, 44, 3), (50, 36, 44, 3), (20, 36, 44, 3)
    ]
    np.testing.assert_array_equal(
        np.concatenate(batches), read_video(clip, size=(36, 44))
    )


def test_file_batches_sampled(clip):
    batches = list(iter_frame_batches(clip, batch_size=16, fps=10, max_frames=20))
    assert [len(batch) for batch in batches] == [16, 4]


def test_array_batches(all_frames):
    batches = list(iter_frame_batches(all_frames, batch_size=32, max_frames=70))
    assert [len(batch) for batch in batches] == [32, 32, 6]
    np.testing.assert_array_equal(np.concatenate(batches), all_frames[:70])


def test_array_batches_resized(all_frames):
    (batch,) = iter_frame_batches(all_frames[:4], batch_size=4, size=(72, 88))
    assert batch.shape == (4, 72, 88, 3)
    assert batch.dtype == np.uint8
    # Antialiased bilinear halving is a triangle filter over 4 pixels, weights
    # (1, 3, 3, 1) / 8 along each axis: output pixel j reads input pixels 2j - 1 to 2j + 2.
    weights = np.array([1, 3, 3, 1]) / 8
    source = all_frames[:4].astype(float)
    rows = sum(w * source[:, 1 + i:141 + i:2] for i, w in enumerate(weights))
    expected = sum(w * rows[:, :, 1 + i:173 + i:2] for i, w in enumerate(weights))
    interior = batch[:, 1:71, 1:87].astype(float)
    assert np.abs(interior - expected).max() <= 0.5 + 1e-6

    floats = all_frames[:2].astype(np.float32) / 255
    (resized,) = iter_frame_batches(floats, batch_size=2, size=(72, 88))
    assert resized.dtype == np.float32
    np.testing.assert_allclose(resized[:, 1:71, 1:87], expected[:2] / 255, atol=1e-5)


def test_array_batches_errors(all_frames):
    with pytest.raises(ValueError, match="fps applies to video files only"):
        list(iter_frame_batches(all_frames, fps=10))
    with pytest.raises(ValueError, match="got an array of shape \\(120, 144, 176\\)"):
        list(iter_frame_batches(all_frames[..., 0]))
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        list(iter_frame_batches(all_frames, batch_size=0))


def test_read_videos_skips_bad_files(clip, corrupt_files, tmp_path, caplog):
    paths = [clip, corrupt_files["garbled"], tmp_path / "absent.mp4", clip]
    with caplog.at_level(logging.WARNING, logger="sk_realign.io"):
        result = read_videos(paths, fps=5, size=(36, 44), on_error="skip")

    assert result.paths == [clip, clip]
    assert [video.shape for video in result.videos] == [(21, 36, 44, 3)] * 2
    assert sorted(result.errors) == sorted([str(paths[1]), str(paths[2])])
    assert isinstance(result.errors[str(paths[1])], VideoReadError)
    assert isinstance(result.errors[str(paths[2])], FileNotFoundError)
    assert "garbled.mp4" in caplog.text
    assert "absent.mp4" in caplog.text


def test_read_videos_raises_by_default(clip, corrupt_files):
    with pytest.raises(VideoReadError, match="truncated.mp4"):
        read_videos([clip, corrupt_files["truncated"]])
    result = read_videos([clip], max_frames=2)
    assert result.errors == {}
    assert result.videos[0].shape == (2, 144, 176, 3)


def test_read_videos_all_bad(corrupt_files):
    paths = [corrupt_files["text"], corrupt_files["empty"]]
    with pytest.raises(VideoReadError, match="None of the 2 video files could be read"):
        read_videos(paths, on_error="skip")


def test_read_videos_argument_errors(clip):
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
        read_videos([clip], on_error="ignore")
    with pytest.raises(ValueError, match="Wrap it in a list"):
        read_videos(clip)
    with pytest.raises(ValueError, match="paths is empty"):
        read_videos([])


def test_missing_pyav_named(clip, monkeypatch):
    real_import = builtins.__import__

    def import_without_av(name, *args, **kwargs):
        if name == "av":
            raise ImportError("No module named 'av'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", import_without_av)
    with pytest.raises(ImportError, match=r"pip install 'sk_realign\[video\]'"):
        read_video(clip)


def test_probe_video(clip):
    info = probe_video(clip)
    assert info.fps == pytest.approx(SOURCE_FPS)
    assert info.n_frames == N_FRAMES
    assert info.duration == pytest.approx(DURATION)
    assert (info.height, info.width) == (144, 176)


def test_probe_unreadable_file(corrupt_files, tmp_path):
    with pytest.raises(VideoReadError, match="text.mp4"):
        probe_video(corrupt_files["text"])
    with pytest.raises(FileNotFoundError, match="absent.mp4"):
        probe_video(tmp_path / "absent.mp4")


def test_audio_only_file_rejected(tmp_path):
    path = tmp_path / "tone.wav"
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(np.zeros(800, dtype=np.int16).tobytes())
    with pytest.raises(VideoReadError, match="tone.wav' has no video stream"):
        read_video(path)
