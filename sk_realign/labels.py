"""Per-frame key-step labels: segments in seconds, mapping files and name/id conversion.

Benchmarks annotate key steps as segments ``(start, end, step)`` in seconds, while the
estimators score one integer label per frame. This module converts between the two, and
reads and writes the mapping files (``<id> <name>`` per line) that give each step id its
name.

Frame timing
------------
At ``fps`` frames per second, frame ``i`` covers the time interval ``[i / fps, (i + 1) / fps)``
and its centre is ``(i + 0.5) / fps``. A segment ``[start, end)`` covers exactly the frames
whose centre lies inside it, that is the frames ``i`` with

.. math::

    \\lceil start \\cdot fps - 1/2 \\rceil \\le i < \\lceil end \\cdot fps - 1/2 \\rceil .

Two segments that touch (one ends where the next starts) therefore share no frame, and a
segment shorter than one frame may cover no frame at all (with a warning). Frames covered
by no segment get the background id, 0 by default.
"""

import logging
import math
import numbers
import os
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "segments_to_labels",
    "labels_to_segments",
    "read_mapping",
    "write_mapping",
    "names_to_ids",
    "ids_to_names",
]

logger = logging.getLogger(__name__)

# Slack, in frames, for times that are meant to fall exactly on a frame boundary but carry
# floating-point error (0.1 * 3 is 0.30000000000000004).
_FRAME_TOLERANCE = 1e-9

# Slack, in seconds, before a segment counts as out of range.
_TIME_TOLERANCE = 1e-6

_OVERLAP_POLICIES = ("raise", "first", "last")
_RANGE_POLICIES = ("raise", "clip")


def _read_utf8(path):
    """Read a text file as UTF-8, skipping a byte-order mark, with errors that name it."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{str(path)!r} is a folder; expected a text file.")
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        bad_byte = error.object[error.start]
        raise ValueError(
            f"{path} is not UTF-8 text: the byte {bad_byte:#04x} at offset {error.start} "
            "is invalid UTF-8. Save the file as UTF-8, for example with "
            "'iconv -f latin1 -t utf-8' for a Latin-1 file."
        ) from None


def _check_fps(fps):
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not (
        math.isfinite(fps) and fps > 0
    ):
        raise ValueError(f"fps must be a positive finite number. Got {fps!r} instead.")
    return float(fps)


def _check_option(value, name, options):
    if value not in options:
        raise ValueError(f"{name} must be one of {options}. Got {value!r} instead.")


def _as_segment_arrays(segments, background):
    """Split a list of ``(start, end, step)`` into float start/end and int step arrays."""
    rows = list(segments)
    starts = np.empty(len(rows))
    ends = np.empty(len(rows))
    steps = np.empty(len(rows), dtype=np.int64)
    for index, row in enumerate(rows):
        try:
            start, end, step = row
        except (TypeError, ValueError):
            raise ValueError(
                f"Segment {index} is {row!r}; expected a (start, end, step) triple with times "
                "in seconds and an integer step id."
            ) from None
        try:
            starts[index] = float(start)
            ends[index] = float(end)
        except (TypeError, ValueError):
            raise ValueError(
                f"Segment {index} has start {start!r} and end {end!r}; expected numbers of "
                "seconds."
            ) from None
        if isinstance(step, bool) or not isinstance(step, numbers.Integral):
            if isinstance(step, numbers.Real) and float(step).is_integer():
                step = int(step)
            else:
                raise ValueError(
                    f"Segment {index} has step {step!r}; expected an integer step id. Convert "
                    "step names with names_to_ids first."
                )
        steps[index] = int(step)

        if not (math.isfinite(starts[index]) and math.isfinite(ends[index])):
            raise ValueError(
                f"Segment {index} has start {start!r} and end {end!r}; times must be finite."
            )
        if ends[index] < starts[index]:
            raise ValueError(
                f"Segment {index} (step {steps[index]}) ends at {ends[index]:g} s, before its "
                f"start at {starts[index]:g} s. Swap or fix the two times."
            )
        if steps[index] < 0:
            raise ValueError(
                f"Segment {index} has the negative step id {steps[index]}; key-step ids are "
                "integers >= 1 (0 is background), as the estimators and metrics expect."
            )
        if steps[index] == background:
            raise ValueError(
                f"Segment {index} has step {steps[index]}, the background id. Give key-step "
                "segments only: frames outside every segment are background already."
            )
    return starts, ends, steps


def _frame_bounds(starts, ends, fps):
    """Return the first and one-past-last frame of each segment (the centre rule)."""
    first = np.ceil(starts * fps - 0.5 - _FRAME_TOLERANCE).astype(np.int64)
    stop = np.ceil(ends * fps - 0.5 - _FRAME_TOLERANCE).astype(np.int64)
    return np.maximum(first, 0), np.maximum(stop, 0)


def _describe_segment(index, starts, ends, steps, capital=False):
    word = "Segment" if capital else "segment"
    return f"{word} {index} (step {steps[index]}, {starts[index]:g} s to {ends[index]:g} s)"


def segments_to_labels(
    segments,
    fps,
    *,
    n_frames=None,
    duration=None,
    background=0,
    overlap="raise",
    out_of_range="raise",
):
    """Convert key-step segments in seconds into one label per frame.

    Parameters
    ----------
    segments : iterable of (start, end, step)
        The annotated segments: ``start`` and ``end`` in seconds (``end`` excluded), ``step``
        an integer step id other than ``background``. Steps may repeat and come in any order.
    fps : float
        The frame rate of the labels, in frames per second. Frame ``i`` covers the time
        interval ``[i / fps, (i + 1) / fps)``; a segment covers the frames whose centre
        ``(i + 0.5) / fps`` lies in ``[start, end)``.
    n_frames : int, default=None
        The number of frames of the video (for example the length of its feature array).
    duration : float, default=None
        The length of the video in seconds, used when ``n_frames`` is not known. The video
        then has ``ceil(duration * fps)`` frames: every frame that starts before the end.
        With neither ``n_frames`` nor ``duration``, the labels end with the last frame that
        a segment covers.
    background : int, default=0
        The label of frames that no segment covers.
    overlap : {"raise", "first", "last"}, default="raise"
        What to do when segments of different steps cover the same frame. ``"raise"`` raises
        a ``ValueError`` naming both segments. ``"first"`` keeps the step of the segment that
        comes first in ``segments``, and ``"last"`` gives the frame to the segment that comes
        last. Overlapping segments of the same step are merged under every policy.
    out_of_range : {"raise", "clip"}, default="raise"
        What to do with a segment that starts before 0 s or ends after the end of the video
        (``n_frames / fps`` or ``duration``). ``"raise"`` raises a ``ValueError`` naming the
        segment; ``"clip"`` cuts it to the video, and a segment wholly outside it then covers
        no frame.

    Returns
    -------
    labels : ndarray of shape (n_frames,) and dtype int64
        The step id of every frame, ``background`` where no segment covers the frame.

    Raises
    ------
    ValueError
        For an ``fps`` that is not a positive number, both or a negative ``n_frames`` and
        ``duration``, a malformed segment, a segment that ends before it starts or has the
        background id or a negative step id, overlapping steps under ``overlap="raise"``, a segment out of range
        under ``out_of_range="raise"``, and no segments with no length given.

    Warns
    -----
    UserWarning
        When a segment covers no frame because it is shorter than one frame (or, after
        clipping, lies outside the video): its step is then missing from the labels.

    See Also
    --------
    labels_to_segments : The inverse conversion.
    names_to_ids : Convert step names to the integer ids this function takes.

    Examples
    --------
    >>> from sk_realign.labels import segments_to_labels
    >>> segments_to_labels([(0.5, 1.5, 2), (2.0, 2.5, 1)], fps=2, n_frames=6)
    array([0, 2, 2, 0, 1, 0])
    """
    fps = _check_fps(fps)
    _check_option(overlap, "overlap", _OVERLAP_POLICIES)
    _check_option(out_of_range, "out_of_range", _RANGE_POLICIES)
    if n_frames is not None and duration is not None:
        raise ValueError(
            f"Give n_frames or duration, not both (got n_frames={n_frames!r} and "
            f"duration={duration!r})."
        )
    if n_frames is not None:
        is_int = isinstance(n_frames, numbers.Integral) and not isinstance(n_frames, bool)
        if not is_int or n_frames < 0:
            raise ValueError(f"n_frames must be an int >= 0. Got {n_frames!r} instead.")
        n_frames = int(n_frames)
    if duration is not None:
        is_real = isinstance(duration, numbers.Real) and not isinstance(duration, bool)
        if not is_real or not (math.isfinite(duration) and duration >= 0):
            raise ValueError(f"duration must be a finite number >= 0. Got {duration!r} instead.")
        n_frames = int(math.ceil(duration * fps - _FRAME_TOLERANCE))

    starts, ends, steps = _as_segment_arrays(segments, background)
    if n_frames is None and len(steps) == 0:
        raise ValueError(
            "Got no segments and neither n_frames nor duration, so the number of frames is "
            "unknown. Give n_frames (or duration) to get an all-background label array."
        )

    # Segments outside the video are an error by default, because a time offset or a wrong
    # frame rate shows up this way. Clipping is for annotations that end a little late.
    video_end = n_frames / fps if n_frames is not None else math.inf
    outside = np.flatnonzero(
        (starts < -_TIME_TOLERANCE) | (ends > video_end + _TIME_TOLERANCE)
    )
    if outside.size and out_of_range == "raise":
        index = int(outside[0])
        raise ValueError(
            f"{_describe_segment(index, starts, ends, steps, capital=True)} lies outside the "
            f"video, which spans 0 s to {video_end:g} s ({n_frames} frames at {fps:g} fps); "
            f"{outside.size} of {len(steps)} segments lie outside it. Check the frame rate "
            "and the number of frames, or pass out_of_range='clip' to cut segments to the "
            "video."
        )
    starts = np.clip(starts, 0.0, video_end)
    ends = np.clip(ends, 0.0, video_end)

    first, stop = _frame_bounds(starts, ends, fps)
    if n_frames is None:
        n_frames = int(stop.max())
    stop = np.minimum(stop, n_frames)

    labels = np.full(n_frames, background, dtype=np.int64)
    owner = np.full(n_frames, -1, dtype=np.int64)
    for index in range(len(steps)):
        if stop[index] <= first[index]:
            warnings.warn(
                f"{_describe_segment(index, starts, ends, steps, capital=True)} covers no "
                f"frame centre at {fps:g} fps, so the step is missing there. Use a higher "
                "frame rate to keep segments shorter than one frame.",
                UserWarning,
                stacklevel=2,
            )
            continue

        span = slice(first[index], stop[index])
        clash = (owner[span] >= 0) & (labels[span] != steps[index])
        if clash.any():
            frame = int(first[index] + np.flatnonzero(clash)[0])
            other = int(owner[frame])
            if overlap == "raise":
                raise ValueError(
                    f"{_describe_segment(other, starts, ends, steps, capital=True)} and "
                    f"{_describe_segment(index, starts, ends, steps)} both cover frame "
                    f"{frame} ({frame / fps:g} s to {(frame + 1) / fps:g} s). Fix the "
                    "annotation, or pass overlap='first' or overlap='last' to let the "
                    "segment listed first or last keep the shared frames."
                )
            logger.debug("Steps %d and %d overlap at frame %d.", steps[other], steps[index], frame)

        if overlap == "first":
            free = owner[span] < 0
            labels[span][free] = steps[index]
            owner[span][free] = index
        else:
            labels[span] = steps[index]
            owner[span] = index
    return labels


def labels_to_segments(labels, fps=1.0, *, background=0):
    """Convert per-frame labels into segments ``(start, end, step)`` in seconds.

    Each run of equal non-background labels becomes one segment from the start of its first
    frame to the end of its last frame, so that :func:`segments_to_labels` with the same
    ``fps`` and ``n_frames=len(labels)`` returns ``labels`` again.

    Parameters
    ----------
    labels : array-like of shape (n_frames,)
        Integer label of every frame.
    fps : float, default=1.0
        The frame rate of the labels; with the default the times are frame indices.
    background : int, default=0
        The label that is left out of the segments.

    Returns
    -------
    segments : list of (float, float, int)
        One ``(start, end, step)`` per run of a key step, in time order.

    Examples
    --------
    >>> from sk_realign.labels import labels_to_segments
    >>> labels_to_segments([0, 2, 2, 0, 1, 0], fps=2)
    [(0.5, 1.5, 2), (2.0, 2.5, 1)]
    """
    fps = _check_fps(fps)
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array; got shape {labels.shape}.")
    if labels.size == 0:
        return []
    is_integral_float = labels.dtype.kind == "f" and np.array_equal(labels, np.round(labels))
    if labels.dtype.kind not in "iub" and not is_integral_float:
        raise ValueError(
            f"labels must be integer step ids; got an array of dtype {labels.dtype}. Convert "
            "step names with names_to_ids first."
        )

    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    run_starts = np.concatenate([[0], change])
    run_stops = np.concatenate([change, [labels.size]])
    return [
        (float(begin / fps), float(end / fps), int(labels[begin]))
        for begin, end in zip(run_starts, run_stops)
        if labels[begin] != background
    ]


def read_mapping(path):
    """Read a mapping file of ``<id> <name>`` lines into a dict.

    The id is an integer and the name is the rest of the line after the whitespace that
    follows the id, so names may contain spaces. Blank lines are skipped.

    Parameters
    ----------
    path : str or path-like
        The mapping file, such as Breakfast's ``mapping.txt``.

    Returns
    -------
    mapping : dict of int to str
        The name of every id, in the order of the file.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    IsADirectoryError
        When ``path`` is a folder.
    ValueError
        For a line without a name, an id that is not an integer, or an id or a name that
        occurs twice (the message gives the file and the line number), and for a file that
        is not UTF-8 text.

    See Also
    --------
    write_mapping : Write a mapping file.

    Examples
    --------
    >>> import tempfile, os
    >>> from sk_realign.labels import read_mapping
    >>> path = os.path.join(tempfile.mkdtemp(), "mapping.txt")
    >>> with open(path, "w") as f:
    ...     _ = f.write("0 SIL\\n1 take cup\\n")
    >>> read_mapping(path)
    {0: 'SIL', 1: 'take cup'}
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"Mapping file {str(path)!r} not found.")
    text = _read_utf8(path)

    mapping = {}
    seen_names = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            raise ValueError(
                f"{path}, line {line_number}: {line!r} has no name; expected '<id> <name>'."
            )
        try:
            label_id = int(parts[0])
        except ValueError:
            raise ValueError(
                f"{path}, line {line_number}: the id {parts[0]!r} is not an integer; "
                "expected '<id> <name>'."
            ) from None
        name = parts[1].strip()
        if label_id in mapping:
            raise ValueError(f"{path}, line {line_number}: the id {label_id} occurs twice.")
        if name in seen_names:
            raise ValueError(
                f"{path}, line {line_number}: the name {name!r} occurs twice (ids "
                f"{seen_names[name]} and {label_id})."
            )
        mapping[label_id] = name
        seen_names[name] = label_id
    return mapping


def write_mapping(mapping, path):
    """Write a dict of ids to names as a mapping file, one ``<id> <name>`` line per id.

    Parameters
    ----------
    mapping : dict of int to str
        The name of every id. Lines are written in increasing order of id.
    path : str or path-like
        The file to write; it is replaced if it exists.

    Returns
    -------
    None
        The mapping is written to ``path`` as UTF-8 text.

    Raises
    ------
    ValueError
        For an id that is not an integer, or a name that is empty, has a line break or
        leading or trailing whitespace (it would not read back the same).

    See Also
    --------
    read_mapping : Read a mapping file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_realign.labels import read_mapping, write_mapping
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "mapping.txt")
    ...     write_mapping({2: "pour_coffee", 0: "SIL", 1: "take_cup"}, path)
    ...     with open(path, encoding="utf-8") as f:
    ...         print(f.read(), end="")
    ...     mapping = read_mapping(path)
    0 SIL
    1 take_cup
    2 pour_coffee
    >>> mapping
    {0: 'SIL', 1: 'take_cup', 2: 'pour_coffee'}
    """
    for label_id in mapping:
        if isinstance(label_id, bool) or not isinstance(label_id, numbers.Integral):
            raise ValueError(f"Mapping ids must be integers; got {label_id!r}.")

    lines = []
    for label_id, name in sorted(mapping.items()):
        name = str(name)
        if not name or name != name.strip() or "\n" in name or "\r" in name:
            raise ValueError(
                f"The name {name!r} of id {label_id} cannot be written to a mapping file: "
                "names must be non-empty, on one line, without leading or trailing spaces."
            )
        lines.append(f"{int(label_id)} {name}\n")
    with open(os.fspath(path), "w", encoding="utf-8") as f:
        f.writelines(lines)


def _check_mapping(mapping):
    if not isinstance(mapping, dict):
        raise ValueError(
            f"mapping must be a dict of int ids to str names, such as read_mapping returns; "
            f"got {type(mapping).__name__}."
        )


def _list_some(values, limit=10):
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} in all)" if len(values) > limit else "")


def names_to_ids(names, mapping):
    """Convert step names to their integer ids.

    Parameters
    ----------
    names : array-like of str
        Step names, such as the per-frame labels of a Breakfast ground-truth file.
    mapping : dict of int to str
        The name of every id, as :func:`read_mapping` returns.

    Returns
    -------
    ids : ndarray of dtype int64, the shape of ``names``

    Raises
    ------
    ValueError
        When a name is not in ``mapping``; the message lists the unknown names.

    Examples
    --------
    >>> from sk_realign.labels import names_to_ids
    >>> names_to_ids(["SIL", "take_cup", "SIL"], {0: "SIL", 1: "take_cup"})
    array([0, 1, 0])
    """
    _check_mapping(mapping)
    ids_by_name = {str(name): int(label_id) for label_id, name in mapping.items()}
    names = np.asarray(names, dtype=object)
    unknown = sorted({str(name) for name in names.ravel()} - set(ids_by_name))
    if unknown:
        raise ValueError(
            f"Names not in the mapping: {_list_some(unknown)}. Known names: "
            f"{_list_some(ids_by_name)}. Add them to the mapping file or fix their spelling."
        )
    ids = np.array([ids_by_name[str(name)] for name in names.ravel()], dtype=np.int64)
    return ids.reshape(names.shape)


def ids_to_names(ids, mapping):
    """Convert integer step ids to their names.

    Parameters
    ----------
    ids : array-like of int
        Step ids, such as per-frame labels.
    mapping : dict of int to str
        The name of every id, as :func:`read_mapping` returns.

    Returns
    -------
    names : ndarray of str, the shape of ``ids``

    Raises
    ------
    ValueError
        When an id is not in ``mapping``; the message lists the unknown ids.

    Examples
    --------
    >>> from sk_realign.labels import ids_to_names
    >>> ids_to_names([0, 1, 0], {0: "SIL", 1: "take_cup"}).tolist()
    ['SIL', 'take_cup', 'SIL']
    """
    _check_mapping(mapping)
    ids = np.asarray(ids)
    if ids.size == 0:
        return np.empty(ids.shape, dtype=str)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"ids must be integers; got an array of dtype {ids.dtype}.")
    names_by_id = {int(label_id): str(name) for label_id, name in mapping.items()}
    unknown = sorted({int(i) for i in ids.ravel()} - set(names_by_id))
    if unknown:
        raise ValueError(
            f"Ids not in the mapping: {_list_some(unknown)}. Known ids: "
            f"{_list_some(sorted(names_by_id))}."
        )
    names = np.array([names_by_id[int(i)] for i in ids.ravel()], dtype=str)
    return names.reshape(ids.shape)
