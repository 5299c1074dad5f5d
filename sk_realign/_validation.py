"""The data contract: one conversion of every accepted form of videos and labels.

Every estimator calls :func:`check_videos` on ``X`` and :func:`check_labels` on ``y``, so
that the accepted forms and the error messages are the same everywhere.

Accepted forms of ``X`` (a list or tuple of videos, a 1-D object array of videos, or a
NaN-padded 3-D array):

- a 2-D float array ``(T_i, d)`` of per-frame features, the same ``d`` for every video;
- a 4-D array ``(T_i, H, W, 3)`` of RGB frames (uint8 in [0, 255] or float in [0, 1]);
- a path (``str`` or :class:`os.PathLike`) to a video file, decoded later by
  :mod:`sk_realign.io`;
- a 3-D float array ``(n_videos, T_max, d)`` whose shorter videos are right-padded with
  rows of NaN; the padding is removed.
"""

import numbers
import os
from pathlib import Path

import numpy as np

__all__ = ["check_videos", "check_labels", "BACKGROUND_NAMES", "sequence_tags"]

#: Label names read as background (compared without case).
BACKGROUND_NAMES = frozenset({"sil", "background", "bg", "none"})

_KINDS = ("features", "frames", "paths")


def _describe(video):
    """Describe a video's type and shape for an error message."""
    if isinstance(video, np.ndarray):
        return f"an array of shape {video.shape} and dtype {video.dtype}"
    return f"an object of type {type(video).__name__}"


def _unpad(X):
    """Split a NaN-padded ``(n_videos, T_max, d)`` array into a list of 2-D arrays."""
    videos = []
    for index, padded in enumerate(X):
        finite_rows = ~np.isnan(padded).all(axis=1)
        length = int(np.flatnonzero(finite_rows)[-1]) + 1 if finite_rows.any() else 0
        if not finite_rows[:length].all():
            first_gap = int(np.flatnonzero(~finite_rows[:length])[0])
            raise ValueError(
                f"Video {index} of the padded array has an all-NaN row at frame {first_gap} "
                f"before its last frame {length - 1}. Padding must come after the last frame; "
                "pass a list of 2-D arrays to give videos of different lengths instead."
            )
        videos.append(padded[:length])
    return videos


def _check_float_array(video, index, dtype):
    """Convert one feature or frame array to a float dtype and reject NaN and inf."""
    if video.dtype.kind not in "fiub":
        raise ValueError(
            f"Video {index} has dtype {video.dtype}; expected numbers. "
            "Convert it with np.asarray(video, dtype=np.float32)."
        )
    if video.dtype.kind == "f" and video.dtype in dtype:
        converted = video
    else:
        converted = video.astype(dtype[0])
    if not np.isfinite(converted).all():
        bad = np.argwhere(~np.isfinite(converted))[0]
        raise ValueError(
            f"Video {index} ({_describe(video)}) contains NaN or inf, first at index "
            f"{tuple(int(i) for i in bad)}. Remove or impute those frames before fitting."
        )
    return converted


def check_videos(
    X,
    *,
    kinds=("features",),
    min_frames=1,
    n_features=None,
    dtype=(np.float64, np.float32),
    estimator=None,
):
    """Convert ``X`` to the canonical list of videos and check it.

    Parameters
    ----------
    X : list, tuple or 1-D object array of videos, or ndarray of shape (n_videos, T_max, d)
        The videos, in one of the forms of the data contract (see the module docstring).
    kinds : tuple of {"features", "frames", "paths"}, default=("features",)
        The forms of video the caller accepts. Feature arrays are 2-D, frame arrays 4-D.
    min_frames : int, default=1
        The minimum number of frames of a video.
    n_features : int, default=None
        The feature size the videos must have (the one seen in ``fit``); ``None`` checks
        only that all feature videos agree with each other.
    dtype : tuple of numpy dtypes, default=(np.float64, np.float32)
        Float dtypes kept as they are; any other dtype is converted to the first one.
    estimator : estimator instance or str, default=None
        Named in the error messages.

    Returns
    -------
    videos : list
        One entry per video: a float ndarray of shape (T_i, d) or (T_i, H, W, 3), or a
        :class:`pathlib.Path`.

    Raises
    ------
    ValueError
        With the index of the offending video, its shape or value and the fix, for an
        empty ``X``, a video of a form the caller does not accept, too few frames, NaN or
        inf values, feature sizes that differ, and non-numeric dtypes.
    FileNotFoundError
        For a path that does not exist.
    IsADirectoryError
        For a path that names a folder.
    """
    name = estimator if isinstance(estimator, str) else type(estimator).__name__
    subject = f"{name} " if estimator is not None else ""
    unknown = set(kinds) - set(_KINDS)
    if unknown:
        raise ValueError(f"Unknown video kinds {sorted(unknown)}; expected a subset of {_KINDS}.")
    dtype = tuple(np.dtype(d) for d in dtype)

    # A bare array is either the padded 3-D form or a single video passed by mistake.
    # A 1-D object array is a list of videos stored in an array, as np.array(videos,
    # dtype=object) gives for videos of different lengths.
    if isinstance(X, np.ndarray):
        if X.ndim == 3 and X.dtype.kind == "f":
            X = _unpad(X)
        elif X.ndim == 1 and X.dtype == object:
            X = list(X)
        else:
            if X.ndim == 3:
                fix = (
                    "A padded array must be float to hold NaN: pass X.astype(np.float32), "
                    "or a list of videos."
                )
            else:
                fix = "Wrap a single video in a list: [video]."
            raise ValueError(
                f"{subject}expects a list of videos or a NaN-padded array of shape "
                f"(n_videos, T_max, d); got an array of shape {X.shape} and dtype {X.dtype}. "
                f"{fix}"
            )
    elif isinstance(X, (str, os.PathLike)):
        raise ValueError(
            f"{subject}expects a list of videos; got the single path {str(X)!r}. "
            "Wrap it in a list: [path]."
        )
    elif not isinstance(X, (list, tuple)):
        raise ValueError(
            f"{subject}expects a list or tuple of videos; got {type(X).__name__}. "
            "Pass a list of (T_i, d) feature arrays, (T_i, H, W, 3) frame arrays or paths."
        )
    if len(X) == 0:
        raise ValueError(f"{subject}got an empty list of videos; pass at least one video.")

    videos = []
    feature_size = n_features
    for index, video in enumerate(X):
        # Paths are checked for existence here and decoded later by sk_realign.io.
        if isinstance(video, (str, os.PathLike)):
            if "paths" not in kinds:
                raise ValueError(
                    f"Video {index} is the path {str(video)!r}, but {subject}takes arrays only. "
                    "Decode it with sk_realign.io.read_video first."
                )
            path = Path(video)
            if path.is_dir():
                raise IsADirectoryError(
                    f"Video {index} is the folder {str(path)!r}; expected a video file. List "
                    "the folder's files instead, for example sorted(Path(folder).glob('*.mp4'))."
                )
            if not path.is_file():
                raise FileNotFoundError(
                    f"Video {index}: no such file {str(path)!r}. Check the path."
                )
            videos.append(path)
            continue

        try:
            array = np.asarray(video)
        except ValueError as error:
            raise ValueError(
                f"Video {index} could not be read as an array ({error}). Its frames must all "
                "have the same size."
            ) from None

        if array.ndim == 2:
            if "features" not in kinds:
                raise ValueError(
                    f"Video {index} is {_describe(array)}, a feature array, but {subject}takes "
                    f"only {', '.join(kinds)}."
                )
            array = _check_float_array(array, index, dtype)
            if array.shape[1] == 0:
                raise ValueError(f"Video {index} has 0 features per frame; expected d >= 1.")
            if feature_size is None:
                feature_size = array.shape[1]
            elif array.shape[1] != feature_size:
                source = "the fitted data" if n_features is not None else "video 0"
                raise ValueError(
                    f"Video {index} has {array.shape[1]} features per frame, but {subject}expects "
                    f"{feature_size} (as in {source}). Extract every video's features with the "
                    "same backbone."
                )
        elif array.ndim == 4:
            if "frames" not in kinds:
                raise ValueError(
                    f"Video {index} is {_describe(array)}, a frame array, but {subject}takes "
                    f"only {', '.join(kinds)}."
                )
            if array.shape[-1] != 3:
                raise ValueError(
                    f"Video {index} has frames of shape {array.shape[1:]}; expected "
                    "(H, W, 3) RGB frames, channels last."
                )
            array = _check_float_array(array, index, dtype)
        else:
            expected = " or ".join(
                {"features": "(T_i, d) features", "frames": "(T_i, H, W, 3) frames",
                 "paths": "a file path"}[kind]
                for kind in kinds
            )
            hints = {
                1: " A 1-D array is a single frame or a label array: reshape it to (T_i, d).",
                3: " A 3-D array holds several videos: pass a NaN-padded "
                   "(n_videos, T_max, d) array as X itself, not inside a list.",
            }
            raise ValueError(
                f"Video {index} is {_describe(array)}; expected {expected}."
                f"{hints.get(array.ndim, '')}"
            )

        if array.shape[0] < min_frames:
            raise ValueError(
                f"Video {index} has {array.shape[0]} frame(s), but {subject}needs at least "
                f"{min_frames}. Drop the video or give it more frames."
            )
        videos.append(array)
    return videos


def _encode_labels(labels):
    """Map string labels of all videos to integers, background names to 0."""
    names = sorted({str(v) for video in labels for v in video})
    foreground = [n for n in names if n.lower() not in BACKGROUND_NAMES]
    codes = {n: 0 for n in names if n.lower() in BACKGROUND_NAMES}
    codes.update({n: i + 1 for i, n in enumerate(foreground)})
    return [np.array([codes[str(v)] for v in video], dtype=np.int64) for video in labels]


def check_labels(y, lengths=None):
    """Convert per-frame labels to a list of int64 arrays and check them against the videos.

    Parameters
    ----------
    y : list or tuple of 1-D arrays
        One label per frame. Integer labels are kept (``0`` is background). String labels
        are mapped to integers over all videos together: the names in
        :data:`BACKGROUND_NAMES` (such as ``"SIL"`` or ``"background"``) become 0 and the
        other names 1, 2, ... in sorted order.
    lengths : sequence of int, default=None
        The number of frames of each video; every label array must have that length.

    Returns
    -------
    labels : list of ndarray of shape (T_i,) and dtype int64

    Raises
    ------
    ValueError
        For a ``y`` that is not a list, a count of label arrays that differs from the count
        of videos, a label array whose length differs from its video's, negative or
        non-integer labels, NaN, and names in some videos but numbers in others.
    """
    if isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype != object:
        raise ValueError(
            f"y is a single 1-D array of shape {y.shape}; expected a list with one label "
            "array per video. Wrap it in a list: [labels]."
        )
    if not isinstance(y, (list, tuple, np.ndarray)):
        raise ValueError(
            f"y must be a list of per-frame label arrays, one per video; got {type(y).__name__}."
        )
    if isinstance(y, (list, tuple)) and len(y) and all(np.ndim(labels) == 0 for labels in y):
        raise ValueError(
            f"y is a flat list of {len(y)} labels; expected a list with one label array per "
            "video. Wrap it in a list: [labels]."
        )
    y = [np.asarray(labels) for labels in y]
    if lengths is not None and len(y) != len(lengths):
        raise ValueError(
            f"y has {len(y)} label arrays but X has {len(lengths)} videos. Give one label "
            "array per video, in the same order."
        )
    for index, labels in enumerate(y):
        if labels.ndim != 1:
            raise ValueError(
                f"Labels of video {index} have shape {labels.shape}; expected a 1-D array "
                "with one label per frame."
            )
        if lengths is not None and labels.shape[0] != lengths[index]:
            raise ValueError(
                f"Video {index} has {lengths[index]} frames but {labels.shape[0]} labels. "
                "Give exactly one label per frame (resample the labels to the video's frame "
                "rate if they come from another one)."
            )

    # Names and integers cannot be mixed, because the name "0" or "SIL" of one video and the
    # integer 0 of another would get different codes.
    is_named = [labels.dtype.kind in "USO" for labels in y]
    if any(is_named):
        numeric = [i for i, labels in enumerate(y) if not is_named[i] and labels.size]
        if numeric:
            named = is_named.index(True)
            raise ValueError(
                f"Labels of video {named} are names (dtype {y[named].dtype}) but labels of "
                f"video {numeric[0]} are numbers (dtype {y[numeric[0]].dtype}). Give every "
                "video the same kind of label: convert names to ids with "
                "sk_realign.labels.names_to_ids."
            )
        return _encode_labels(y)

    checked = []
    for index, labels in enumerate(y):
        if labels.dtype.kind == "f":
            if not np.isfinite(labels).all():
                raise ValueError(f"Labels of video {index} contain NaN or inf.")
            if not np.array_equal(labels, np.round(labels)):
                raise ValueError(
                    f"Labels of video {index} are not integers (first value "
                    f"{labels[labels != np.round(labels)][0]!r}); give integer step ids."
                )
        elif labels.dtype.kind not in "iub":
            raise ValueError(
                f"Labels of video {index} have dtype {labels.dtype}; expected integers or strings."
            )
        labels = labels.astype(np.int64)
        if labels.size and labels.min() < 0:
            raise ValueError(
                f"Labels of video {index} contain the negative value {labels.min()}; use 0 "
                "for background and positive integers for key steps."
            )
        checked.append(labels)
    return checked


def sequence_tags(tags):
    """Declare, on a ``__sklearn_tags__`` result, that ``X`` is a list of sequences.

    scikit-learn's common checks assume a 2-D ``X`` of samples; these estimators take a
    list of videos instead and declare it.
    """
    tags.input_tags.two_d_array = False
    tags.input_tags.three_d_array = True
    tags.input_tags.allow_nan = False
    tags.non_deterministic = False
    return tags


def check_positive_int(value, name):
    """Check that ``value`` is an int >= 1 and return it as ``int``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int in the range [1, inf). Got {value!r} instead.")
    return int(value)
