"""Readers for the annotation layouts of procedure-learning benchmarks.

Each loader turns a folder of annotations (and, optionally, a folder of per-video features)
into a :class:`~sklearn.utils.Bunch` shaped like the one of
:func:`~sk_realign.datasets.load_breakfast_coffee`: ``X``, ``y``, ``video_names``,
``label_names`` and ``fps``. Annotations in seconds become per-frame labels with
:func:`sk_realign.labels.segments_to_labels`, whose frame rule (a segment covers the frames
whose centre it contains) and ``overlap`` and ``out_of_range`` policies the loaders pass on.

Supported layouts:

- EgoProceL and ProceL: one CSV file per video, no header, rows
  ``start second, end second, step name``, the step name beginning with its number
  (``"3. pour water"``).
- CrossTask: ``tasks_primary.txt`` (six-line records: task id, title, URL, number of steps,
  comma-separated step names, blank line) and ``annotations/<task>_<video>.csv`` with rows
  ``step,start,end``, steps numbered from 1.
- Breakfast: one per-frame label file per video (one label name per line, ``SIL`` for
  background) and a ``mapping.txt`` of ``<id> <name>`` lines.

Features are ``.npy`` or whitespace-separated text files, one per video, of shape
``(n_frames, d)``, named after the video.

Text files are read as UTF-8; a leading byte-order mark, as some spreadsheet programs write,
is ignored, and so are Windows line endings. A file in another encoding raises a
``ValueError`` that names the file and the first byte that is not UTF-8.
"""

import csv
import io
import logging
import os
import re
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..labels import _check_fps, _read_utf8, names_to_ids, read_mapping, segments_to_labels

__all__ = [
    "load_egoprocel",
    "load_procel",
    "load_crosstask",
    "load_breakfast",
    "read_step_csv",
    "read_crosstask_csv",
    "read_crosstask_tasks",
    "read_frame_labels",
]

logger = logging.getLogger(__name__)

FEATURE_SUFFIXES = (".npy", ".txt")

# A step name that begins with its number: "3. pour water", "3) pour water", "3, pour water",
# "3 pour water".
_NUMBERED_STEP = re.compile(r"^\s*(\d+)\s*[.):,\-]?\s*(.*?)\s*$")

_WHOLE_NUMBER = re.compile(r"^\s*\d+\s*$")
_STEP_NUMBER_PREFIX = re.compile(r"^\s*\d+\s*[.):\-]")


def _has_decimal_commas(row):
    """Tell whether a step-CSV row reads best as times written with decimal commas.

    ``0,5,1,5,1. take bread`` (0.5 s to 1.5 s) and ``0,5,2,1. take bread`` (0.5 s to 2 s)
    split into whole numbers before a numbered step name.
    """
    whole = [bool(_WHOLE_NUMBER.match(field)) for field in row]
    both_decimal = len(row) >= 5 and all(whole[:4]) and _STEP_NUMBER_PREFIX.match(row[4])
    one_decimal = len(row) >= 4 and all(whole[:3]) and _STEP_NUMBER_PREFIX.match(row[3])
    return bool(both_decimal or one_decimal)


def _list_files(source, suffixes, what):
    """Return the files of a folder (filtered by suffix) or a given list of files, sorted."""
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if not folder.is_dir():
            raise FileNotFoundError(f"The {what} folder {str(folder)!r} does not exist.")
        files = sorted(
            path for path in folder.iterdir()
            if path.is_file() and not path.name.startswith(".")
            and (suffixes is None or path.suffix.lower() in suffixes)
        )
        if not files:
            wanted = f" with suffix {' or '.join(suffixes)}" if suffixes else ""
            raise ValueError(f"The {what} folder {str(folder)!r} contains no files{wanted}.")
        return files

    files = [Path(path) for path in source]
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"{what.capitalize()} files not found: {missing}.")
    if not files:
        raise ValueError(f"Got an empty list of {what} files.")
    return files


def _parse_seconds(text, path, line_number, column):
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{path}, line {line_number}: the {column} {text.strip()!r} is not a number of "
            "seconds. The file must have no header row."
        ) from None


def read_step_csv(path):
    """Read one EgoProceL or ProceL annotation file.

    Parameters
    ----------
    path : str or path-like
        A CSV file without header, one segment per row: start second, end second and the
        step name, which begins with the step's number (``"3. pour water"``). A name with
        commas may be quoted or not.

    Returns
    -------
    segments : list of (float, float, int)
        ``(start, end, step)`` for every row, in file order.
    step_names : dict of int to str
        The name of every step number in the file, without the number (``"pour water"``);
        a name left empty after the number becomes ``"step <number>"``.

    Raises
    ------
    ValueError
        For a row with fewer than three fields, a time that is not a number, a step name
        without a leading number, step number 0 (the background id), or one step number
        with two different names. The message gives the file and the line.

    See Also
    --------
    load_egoprocel : Load a folder of such files, with features.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_realign.datasets import read_step_csv
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "P01.csv")
    ...     with open(path, "w", encoding="utf-8") as f:
    ...         _ = f.write("0.0,2.5,1. take bread\\n2.5,4.0,2. spread butter\\n")
    ...     segments, step_names = read_step_csv(path)
    >>> segments
    [(0.0, 2.5, 1), (2.5, 4.0, 2)]
    >>> step_names
    {1: 'take bread', 2: 'spread butter'}
    """
    path = Path(path)
    segments = []
    step_names = {}
    rows = csv.reader(io.StringIO(_read_utf8(path), newline=""))
    for line_number, row in enumerate(rows, start=1):
        if not row or all(not field.strip() for field in row):
            continue
        if len(row) < 3:
            raise ValueError(
                f"{path}, line {line_number}: {','.join(row)!r} has {len(row)} field(s); "
                "expected 'start second, end second, step name'."
            )
        # Read field by field, such a row would give a segment from 0 s to 5 s of step 1
        # named ",5,1. take bread".
        if _has_decimal_commas(row):
            raise ValueError(
                f"{path}, line {line_number}: {','.join(row)!r} looks like times written with "
                "decimal commas. Write times with a decimal point (0.5, not 0,5)."
            )
        start = _parse_seconds(row[0], path, line_number, "start")
        end = _parse_seconds(row[1], path, line_number, "end")
        name = ",".join(row[2:]).strip()

        match = _NUMBERED_STEP.match(name)
        if match is None:
            raise ValueError(
                f"{path}, line {line_number}: the step name {name!r} does not begin with "
                "its number; expected a name such as '3. pour water'."
            )
        step = int(match.group(1))
        if step == 0:
            raise ValueError(
                f"{path}, line {line_number}: step number 0 is the background id; "
                "number key steps from 1."
            )
        step_name = match.group(2) or f"step {step}"
        if step_names.setdefault(step, step_name) != step_name:
            raise ValueError(
                f"{path}, line {line_number}: step {step} is named {step_name!r}, but "
                f"{step_names[step]!r} on an earlier line."
            )
        segments.append((start, end, step))
    return segments, step_names


def read_crosstask_csv(path):
    """Read one CrossTask annotation file ``<task>_<video>.csv``.

    Parameters
    ----------
    path : str or path-like
        A CSV file without header, one segment per row: ``step,start,end`` with the step
        number counted from 1 and the times in seconds.

    Returns
    -------
    segments : list of (float, float, int)
        ``(start, end, step)`` for every row, in file order.

    Raises
    ------
    ValueError
        For a row without exactly three fields, a step that is not an integer >= 1, or a
        time that is not a number; the message gives the file and the line.

    See Also
    --------
    load_crosstask : Load a folder of such files, with features.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_realign.datasets import read_crosstask_csv
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "105222_abc.csv")
    ...     with open(path, "w", encoding="utf-8") as f:
    ...         _ = f.write("2,1.0,3.0\\n1,3.0,4.5\\n")
    ...     read_crosstask_csv(path)
    [(1.0, 3.0, 2), (3.0, 4.5, 1)]
    """
    path = Path(path)
    segments = []
    rows = csv.reader(io.StringIO(_read_utf8(path), newline=""))
    for line_number, row in enumerate(rows, start=1):
        if not row or all(not field.strip() for field in row):
            continue
        if len(row) != 3:
            raise ValueError(
                f"{path}, line {line_number}: {','.join(row)!r} has {len(row)} field(s); "
                "expected 'step,start,end'."
            )
        try:
            step = int(row[0])
        except ValueError:
            step = 0
        if step < 1:
            raise ValueError(
                f"{path}, line {line_number}: the step {row[0].strip()!r} is not an "
                "integer >= 1. CrossTask numbers steps from 1, and the file has no "
                "header row."
            )
        start = _parse_seconds(row[1], path, line_number, "start")
        end = _parse_seconds(row[2], path, line_number, "end")
        segments.append((start, end, step))
    return segments


def read_crosstask_tasks(path):
    """Read a CrossTask task list such as ``tasks_primary.txt``.

    Parameters
    ----------
    path : str or path-like
        Six-line records, one per task: task id, title, URL, number of steps,
        comma-separated step names, and a blank line (optional after the last record).

    Returns
    -------
    tasks : dict of str to :class:`~sklearn.utils.Bunch`
        For every task id, a Bunch with ``title``, ``url``, ``n_steps`` and ``steps`` (the
        list of step names, step 1 first).

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        For a truncated record, a step count that is not an integer or differs from the
        number of step names, or a task id that occurs twice.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_realign.datasets import read_crosstask_tasks
    >>> record = [
    ...     "105222",
    ...     "Make French Toast",
    ...     "https://www.example.com/french-toast",
    ...     "3",
    ...     "whisk mixture,dip bread in mixture,fry bread",
    ...     "",
    ... ]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "tasks_primary.txt")
    ...     with open(path, "w", encoding="utf-8") as f:
    ...         _ = f.write("\\n".join(record))
    ...     tasks = read_crosstask_tasks(path)
    >>> task = tasks["105222"]
    >>> task.title, task.n_steps
    ('Make French Toast', 3)
    >>> task.steps
    ['whisk mixture', 'dip bread in mixture', 'fry bread']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CrossTask task file {str(path)!r} not found.")
    lines = _read_utf8(path).splitlines()

    tasks = {}
    position = 0
    while position < len(lines):
        if not lines[position].strip():
            position += 1
            continue
        record = lines[position:position + 5]
        if len(record) < 5:
            raise ValueError(
                f"{path}, line {position + 1}: the record of task {record[0].strip()!r} has "
                f"{len(record)} line(s); expected 5 (task id, title, URL, number of steps, "
                "step names) and a blank line."
            )
        task_id, title, url, count, names = (line.strip() for line in record)
        try:
            n_steps = int(count)
        except ValueError:
            raise ValueError(
                f"{path}, line {position + 4}: the number of steps of task {task_id!r} is "
                f"{count!r}, not an integer."
            ) from None
        steps = [name.strip() for name in names.split(",")]
        if len(steps) != n_steps:
            raise ValueError(
                f"{path}, line {position + 5}: task {task_id!r} declares {n_steps} steps but "
                f"lists {len(steps)} names."
            )
        if task_id in tasks:
            raise ValueError(f"{path}, line {position + 1}: task {task_id!r} occurs twice.")
        tasks[task_id] = Bunch(title=title, url=url, n_steps=n_steps, steps=steps)
        position += 5
    return tasks


def read_frame_labels(path, mapping):
    """Read a Breakfast-style per-frame label file into label ids.

    Parameters
    ----------
    path : str or path-like
        One label name per line, one line per frame (Breakfast's ``groundTruth`` files).
        Blank lines are skipped.
    mapping : dict of int to str
        The id of every name, as :func:`sk_realign.labels.read_mapping` returns.

    Returns
    -------
    labels : ndarray of shape (n_frames,) and dtype int64
        The id of every frame's label, in file order.

    Raises
    ------
    ValueError
        For a name missing from ``mapping``; the message gives the file.

    See Also
    --------
    load_breakfast : Load a folder of such files, with features.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_realign.datasets import read_frame_labels
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "P03_coffee")
    ...     with open(path, "w", encoding="utf-8") as f:
    ...         _ = f.write("SIL\\ntake_cup\\ntake_cup\\npour_coffee\\nSIL\\n")
    ...     read_frame_labels(path, {0: "SIL", 1: "take_cup", 2: "pour_coffee"})
    array([0, 1, 1, 2, 0])
    """
    path = Path(path)
    names = [line.strip() for line in _read_utf8(path).splitlines()]
    names = [name for name in names if name]
    try:
        return names_to_ids(names, mapping)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def _load_feature_file(path):
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        elif path.stat().st_size == 0:
            array = np.empty((0, 0), dtype=np.float32)
        else:
            array = np.loadtxt(path, dtype=np.float32, ndmin=2)
    except ValueError as error:
        raise ValueError(f"Could not read the features in {str(path)!r}: {error}") from None
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(
            f"The features in {str(path)!r} have shape {array.shape}; expected (n_frames, d), "
            "one row per frame, with at least one frame."
        )
    if array.dtype.kind not in "fiub":
        raise ValueError(
            f"The features in {str(path)!r} have dtype {array.dtype}; expected numbers. "
            "Save them as a float array."
        )
    return np.asarray(array, dtype=np.float32)


def _match_features(features, video_keys):
    """Load the feature file of every video, matched by file stem.

    ``video_keys`` maps each video name to the stems its feature file may have. All videos
    must find a file; feature files of videos without annotations are left out.
    """
    files = _list_files(features, FEATURE_SUFFIXES, "features")
    by_stem = {}
    for path in files:
        if path.stem in by_stem:
            raise ValueError(
                f"Two feature files for {path.stem!r}: {by_stem[path.stem].name} and "
                f"{path.name}. Keep one."
            )
        by_stem[path.stem] = path

    matched = {}
    unmatched = []
    for video, keys in video_keys.items():
        found = [by_stem[key] for key in keys if key in by_stem]
        if found:
            matched[video] = found[0]
        else:
            unmatched.append(video)
    if unmatched:
        shown = ", ".join(repr(name) for name in unmatched[:10])
        more = f" ({len(unmatched)} in all)" if len(unmatched) > 10 else ""
        examples = ", ".join(repr(stem) for stem in sorted(by_stem)[:5])
        raise ValueError(
            f"No feature file matches the annotated video(s) {shown}{more}. Feature files "
            f"must be named <video>.npy or <video>.txt; the features folder has {examples}"
            f"{', ...' if len(by_stem) > 5 else ''}."
        )

    extra = len(by_stem) - len(set(matched.values()))
    if extra:
        logger.info("%d feature file(s) have no annotation and are left out.", extra)
    return {video: _load_feature_file(path) for video, path in matched.items()}


def _check_n_frames(n_frames, video_names):
    if n_frames is None:
        return {}
    if not isinstance(n_frames, dict):
        raise ValueError(
            f"n_frames must be a dict mapping video names to frame counts; got "
            f"{type(n_frames).__name__}."
        )
    missing = [name for name in video_names if name not in n_frames]
    if missing:
        raise ValueError(f"n_frames has no frame count for the video(s) {missing}.")
    return n_frames


def _segments_to_bunch(
    segments_by_video, label_names, features, feature_keys, n_frames, fps, overlap,
    out_of_range, **extra,
):
    """Turn per-video segments into labels (with the features' lengths) and a Bunch."""
    video_names = list(segments_by_video)
    if features is not None and n_frames is not None:
        raise ValueError("Give features or n_frames, not both: the features fix the frame counts.")
    X = None
    lengths = _check_n_frames(n_frames, video_names)
    if features is not None:
        loaded = _match_features(features, {name: feature_keys[name] for name in video_names})
        X = [loaded[name] for name in video_names]
        lengths = {name: len(loaded[name]) for name in video_names}

    y = []
    for name, (path, segments) in segments_by_video.items():
        # Warnings about segments that cover no frame are raised again with the file name,
        # which the conversion does not know.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                labels = segments_to_labels(
                    segments, fps, n_frames=lengths.get(name), overlap=overlap,
                    out_of_range=out_of_range,
                )
            except ValueError as error:
                raise ValueError(f"{path}: {error}") from None
        for warning in caught:
            warnings.warn(f"{path}: {warning.message}", warning.category, stacklevel=3)
        y.append(labels)
    return Bunch(X=X, y=y, video_names=video_names, label_names=label_names, fps=fps, **extra)


def _load_step_csvs(annotations, features, fps, n_frames, overlap, out_of_range, background_name):
    files = _list_files(annotations, (".csv",), "annotation")
    segments_by_video = {}
    label_names = {0: background_name}
    name_source = {}
    for path in files:
        segments, step_names = read_step_csv(path)
        for step, name in step_names.items():
            if label_names.setdefault(step, name) != name:
                raise ValueError(
                    f"Step {step} is named {name!r} in {path} but {label_names[step]!r} in "
                    f"{name_source[step]}. Use one name per step number across the videos."
                )
            name_source.setdefault(step, path)
        segments_by_video[path.stem] = (path, segments)

    label_names = dict(sorted(label_names.items()))
    keys = {name: [name] for name in segments_by_video}
    return _segments_to_bunch(
        segments_by_video, label_names, features, keys, n_frames, fps, overlap, out_of_range
    )


_LOADER_PARAMETERS = """
    fps : float
        The frame rate of the labels (and of the features), in frames per second. Frame
        ``i`` covers ``[i / fps, (i + 1) / fps)``; a segment covers the frames whose centre
        it contains.
    n_frames : dict of str to int, default=None
        The number of frames of every video, when no features are given (for example the
        lengths of decoded videos). With neither, each video's labels end with its last
        annotated frame.
    overlap : {"raise", "first", "last"}, default="raise"
        What to do when segments of different steps share a frame: raise a ``ValueError``
        naming the file and both segments, or let the segment listed first (or last) in the
        file keep the frame. See :func:`sk_realign.labels.segments_to_labels`.
    out_of_range : {"raise", "clip"}, default="raise"
        What to do with a segment that starts before 0 s or ends after the last frame:
        raise a ``ValueError`` naming the file and the segment, or cut it to the video."""

_BUNCH_FIELDS = """
        - ``X``: list of float32 arrays of shape (n_frames_i, d), the features, or ``None``
          when ``features`` is not given;
        - ``y``: list of int64 arrays of shape (n_frames_i,), the step id of every frame,
          0 being background;
        - ``video_names``: list of str, in the order of ``X`` and ``y``;
        - ``label_names``: dict mapping every step id (0 included) to its name;
        - ``fps``: the frame rate of the labels."""


def load_egoprocel(
    annotations,
    features=None,
    *,
    fps,
    n_frames=None,
    overlap="raise",
    out_of_range="raise",
    background_name="background",
):
    return _load_step_csvs(
        annotations, features, fps, n_frames, overlap, out_of_range, background_name
    )


def load_procel(
    annotations,
    features=None,
    *,
    fps,
    n_frames=None,
    overlap="raise",
    out_of_range="raise",
    background_name="background",
):
    return _load_step_csvs(
        annotations, features, fps, n_frames, overlap, out_of_range, background_name
    )


_STEP_CSV_DOC = """Load {dataset} annotations (one CSV per video) and, optionally, features.

    Parameters
    ----------
    annotations : str, path-like or list of path-like
        A folder of ``<video>.csv`` files, or a list of them. Each file has no header and
        one row per segment: start second, end second and the step name, which begins with
        its number (``"3. pour water"``). The step number becomes the label id.
    features : str or path-like, default=None
        A folder of per-video feature files ``<video>.npy`` or ``<video>.txt`` of shape
        ``(n_frames, d)``. Every annotated video must have one (the error lists those that
        do not); files of other videos are left out. The labels get the features' lengths.
{parameters}
    background_name : str, default="background"
        The name given to label 0 in ``label_names``.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With the fields
{fields}

    Raises
    ------
    ValueError
        For a malformed file, a step number named differently in two files, an annotated
        video without a feature file, and segments that overlap or lie outside the video
        under the default policies. The message names the file.

    See Also
    --------
    read_step_csv : Read one annotation file.
    sk_realign.labels.segments_to_labels : The conversion of seconds into frame labels.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_realign.datasets import {function}
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "video_1.csv"), "w") as f:
    ...     _ = f.write("0.0,1.0,1. take bread\\n1.0,2.0,2. spread butter\\n")
    >>> data = {function}(folder, fps=2, n_frames={{"video_1": 5}})
    >>> data.y[0]
    array([1, 1, 2, 2, 0])
    >>> data.label_names
    {{0: 'background', 1: 'take bread', 2: 'spread butter'}}
    """

load_egoprocel.__doc__ = _STEP_CSV_DOC.format(
    dataset="EgoProceL", function="load_egoprocel", parameters=_LOADER_PARAMETERS,
    fields=_BUNCH_FIELDS,
)
load_procel.__doc__ = _STEP_CSV_DOC.format(
    dataset="ProceL", function="load_procel", parameters=_LOADER_PARAMETERS,
    fields=_BUNCH_FIELDS,
)


def _crosstask_label_names(task, tasks, mapping, steps_seen):
    if tasks is not None:
        records = read_crosstask_tasks(tasks)
        if task not in records:
            raise ValueError(
                f"Task {task!r} is not in {tasks}; it lists {sorted(records)}."
            )
        record = records[task]
        return {0: "background", **dict(enumerate(record.steps, start=1))}, record.title
    if mapping is not None:
        return {0: "background", **read_mapping(mapping)}, None
    return {0: "background", **{step: f"step {step}" for step in sorted(steps_seen)}}, None


def load_crosstask(
    annotations,
    features=None,
    *,
    fps,
    tasks=None,
    mapping=None,
    task=None,
    n_frames=None,
    overlap="raise",
    out_of_range="raise",
):
    """Load the CrossTask annotations of one task and, optionally, features.

    Parameters
    ----------
    annotations : str, path-like or list of path-like
        A folder of ``<task>_<video>.csv`` files (CrossTask's ``annotations`` folder), or a
        list of them. Rows are ``step,start,end``: the step number counted from 1, which
        becomes the label id, and the times in seconds. Steps may repeat; time that no row
        covers is background.
    features : str or path-like, default=None
        A folder of feature files named ``<video>.npy``, ``<video>.txt``,
        ``<task>_<video>.npy`` or ``<task>_<video>.txt``, of shape ``(n_frames, d)``.
        Every annotated video must have one (the error lists those that do not).
    fps : float
        The frame rate of the labels (and of the features), in frames per second. Frame
        ``i`` covers ``[i / fps, (i + 1) / fps)``; a segment covers the frames whose centre
        it contains.
    tasks : str or path-like, default=None
        CrossTask's ``tasks_primary.txt`` (or another file of six-line task records), for
        the step names; step numbers are checked against the task's number of steps.
    mapping : str or path-like, default=None
        A ``<step number> <name>`` mapping file, used for the step names when ``tasks`` is
        not given. With neither, steps are named ``"step <number>"``.
    task : str, default=None
        The task id to load, such as ``"105222"``. Needed when ``annotations`` contains files
        of several tasks, because step numbers mean different steps in different tasks.
    n_frames : dict of str to int, default=None
        The number of frames of every video (keyed by video id, without the task), when no
        features are given. With neither, each video's labels end with its last annotated
        frame.
    overlap : {"raise", "first", "last"}, default="raise"
        What to do when segments of different steps share a frame: raise a ``ValueError``
        naming the file and both segments, or let the row listed first (or last) keep the
        frame. Real CrossTask annotations do overlap by fractions of a second, so pass a
        policy to load them. See :func:`sk_realign.labels.segments_to_labels`.
    out_of_range : {"raise", "clip"}, default="raise"
        What to do with a segment that starts before 0 s or ends after the last frame:
        raise a ``ValueError`` naming the file and the segment, or cut it to the video.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With the fields

        - ``X``: list of float32 arrays of shape (n_frames_i, d), the features, or ``None``
          when ``features`` is not given;
        - ``y``: list of int64 arrays of shape (n_frames_i,), the step number of every
          frame, 0 being background;
        - ``video_names``: list of the video ids (without the task), in the order of ``X``
          and ``y``;
        - ``label_names``: dict mapping every step id (0 included) to its name;
        - ``task``: the task id;
        - ``task_title``: the task's title from ``tasks``, or ``None``;
        - ``fps``: the frame rate of the labels.

    Raises
    ------
    ValueError
        For a file name without a task prefix, several tasks with no ``task`` given, a
        step number beyond the task's steps, a malformed row, an annotated video without a
        feature file, and segments that overlap or lie outside the video under the default
        policies. The message names the file.

    See Also
    --------
    read_crosstask_csv : Read one annotation file.
    read_crosstask_tasks : Read ``tasks_primary.txt``.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_realign.datasets import load_crosstask
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "105222_abc.csv"), "w") as f:
    ...     _ = f.write("2,1.0,3.0\\n1,3.0,4.0\\n")
    >>> data = load_crosstask(folder, fps=1, n_frames={"abc": 6})
    >>> data.y[0]
    array([0, 2, 2, 1, 0, 0])
    >>> data.task, data.video_names
    ('105222', ['abc'])
    """
    files = _list_files(annotations, (".csv",), "annotation")

    # The video id may itself contain "_", but the task id is numeric, so the first "_"
    # separates them.
    by_task = {}
    for path in files:
        task_id, separator, video = path.stem.partition("_")
        if not separator or not task_id or not video:
            raise ValueError(
                f"The annotation file name {path.name!r} is not of the form "
                "<task>_<video>.csv."
            )
        by_task.setdefault(task_id, []).append((video, path))
    if task is None:
        if len(by_task) > 1:
            raise ValueError(
                f"The annotations hold {len(by_task)} tasks ({sorted(by_task)}); pass task= "
                "to choose one, because step numbers differ between tasks."
            )
        task = next(iter(by_task))
    task = str(task)
    if task not in by_task:
        raise ValueError(f"No annotation file of task {task!r}; the files hold {sorted(by_task)}.")

    segments_by_video = {}
    steps_seen = set()
    for video, path in by_task[task]:
        segments = read_crosstask_csv(path)
        segments_by_video[video] = (path, segments)
        steps_seen.update(step for _, _, step in segments)

    label_names, title = _crosstask_label_names(task, tasks, mapping, steps_seen)
    unnamed = sorted(steps_seen - set(label_names))
    if unnamed:
        raise ValueError(
            f"The annotations of task {task!r} use step number(s) {unnamed}, which have no "
            f"name (named steps: {sorted(set(label_names) - {0})}). Check the task file or "
            "the mapping."
        )

    keys = {video: [video, f"{task}_{video}"] for video in segments_by_video}
    return _segments_to_bunch(
        segments_by_video, label_names, features, keys, n_frames, fps, overlap,
        out_of_range, task=task, task_title=title,
    )


def load_breakfast(labels, mapping, features=None, *, fps=15):
    """Load Breakfast-style per-frame label files and, optionally, features.

    Parameters
    ----------
    labels : str, path-like or list of path-like
        A folder of per-frame label files (Breakfast's ``groundTruth`` folder), or a list of
        them. Each file has one label name per line, one line per frame; the file name
        without its suffix is the video name.
    mapping : str, path-like or dict of int to str
        The ``<id> <name>`` mapping file (Breakfast's ``mapping.txt``, where ``SIL``, the
        background, has id 0), or the dict :func:`~sk_realign.labels.read_mapping` returns.
    features : str or path-like, default=None
        A folder of feature files ``<video>.npy`` or ``<video>.txt`` of shape
        ``(n_frames, d)``. Every video must have one, with as many rows as its label file
        has lines.
    fps : float, default=15
        The frame rate of the labels, stored in the Bunch (Breakfast's features are at 15
        frames per second).

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With the fields

        - ``X``: list of float32 arrays of shape (n_frames_i, d), the features, or ``None``
          when ``features`` is not given;
        - ``y``: list of int64 arrays of shape (n_frames_i,), the id of every frame's label;
        - ``video_names``: list of str, in the order of ``X`` and ``y``;
        - ``label_names``: dict mapping every id of the mapping to its name;
        - ``fps``: the frame rate of the labels.

    Raises
    ------
    ValueError
        For a label name missing from the mapping, a video without a feature file, or a
        feature file whose number of rows differs from the number of labels. The message
        names the file.

    See Also
    --------
    sk_realign.datasets.load_breakfast_coffee : Five Breakfast videos bundled with the
        package.

    Examples
    --------
    >>> import os, tempfile
    >>> from sk_realign.datasets import load_breakfast
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "P01_coffee"), "w") as f:
    ...     _ = f.write("SIL\\ntake_cup\\ntake_cup\\nSIL\\n")
    >>> data = load_breakfast(folder, {0: "SIL", 1: "take_cup"})
    >>> data.y[0]
    array([0, 1, 1, 0])
    """
    fps = _check_fps(fps)
    if not isinstance(mapping, dict):
        mapping = read_mapping(mapping)
    files = _list_files(labels, None, "label")

    video_names = [path.stem for path in files]
    duplicated = sorted({name for name in video_names if video_names.count(name) > 1})
    if duplicated:
        raise ValueError(f"Several label files for the video(s) {duplicated}; keep one each.")
    y = [read_frame_labels(path, mapping) for path in files]

    X = None
    if features is not None:
        loaded = _match_features(features, {name: [name] for name in video_names})
        X = [loaded[name] for name in video_names]
        for name, path, features_i, labels_i in zip(video_names, files, X, y):
            if len(features_i) != len(labels_i):
                raise ValueError(
                    f"The features of {name!r} have {len(features_i)} rows but {path} has "
                    f"{len(labels_i)} labels. Both must have one entry per frame."
                )
    return Bunch(X=X, y=y, video_names=video_names, label_names=dict(mapping), fps=fps)
