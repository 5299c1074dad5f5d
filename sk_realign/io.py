"""Video input: decode files with PyAV, sample frames at a frame rate, resize, and batch.

The functions here turn a video file into RGB frames of shape ``(T, H, W, 3)`` and dtype
uint8, the frame-input form of the data contract. PyAV (the ``video`` extra, ``pip install
'sk_realign[video]'``) is imported only when a file is decoded.

Frame sampling
--------------
Timestamps are counted from the first decoded frame. A video whose last frame is shown at
``t_last`` for ``d`` seconds (its frame duration) spans ``[0, t_last + d)``. Sampling at
``fps`` frames per second takes the target times ``k / fps`` for ``k = 0, 1, ...`` that lie
in that span, so ``ceil((t_last + d) * fps)`` frames, and gives each target time the decoded
frame whose timestamp is nearest (the earlier frame on a tie). Above the video's own rate,
frames repeat. With ``fps=None`` every decoded frame is kept.

Resizing
--------
Frames are resized to ``(H, W)`` by FFmpeg's software scaler through PyAV's
:meth:`av.VideoFrame.reformat`, with bilinear interpolation, while they are converted to
RGB. The aspect ratio is not kept: give the ``(H, W)`` that the frame encoder expects.
"""

import logging
import math
import numbers
import os
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["VideoReadError", "probe_video", "read_video", "read_videos", "iter_frame_batches"]

logger = logging.getLogger(__name__)

# Slack, in seconds, when a target time falls on the end of the video.
_TIME_TOLERANCE = 1e-6

# A timestamp later than twice the declared duration plus this many seconds is taken as
# damaged: sampling would fill the gap with repeated frames (at 30 fps and 224 x 224, a
# one-hour jump is 16 GB).
_TIMESTAMP_SLACK = 60.0


class VideoReadError(ValueError):
    """Error raised when a video file cannot be opened or decoded.

    A subclass of ``ValueError``, so that ``except ValueError`` catches it too.
    :func:`read_videos` with ``on_error="skip"`` collects these errors per file.

    Parameters
    ----------
    message : str
        What went wrong and how to fix it; the text of the error.
    path : str or path-like
        The file that failed.

    Attributes
    ----------
    path : str
        The file that failed, as a string.

    Examples
    --------
    >>> from sk_realign.io import VideoReadError
    >>> error = VideoReadError("Could not decode 'take_1.mp4': no video stream.", "take_1.mp4")
    >>> error.path
    'take_1.mp4'
    >>> str(error)
    "Could not decode 'take_1.mp4': no video stream."
    >>> isinstance(error, ValueError)
    True
    """

    def __init__(self, message, path):
        super().__init__(message)
        self.path = str(path)


def _import_av():
    try:
        import av
    except ImportError as error:
        raise ImportError(
            "Decoding video files needs PyAV, which is not installed. Install the video "
            "extra: pip install 'sk_realign[video]'."
        ) from error
    return av


def _check_size(size):
    """Return ``size`` as an ``(H, W)`` pair of positive ints, or None."""
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (size, size)
    try:
        height, width = size
    except (TypeError, ValueError):
        raise ValueError(
            f"size must be an int or an (H, W) pair of ints. Got {size!r} instead."
        ) from None
    for value in (height, width):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(
                f"size must be an int or an (H, W) pair of positive ints. Got {size!r} instead."
            )
    return int(height), int(width)


def _check_fps(fps):
    if fps is None:
        return None
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not (
        math.isfinite(fps) and fps > 0
    ):
        raise ValueError(f"fps must be a positive finite number or None. Got {fps!r} instead.")
    return float(fps)


def _check_max_frames(max_frames):
    if max_frames is None:
        return None
    if isinstance(max_frames, bool) or not isinstance(max_frames, numbers.Integral) or (
        max_frames < 1
    ):
        raise ValueError(f"max_frames must be an int >= 1 or None. Got {max_frames!r} instead.")
    return int(max_frames)


def _to_rgb(frame, size):
    if size is None:
        return frame.to_ndarray(format="rgb24")
    height, width = size
    return frame.reformat(width=width, height=height, format="rgb24").to_ndarray()


def _open(path):
    """Open a video file with PyAV, turning its failures into errors that name the file."""
    av = _import_av()
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder; expected a video file.")
    if not path.is_file():
        raise FileNotFoundError(f"Video file {str(path)!r} not found.")
    try:
        container = av.open(str(path))
    except av.FFmpegError as error:
        raise VideoReadError(
            f"Could not open the video file {str(path)!r}: {error}. The file may be "
            "corrupt, truncated or not a video.",
            path,
        ) from error
    if not container.streams.video:
        container.close()
        raise VideoReadError(f"The file {str(path)!r} has no video stream.", path)
    return av, path, container


def _declared_duration(container, stream):
    """Return the duration in seconds that the file's header declares, or None."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        # The container's duration is in microseconds (FFmpeg's AV_TIME_BASE).
        return container.duration / 1_000_000
    return None


def probe_video(path):
    """Read the frame rate, length and frame size of a video file without decoding it.

    The values come from the container's header, so they are what the file declares: a
    damaged file may decode to fewer frames.

    Parameters
    ----------
    path : str or path-like
        The video file.

    Returns
    -------
    info : :class:`~sklearn.utils.Bunch`
        With the fields ``fps`` (the average frame rate, or ``None`` when the file gives
        none), ``n_frames`` (the declared number of frames, or ``None`` when unknown),
        ``duration`` (in seconds, or ``None``), ``height`` and ``width`` (in pixels).

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    IsADirectoryError
        When ``path`` is a folder.
    VideoReadError
        When the file cannot be opened or has no video stream.

    Examples
    --------
    >>> from sk_realign.io import probe_video
    >>> probe_video("take_1.mp4")  # doctest: +SKIP
    {'fps': 29.97002997002997, 'n_frames': 120, 'duration': 4.004, 'height': 144, 'width': 176}
    """
    _, _, container = _open(path)
    with container:
        stream = container.streams.video[0]
        return Bunch(
            fps=float(stream.average_rate) if stream.average_rate else None,
            n_frames=int(stream.frames) if stream.frames else None,
            duration=_declared_duration(container, stream),
            height=stream.codec_context.height,
            width=stream.codec_context.width,
        )


def _frame_period(frame, stream):
    """Return how long a frame is shown, in seconds, from the best source available."""
    if frame.duration and frame.time_base is not None:
        return float(frame.duration * frame.time_base)
    if stream.average_rate:
        return float(1 / stream.average_rate)
    return 0.0


def _iter_frames(path, fps, size, max_frames):
    """Yield sampled RGB frames of a video file one at a time (see the module docstring)."""
    av, path, container = _open(path)
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        declared = _declared_duration(container, stream)

        n_decoded = 0
        n_yielded = 0
        first_time = None
        previous = None
        try:
            for frame in container.decode(stream):
                if frame.time is not None:
                    time = frame.time
                elif stream.average_rate:
                    time = n_decoded / float(stream.average_rate)
                else:
                    time = float(n_decoded)
                if first_time is None:
                    first_time = time
                time -= first_time
                n_decoded += 1

                if fps is None:
                    yield _to_rgb(frame, size)
                    n_yielded += 1
                    if n_yielded == max_frames:
                        return
                    continue

                if declared is not None and time > 2 * declared + _TIMESTAMP_SLACK:
                    raise VideoReadError(
                        f"The video file {str(path)!r} jumps to the timestamp {time:g} s at "
                        f"frame {n_decoded - 1}, but declares a duration of {declared:g} s, "
                        "so its timestamps look damaged. Sampling at a frame rate would "
                        "fill the gap with copies of one frame; pass fps=None to keep the "
                        "decoded frames as they are.",
                        path,
                    )

                # Every target time up to this frame's timestamp now has its two candidates:
                # the previous frame and this one.
                while n_yielded / fps <= time + _TIME_TOLERANCE:
                    target = n_yielded / fps
                    if previous is not None and target - previous[1] <= time - target:
                        yield _to_rgb(previous[0], size)
                    else:
                        yield _to_rgb(frame, size)
                    n_yielded += 1
                    if n_yielded == max_frames:
                        return
                previous = (frame, time, _frame_period(frame, stream))
        except av.FFmpegError as error:
            raise VideoReadError(
                f"Failed to decode the video file {str(path)!r} after {n_decoded} frame(s): "
                f"{error}. The file may be corrupt or truncated.",
                path,
            ) from error

        if n_decoded == 0:
            raise VideoReadError(
                f"The video file {str(path)!r} contains no decodable frame.", path
            )

        # Target times after the last timestamp but before the video ends show the last frame.
        if fps is not None and previous is not None:
            last_frame, last_time, period = previous
            while n_yielded / fps < last_time + period - _TIME_TOLERANCE:
                yield _to_rgb(last_frame, size)
                n_yielded += 1
                if n_yielded == max_frames:
                    return


def read_video(path, fps=None, size=None, max_frames=None):
    """Decode a video file into an array of RGB frames.

    Parameters
    ----------
    path : str or path-like
        The video file, in any container and codec that FFmpeg (through PyAV) decodes.
    fps : float, default=None
        The frame rate to sample at, in frames per second. Target times ``k / fps`` inside
        the video get the decoded frame with the nearest timestamp (see the module
        docstring). ``None`` keeps every decoded frame.
    size : int or (int, int), default=None
        The ``(H, W)`` to resize every frame to, with FFmpeg's bilinear scaler; an int gives
        square frames. ``None`` keeps the decoded size.
    max_frames : int, default=None
        Stop after this many frames (after sampling). ``None`` reads to the end.

    Returns
    -------
    frames : ndarray of shape (T, H, W, 3) and dtype uint8
        The RGB frames in time order.

    Raises
    ------
    ImportError
        When PyAV is not installed (install the ``video`` extra).
    FileNotFoundError
        When ``path`` does not exist.
    IsADirectoryError
        When ``path`` is a folder.
    VideoReadError
        A ``ValueError`` naming the file, when it cannot be opened, has no video stream,
        fails to decode, or has no frame, and when sampling at ``fps`` meets a timestamp
        beyond twice the declared duration plus 60 s (damaged timestamps).
    ValueError
        For an ``fps``, ``size`` or ``max_frames`` out of range.

    See Also
    --------
    iter_frame_batches : Decode a video batch by batch, without holding all of it.
    read_videos : Decode many files, optionally skipping those that fail.

    Examples
    --------
    >>> from sk_realign.io import read_video
    >>> frames = read_video("tests/data/videos/carphone_pristine.mp4", fps=10, size=(64, 80))
    ... # doctest: +SKIP
    >>> frames.shape  # doctest: +SKIP
    (41, 64, 80, 3)
    """
    fps = _check_fps(fps)
    size = _check_size(size)
    max_frames = _check_max_frames(max_frames)
    frames = list(_iter_frames(path, fps, size, max_frames))
    return np.stack(frames)


def _resize_array(batch, size):
    """Resize a batch of (B, H, W, 3) frames with bilinear, antialiased interpolation."""
    import torch
    from torch.nn.functional import interpolate

    tensor = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2)
    resized = interpolate(
        tensor.to(torch.float32), size=size, mode="bilinear", antialias=True,
        align_corners=False,
    ).permute(0, 2, 3, 1)
    if batch.dtype == np.uint8:
        resized = resized.round().clamp(0, 255).to(torch.uint8)
    return resized.numpy().astype(batch.dtype, copy=False)


def iter_frame_batches(source, batch_size=32, *, fps=None, size=None, max_frames=None):
    """Yield the frames of a video in batches, for a frame encoder.

    A file is decoded as it is consumed, so a long video never has to fit in memory.

    Parameters
    ----------
    source : str, path-like or ndarray of shape (T, H, W, 3)
        A video file, decoded and sampled as :func:`read_video` does, or frames already in
        memory.
    batch_size : int, default=32
        The number of frames per batch; the last batch may be smaller.
    fps : float, default=None
        The frame rate to sample a file at (see :func:`read_video`). Frame arrays carry no
        timestamps, so ``fps`` must be ``None`` for them.
    size : int or (int, int), default=None
        The ``(H, W)`` to resize frames to. Files are resized by FFmpeg's bilinear scaler,
        arrays by :func:`torch.nn.functional.interpolate` (bilinear, antialiased).
    max_frames : int, default=None
        Stop after this many frames.

    Yields
    ------
    batch : ndarray of shape (b, H, W, 3)
        Consecutive frames, ``b <= batch_size``: uint8 for a file, the array's dtype for
        an array.

    Raises
    ------
    VideoReadError
        When a file cannot be opened or decoded; batches yielded before the failure stay
        valid.
    ValueError
        For a ``batch_size``, ``fps``, ``size`` or ``max_frames`` out of range, or an array
        that is not ``(T, H, W, 3)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_realign.io import iter_frame_batches
    >>> frames = np.zeros((10, 8, 8, 3), dtype=np.uint8)
    >>> [batch.shape for batch in iter_frame_batches(frames, batch_size=4, size=(4, 4))]
    [(4, 4, 4, 3), (4, 4, 4, 3), (2, 4, 4, 3)]
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or (
        batch_size < 1
    ):
        raise ValueError(f"batch_size must be an int >= 1. Got {batch_size!r} instead.")
    fps = _check_fps(fps)
    size = _check_size(size)
    max_frames = _check_max_frames(max_frames)

    if isinstance(source, (str, os.PathLike)):
        batch = []
        for frame in _iter_frames(source, fps, size, max_frames):
            batch.append(frame)
            if len(batch) == batch_size:
                yield np.stack(batch)
                batch = []
        if batch:
            yield np.stack(batch)
        return

    frames = np.asarray(source)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(
            f"source must be a video file or a (T, H, W, 3) array of RGB frames; got an "
            f"array of shape {frames.shape}."
        )
    if fps is not None:
        raise ValueError(
            "fps applies to video files only, because a frame array has no timestamps. "
            "Subsample the array instead, for example frames[::2]."
        )
    if max_frames is not None:
        frames = frames[:max_frames]
    for start in range(0, len(frames), batch_size):
        batch = frames[start:start + batch_size]
        yield batch if size is None else _resize_array(batch, size)


def read_videos(paths, fps=None, size=None, max_frames=None, *, on_error="raise"):
    """Decode many video files, so that one bad file need not lose the others.

    Parameters
    ----------
    paths : list of str or path-like
        The video files.
    fps, size, max_frames
        As in :func:`read_video`, for every file.
    on_error : {"raise", "skip"}, default="raise"
        ``"raise"`` raises the first file's error. ``"skip"`` logs a warning for a file
        that is missing or fails to decode, leaves it out and goes on. The failures are
        returned in ``errors``, and when every file fails, a ``VideoReadError`` lists them.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With the fields

        - ``videos``: list of uint8 arrays of shape (T_i, H, W, 3), the files read;
        - ``paths``: list of :class:`pathlib.Path`, the files read, in the order of
          ``videos`` (the order of ``paths`` less the skipped files);
        - ``errors``: dict mapping the path (as given, converted to ``str``) of each
          skipped file to its exception; empty under ``on_error="raise"``.

    Raises
    ------
    FileNotFoundError, VideoReadError
        Under ``on_error="raise"``, for the first file that is missing or fails.
    VideoReadError
        Under ``on_error="skip"``, when no file could be read.
    ValueError
        For an empty ``paths`` or an ``on_error`` that is not one of the options.

    Examples
    --------
    >>> from sk_realign.io import read_videos
    >>> result = read_videos(
    ...     ["take_1.mp4", "corrupt.mp4"], fps=5, size=(224, 224), on_error="skip"
    ... )  # doctest: +SKIP
    >>> [video.shape for video in result.videos]  # doctest: +SKIP
    [(112, 224, 224, 3)]
    >>> list(result.errors)  # doctest: +SKIP
    ['corrupt.mp4']
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'. Got {on_error!r} instead.")
    if isinstance(paths, (str, os.PathLike)):
        raise ValueError(
            f"paths must be a list of video files; got the single path {str(paths)!r}. "
            "Wrap it in a list, or call read_video."
        )
    paths = list(paths)
    if not paths:
        raise ValueError("paths is empty; give at least one video file.")
    fps = _check_fps(fps)
    size = _check_size(size)
    max_frames = _check_max_frames(max_frames)

    videos, read_paths, errors = [], [], {}
    for path in paths:
        try:
            frames = np.stack(list(_iter_frames(path, fps, size, max_frames)))
        except (VideoReadError, OSError) as error:
            if on_error == "raise":
                raise
            logger.warning("Skipped the video file %s: %s", path, error)
            errors[str(path)] = error
            continue
        videos.append(frames)
        read_paths.append(Path(path))

    if not videos:
        details = "; ".join(f"{path}: {error}" for path, error in errors.items())
        raise VideoReadError(
            f"None of the {len(paths)} video files could be read: {details}", paths[0]
        )
    return Bunch(videos=videos, paths=read_paths, errors=errors)
