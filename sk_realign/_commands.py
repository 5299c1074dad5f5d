"""The work of the ``sk-realign`` subcommands: reading inputs, running the estimators, reporting.

Each ``run_*`` function takes the parsed arguments, a :class:`~sk_realign._console.Console`
and the command line. It raises :class:`CommandError` (or the ``ValueError`` of a library
function) for input it cannot use, and :func:`sk_realign.cli.main` turns the error into one
line on standard error.
"""

import os
import time
from pathlib import Path

import numpy as np

from ._report import Report, format_score_table, prepare_output_dir

__all__ = ["CommandError", "matched_segments", "run_align", "run_demo", "run_discover"]

PROG = "sk-realign"

#: Suffixes read as per-frame feature files (one row per frame).
FEATURE_SUFFIXES = (".npy", ".txt", ".csv")

#: Suffixes read as video files, decoded with PyAV.
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")

#: Annotation layouts that ``discover --format`` reads.
ANNOTATION_FORMATS = ("egoprocel", "crosstask", "breakfast")

#: R-FPGWOT parameters that RealignEmbedder and PartialFGWAligner share, by name.
SHARED_TRANSPORT_PARAMETERS = (
    "rho", "tau", "zeta", "eps", "laplace_scale", "prior_weight", "metric", "structure",
    "max_outer_iter", "max_inner_iter",
)


class CommandError(Exception):
    """An input the command cannot use; its message is shown to the user as one line.

    :func:`~sk_realign.cli.main` catches it, prints the message on standard error and
    returns the exit status 1.

    Examples
    --------
    >>> from sk_realign.cli import CommandError
    >>> try:
    ...     raise CommandError("no such file 'missing.npy'; check the path.")
    ... except CommandError as error:
    ...     print(error)
    no such file 'missing.npy'; check the path.
    """


def _one_line(error):
    """Return an exception's message on one line."""
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        text = f"{error.strerror}: {os.fspath(error.filename)!r}"
    else:
        text = str(error)
        if isinstance(error, KeyError) and len(error.args) == 1:
            text = str(error.args[0])
    return " ".join(text.split()) or type(error).__name__


# -- inputs -------------------------------------------------------------------------------


def _input_kind(path):
    """Return ``"features"`` or ``"video"`` for a path, by its suffix."""
    suffix = path.suffix.lower()
    if suffix in FEATURE_SUFFIXES:
        return "features"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise CommandError(
        f"cannot tell what {str(path)!r} is from its suffix {suffix or '(none)'!r}; give "
        f"feature files ({', '.join(FEATURE_SUFFIXES)}) or video files "
        f"({', '.join(VIDEO_SUFFIXES)})."
    )


def _check_input_paths(paths):
    """Check that every path is an existing file of one kind and return the kind."""
    checked = []
    for text in paths:
        path = Path(text)
        if not path.exists():
            raise CommandError(f"no such file {text!r}; check the path.")
        if path.is_dir():
            raise CommandError(
                f"{text!r} is a folder; give the files in it, for example {text}/*.npy."
            )
        checked.append(path)

    kinds = {_input_kind(path) for path in checked}
    if len(kinds) > 1:
        raise CommandError(
            "the inputs mix feature files and video files; give only one kind per run."
        )
    names = [path.stem for path in checked]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise CommandError(
            f"several inputs have the name {repeated[0]!r} (a file's name without suffix is "
            "its video's name); rename one of them."
        )
    return checked, kinds.pop()


def _read_feature_file(path):
    """Read one feature file as a float32 array of shape (n_frames, d)."""
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            delimiter = "," if path.suffix.lower() == ".csv" else None
            array = np.loadtxt(path, delimiter=delimiter, dtype=np.float64, ndmin=2)
    except (ValueError, OSError, EOFError) as error:
        raise CommandError(
            f"cannot read the features in {str(path)!r} ({_one_line(error)}); save them with "
            "numpy.save as a (frames, features) float array, or as text with one row per frame."
        ) from None

    if array.ndim != 2 or array.dtype.kind not in "fiu":
        raise CommandError(
            f"the features in {str(path)!r} have shape {array.shape} and dtype {array.dtype}; "
            "expected a 2-D array of numbers, one row per frame."
        )
    if array.shape[0] < 2 or array.shape[1] < 1:
        raise CommandError(
            f"the features in {str(path)!r} have shape {array.shape}; a video needs at least "
            "2 frames (rows) and 1 feature (column)."
        )
    if not np.isfinite(array).all():
        row = int(np.argwhere(~np.isfinite(array))[0][0])
        raise CommandError(
            f"the features in {str(path)!r} contain NaN or inf, first in row {row}; remove or "
            "impute those frames."
        )
    return array.astype(np.float32)


def _read_features(paths):
    videos = [_read_feature_file(path) for path in paths]
    n_features = videos[0].shape[1]
    for path, video in zip(paths, videos):
        if video.shape[1] != n_features:
            raise CommandError(
                f"{str(path)!r} has {video.shape[1]} features per frame but "
                f"{str(paths[0])!r} has {n_features}; extract every video's features with "
                "the same backbone."
            )
    return videos


def _read_video_files(paths, fps, size, console, skip_unreadable):
    """Decode video files to RGB frames at ``fps`` frames per second.

    With ``skip_unreadable``, a file that fails to decode is reported and left out, so the
    other videos of the run are not lost. Returns the frames and the paths of the files read.
    """
    from .embedder import RealignEmbedder
    from .io import read_videos

    # Frames are decoded at the encoder's input size, so long videos stay small in memory.
    if size is None:
        size = RealignEmbedder().get_params()["frame_size"]
    console.status(f"Decoding {len(paths)} video file(s) at {fps:g} frames per second")
    result = read_videos(
        paths, fps=fps, size=size, on_error="skip" if skip_unreadable else "raise"
    )
    return list(result.videos), [Path(path) for path in result.paths]


def _load_inputs(paths, args, console, skip_unreadable=False):
    """Read feature or video files; return the videos, their names and their kind."""
    paths, kind = _check_input_paths(paths)
    if kind == "features":
        return _read_features(paths), [path.stem for path in paths], kind
    videos, read_paths = _read_video_files(
        paths, args.fps or 2.0, args.frame_size, console, skip_unreadable
    )
    return videos, [path.stem for path in read_paths], kind


# -- shared stages ------------------------------------------------------------------------


def _check_device(args):
    """Reject ``--device cuda`` before any work when torch finds no CUDA device."""
    if args.device != "cuda":
        return
    import torch

    if not torch.cuda.is_available():
        raise CommandError(
            "--device cuda was given, but torch finds no CUDA device; use --device cpu, or "
            "--device auto to take a GPU only when there is one."
        )


def _make_embedder(args, **overrides):
    from .embedder import RealignEmbedder

    parameters = {"random_state": args.seed, "device": args.device, "verbose": 2}
    if getattr(args, "max_iter", None):
        parameters["max_iter"] = args.max_iter
    if getattr(args, "backbone_weights", None) is not None:
        parameters["backbone_weights"] = args.backbone_weights
    if getattr(args, "frame_size", None) is not None:
        parameters["frame_size"] = args.frame_size
    parameters.update(overrides)
    return RealignEmbedder(**parameters)


def _train_embedder(embedder, videos, console):
    """Fit the embedder with a progress bar; return its embeddings and the seconds spent."""
    console.status(
        f"Training RealignEmbedder on {len(videos)} videos ({embedder.max_iter} iterations)"
    )
    start = time.perf_counter()
    console.start_progress(embedder.max_iter, "  training")
    embedder.fit(videos)
    console.end_progress()
    embeddings = embedder.transform(videos)
    return embeddings, time.perf_counter() - start


def _make_segmenter(args):
    """Build the segmenter and check its parameters, so a bad option fails before training."""
    from .segmenter import KeyStepSegmenter

    parameters = {"n_key_steps": args.k, "random_state": args.seed}
    if args.temporal_weight is not None:
        parameters["temporal_weight"] = args.temporal_weight
    segmenter = KeyStepSegmenter(**parameters)
    try:
        segmenter._validate_params()
    except ValueError as error:
        raise CommandError(
            f"{_one_line(error)} The option of the same name sets it (such as "
            "--temporal-weight)."
        ) from None
    return segmenter


def _check_k(k, lengths, names):
    shortest = int(np.argmin(lengths))
    if k > lengths[shortest]:
        raise CommandError(
            f"--k {k} is larger than the {lengths[shortest]} frames of video "
            f"{names[shortest]!r}; lower --k or drop that video."
        )


def _score(y_true, y_pred):
    """Score under both protocols; return plain dicts of overall and per-video figures."""
    from .metrics import per_video_scores, task_scores

    per_video = per_video_scores(y_true, y_pred)
    task = task_scores(y_true, y_pred)
    overall = {
        "per_video_protocol": {
            key: float(per_video[key]) for key in ("precision", "recall", "f1", "iou")
        },
        "task_protocol": {
            key: float(task[key]) for key in ("precision", "recall", "f1", "iou", "mof")
        },
    }
    videos = []
    for index in range(len(y_true)):
        videos.append({
            "per_video_protocol": {
                key: float(per_video.per_video[key][index])
                for key in ("precision", "recall", "f1", "iou")
            },
            "task_protocol": {
                key: float(task.per_video[key][index])
                for key in ("precision", "recall", "f1", "iou", "mof")
            },
        })
    return {"overall": overall, "videos": videos, "task_matching": task.matching}


def _score_rows(method, video_names, scores):
    rows = []
    for name, figures in zip(video_names, scores["videos"]):
        rows.append((method, name, figures["per_video_protocol"], figures["task_protocol"]))
    overall = scores["overall"]
    rows.append((method, "overall", overall["per_video_protocol"], overall["task_protocol"]))
    return rows


def _transport_parameters(embedder):
    """Return the embedder's R-FPGWOT parameters, to align its embeddings as it was trained."""
    parameters = embedder.get_params()
    return {name: parameters[name] for name in SHARED_TRANSPORT_PARAMETERS if name in parameters}


def _make_aligner(parameters, device):
    from .aligner import PartialFGWAligner

    accepted = PartialFGWAligner().get_params()
    kept = {name: value for name, value in parameters.items() if name in accepted}
    if "device" in accepted:
        kept["device"] = device
    return PartialFGWAligner(**kept)


def _plot_plan(report, alignment, name_a, name_b, *, sink, labels_a=None, labels_b=None,
               label_names=None):
    from .plotting import plot_transport_plan

    title = f"Transport plan: A = {name_a}, B = {name_b}"
    figure = plot_transport_plan(
        alignment, sink=sink, vmax="quantile",
        labels_a=labels_a, labels_b=labels_b, label_names=label_names, title=title,
    )
    report.save_figure(figure, "transport_plan.png", title=title, description=(
        f"Transport plan between the frames of {name_a} (rows) and {name_b} (columns). "
        "The column on the right is the share of each frame of A sent to the virtual sink, "
        "the row below the share of each frame of B taken from it."
    ))


def _plot_timelines(report, filename, method, names, truths, predictions, label_names, fps):
    """Draw ground truth against prediction for every video in one figure."""
    from .plotting import plot_segmentation_timeline

    figure = plot_segmentation_timeline(
        truths, predictions, label_names, video_names=names, fps=fps, match="task",
        title=f"Key steps: ground truth against {method}",
    )
    report.save_figure(figure, filename, title=f"Key steps of {method}", description=(
        "For every video, the ground-truth key steps (top bar) and the predicted ones "
        "(bottom bar). Predicted clusters take the colour of the step they are matched to "
        "under the task-level protocol."
    ))


def _plot_predictions(report, filename, names, predictions, fps):
    """Draw the predicted key steps of videos without ground truth."""
    from ._report import plot_predicted_steps

    figure = plot_predicted_steps(predictions, names, fps=fps)
    report.save_figure(figure, filename, title="Predicted key steps", description=(
        "For every video without annotations, its predicted key steps over time; the same "
        "colour is the same key step in every video."
    ))


def _plot_history(report, embedder):
    from .plotting import plot_training_history

    terms = ("loss", "align", "idm", "inter", "spread", "validation_loss")
    keys = [key for key in terms if any(key in record for record in embedder.history_)]
    # A log scale keeps the later iterations readable after the loss falls by orders of
    # magnitude in the first ones.
    figure = plot_training_history(
        embedder.history_, keys=keys, log_scale=True, title="RealignEmbedder training"
    )
    report.save_figure(figure, "training_loss.png", title="Training loss", description=(
        "The loss of RealignEmbedder and its terms (alignment, C-IDM, inter-sequence) at "
        "every training iteration, and the spread of the embeddings, which falls towards "
        "zero if they collapse."
    ))


def _history_summary(history):
    if not history:
        return {}
    first, last = history[0], history[-1]
    return {
        "n_iter": len(history),
        "first": {key: value for key, value in first.items() if isinstance(value, float)},
        "last": {key: value for key, value in last.items() if isinstance(value, float)},
    }


# -- demo ---------------------------------------------------------------------------------


def run_demo(args, console, argv=()):
    """Train, segment and score on the bundled Breakfast coffee videos."""
    start = time.perf_counter()
    _check_device(args)
    out = prepare_output_dir(args.out)

    from .datasets import load_breakfast_coffee
    from .metrics import uniform_segmentation

    report = Report(out, "demo", argv=[PROG, *argv])
    data = load_breakfast_coffee()
    lengths = [len(video) for video in data.X]
    _check_k(args.k, lengths, data.video_names)
    segmenter = _make_segmenter(args)
    console.status(
        f"Breakfast coffee: {len(data.X)} videos, {sum(lengths)} frames of "
        f"{data.X[0].shape[1]} features at {data.fps} frames per second"
    )

    # The method: embedder, then segmenter on the embeddings.
    embedder = _make_embedder(args)
    embeddings, report.timings["training"] = _train_embedder(embedder, data.X, console)

    console.status(f"Segmenting into {args.k} key steps")
    stage = time.perf_counter()
    predictions = segmenter.fit_predict(embeddings)
    report.timings["segmentation"] = time.perf_counter() - stage

    # The baselines, run the same way.
    stage = time.perf_counter()
    raw_segmenter = _make_segmenter(args)
    raw_predictions = raw_segmenter.fit_predict(data.X)
    uniform_predictions = uniform_segmentation(lengths, args.k)
    report.timings["baselines"] = time.perf_counter() - stage

    methods = {
        "RealignEmbedder": predictions,
        "raw features": raw_predictions,
        "uniform split": uniform_predictions,
    }
    scores = {method: _score(data.y, labels) for method, labels in methods.items()}
    rows = []
    for method, method_scores in scores.items():
        rows += _score_rows(method, data.video_names, method_scores)
    console.print(format_score_table(
        rows, title=f"Key steps of the Breakfast coffee videos, k = {args.k}"
    ))

    # The figures.
    console.status(f"Writing the report to {out}")
    stage = time.perf_counter()
    pair = (0, 1)
    aligner = _make_aligner(_transport_parameters(embedder), args.device)
    alignment = aligner.align(embeddings[pair[0]], embeddings[pair[1]])
    names = [data.video_names[i] for i in pair]
    _plot_plan(
        report, alignment, *names, sink=aligner.zeta is not None,
        labels_a=data.y[pair[0]], labels_b=data.y[pair[1]], label_names=data.label_names,
    )
    for method, labels in methods.items():
        _plot_timelines(
            report, f"timelines_{method.lower().replace(' ', '_')}.png", method,
            data.video_names, data.y, labels, data.label_names, data.fps,
        )
    _plot_history(report, embedder)
    report.timings["figures"] = time.perf_counter() - stage

    report.parameters = {
        "command": {"k": args.k, "max_iter": args.max_iter, "seed": args.seed,
                    "device": args.device, "temporal_weight": args.temporal_weight},
        "RealignEmbedder": embedder.get_params(),
        "KeyStepSegmenter": segmenter.get_params(),
        "PartialFGWAligner": aligner.get_params(),
    }
    report.results = {
        "data": {"name": "Breakfast coffee", "video_names": data.video_names,
                 "n_frames": lengths, "fps": data.fps},
        "scores": {
            method: {key: value for key, value in method_scores.items() if key != "task_matching"}
            for method, method_scores in scores.items()
        },
        "training": _history_summary(embedder.history_),
        "transport_plan": {
            "videos": names,
            "cost": float(alignment.cost),
            "mean_sink_mass_a": float(np.mean(alignment.sink_mass_a)),
            "mean_sink_mass_b": float(np.mean(alignment.sink_mass_b)),
        },
    }
    report.timings["total"] = time.perf_counter() - start
    path = report.write()
    console.status(
        f"Wrote {len(report.figures)} figures and {path.name} to {out} "
        f"in {report.timings['total']:.0f} s"
    )


# -- discover -----------------------------------------------------------------------------


def _find_mapping(annotations, given):
    if given is not None:
        mapping = Path(given)
        if not mapping.is_file():
            raise CommandError(f"no such mapping file {given!r}; check --mapping.")
        return mapping
    for candidate in (
        annotations / "mapping.txt",
        annotations.parent / "mapping.txt",
        annotations.parent / "mapping" / "mapping.txt",
    ):
        if candidate.is_file():
            return candidate
    return None


def _load_annotations(args, names, lengths, fps):
    """Read the annotations of the videos that have one.

    Returns
    -------
    scored : list of int
        Indices of the videos with annotations.
    labels : list of ndarray
        Their per-frame labels, one per frame of their features.
    label_names : dict
    """
    from . import datasets

    annotations = Path(args.annotations)
    if not annotations.is_dir():
        raise CommandError(f"no such annotations folder {args.annotations!r}; check --annotations.")
    if args.annotation_format is None:
        raise CommandError(
            f"--annotations needs --format, one of {', '.join(ANNOTATION_FORMATS)}."
        )
    files = sorted(path for path in annotations.iterdir() if path.is_file())
    index_of = {name: index for index, name in enumerate(names)}

    # Match annotation files to videos by name (CrossTask files are <task>_<video>.csv).
    matched = {}
    for path in files:
        if args.annotation_format in ("egoprocel", "crosstask") and path.suffix.lower() != ".csv":
            continue
        if args.annotation_format == "breakfast" and path.name == "mapping.txt":
            continue
        keys = [path.stem]
        if args.annotation_format == "crosstask" and "_" in path.stem:
            keys.append(path.stem.split("_", 1)[1])
        for key in keys:
            if key in index_of and index_of[key] not in matched:
                matched[index_of[key]] = path
                break
    if not matched:
        example_files = ", ".join(path.name for path in files[:3]) or "no files"
        raise CommandError(
            f"no annotation in {str(annotations)!r} matches a video (videos: "
            f"{', '.join(names[:3])}{', ...' if len(names) > 3 else ''}; annotation files: "
            f"{example_files}{', ...' if len(files) > 3 else ''}). Name each annotation file "
            "after its video, as the --format layout expects."
        )

    scored = sorted(matched)
    chosen = [matched[index] for index in scored]
    hint = " (see --overlap and --out-of-range)"
    try:
        if args.annotation_format == "breakfast":
            mapping = _find_mapping(annotations, args.mapping)
            if mapping is None:
                raise CommandError(
                    f"breakfast annotations need a mapping.txt of '<id> <name>' lines; none "
                    f"found next to {str(annotations)!r}. Give one with --mapping."
                )
            data = datasets.load_breakfast(chosen, mapping, fps=fps)
            labels = data.y
        else:
            if args.fps is None:
                raise CommandError(
                    f"--format {args.annotation_format} annotations are in seconds; give the "
                    "frame rate of the features with --fps."
                )
            n_frames = {}
            for index, path in zip(scored, chosen):
                key = path.stem
                if args.annotation_format == "crosstask":
                    key = path.stem.split("_", 1)[1] if "_" in path.stem else path.stem
                n_frames[key] = lengths[index]
            options = dict(fps=fps, n_frames=n_frames, overlap=args.overlap,
                           out_of_range=args.out_of_range)
            if args.annotation_format == "egoprocel":
                data = datasets.load_egoprocel(chosen, **options)
            else:
                # Step names come from tasks_primary.txt when it sits next to the annotations.
                tasks = next(
                    (path for path in (annotations / "tasks_primary.txt",
                                       annotations.parent / "tasks_primary.txt")
                     if path.is_file()),
                    None,
                )
                mapping = _find_mapping(annotations, args.mapping) if tasks is None else None
                data = datasets.load_crosstask(chosen, tasks=tasks, mapping=mapping, **options)
            labels = data.y
    except ValueError as error:
        message = _one_line(error)
        if args.annotation_format != "breakfast" and ("overlap" in message or "range" in message):
            message += hint
        raise CommandError(message) from None

    for index, path, label in zip(scored, chosen, labels):
        if len(label) != lengths[index]:
            fix = (
                "the label file needs one line per feature row"
                if args.annotation_format == "breakfast"
                else "check that --fps is the frame rate of the features"
            )
            raise CommandError(
                f"{str(path)!r} gives {len(label)} labels but video {names[index]!r} has "
                f"{lengths[index]} frames; {fix}."
            )
    return scored, [np.asarray(label) for label in labels], data.label_names


def _write_label_csv(path, labels, fps):
    with open(path, "w", encoding="utf-8") as file:
        file.write("frame,time_s,key_step\n" if fps else "frame,key_step\n")
        for frame, label in enumerate(labels):
            if fps:
                file.write(f"{frame},{frame / fps:.3f},{int(label)}\n")
            else:
                file.write(f"{frame},{int(label)}\n")


def run_discover(args, console, argv=()):
    """Segment the user's videos into key steps and write them with a report."""
    start = time.perf_counter()
    _check_device(args)
    if args.annotation_format is not None and args.annotations is None:
        raise CommandError("--format applies to --annotations; give the annotations folder too.")
    videos, names, kind = _load_inputs(args.paths, args, console, skip_unreadable=True)
    if kind == "video" and args.no_train:
        raise CommandError("--no-train needs feature files; video files must be embedded first.")
    if len(videos) < 2 and not args.no_train:
        skipped = len(args.paths) - len(videos)
        reason = (
            f" ({skipped} of the {len(args.paths)} files could not be read: see the warnings "
            "above)" if skipped else ""
        )
        raise CommandError(
            f"training needs at least 2 videos of the task, got {len(videos)}{reason}; give "
            "more files, or --no-train to segment feature files as they are."
        )
    lengths = [len(video) for video in videos]
    _check_k(args.k, lengths, names)
    fps = args.fps
    if fps is None and args.annotation_format == "breakfast":
        fps = 15.0
    if fps is None and kind == "video":
        fps = 2.0

    scored, truths, label_names = [], None, None
    if args.annotations is not None:
        scored, truths, label_names = _load_annotations(args, names, lengths, fps)
        unscored = [names[i] for i in range(len(names)) if i not in scored]
        if unscored:
            console.warning(
                f"{len(unscored)} of {len(names)} videos have no annotation and are not "
                f"scored: {', '.join(unscored[:5])}{', ...' if len(unscored) > 5 else ''}."
            )
    out = prepare_output_dir(args.out)
    report = Report(out, "discover", argv=[PROG, *argv])

    # Embed (unless --no-train is given), then segment.
    segmenter = _make_segmenter(args)
    embedder = None
    if args.no_train:
        embeddings = videos
    else:
        embedder = _make_embedder(args)
        embeddings, report.timings["training"] = _train_embedder(embedder, videos, console)
    console.status(f"Segmenting {len(videos)} videos into {args.k} key steps")
    predictions = segmenter.fit_predict(embeddings)

    label_folder = out / "labels"
    label_folder.mkdir(exist_ok=True)
    for name, labels in zip(names, predictions):
        path = label_folder / f"{name}.csv"
        _write_label_csv(path, labels, fps)
        report.add_file(path, f"Per-frame key steps of {name}, numbered from 0.")
    console.status(f"Wrote {len(names)} label files to {label_folder}")

    # Scores, when there is ground truth.
    scores = {}
    if truths is not None:
        from .metrics import uniform_segmentation

        scored_names = [names[i] for i in scored]
        methods = {("RealignEmbedder" if embedder else "input features"): predictions}
        if embedder is not None and kind == "features":
            methods["raw features"] = _make_segmenter(args).fit_predict(videos)
        methods["uniform split"] = uniform_segmentation(lengths, args.k)
        rows = []
        for method, labels in methods.items():
            scores[method] = _score(truths, [labels[i] for i in scored])
            rows += _score_rows(method, scored_names, scores[method])
        console.print(format_score_table(rows, title=f"Key steps, k = {args.k}"))
    else:
        for name, labels in zip(names, predictions):
            counts = np.bincount(labels, minlength=args.k)
            console.print(f"{name}: {len(labels)} frames, frames per key step {counts.tolist()}")

    # Figures: timelines against the ground truth where there is one.
    if truths is not None:
        scored_names = [names[i] for i in scored]
        for method, labels in methods.items():
            _plot_timelines(
                report, f"timelines_{method.lower().replace(' ', '_')}.png", method,
                scored_names, truths, [labels[i] for i in scored], label_names, fps,
            )
    unscored = [index for index in range(len(names)) if index not in scored]
    if unscored:
        _plot_predictions(
            report, "predicted_key_steps.png", [names[i] for i in unscored],
            [predictions[i] for i in unscored], fps,
        )
    parameters = {"command": {
        "paths": [str(p) for p in args.paths], "k": args.k, "annotations": args.annotations,
        "format": args.annotation_format, "fps": fps, "no_train": args.no_train,
        "seed": args.seed, "device": args.device, "max_iter": args.max_iter,
        "temporal_weight": args.temporal_weight,
    }}
    if embedder is not None:
        _plot_history(report, embedder)
        aligner = _make_aligner(_transport_parameters(embedder), args.device)
        alignment = aligner.align(embeddings[0], embeddings[1])
        labels_a = labels_b = None
        if 0 in scored and 1 in scored:
            labels_a, labels_b = truths[scored.index(0)], truths[scored.index(1)]
        _plot_plan(
            report, alignment, names[0], names[1], sink=aligner.zeta is not None,
            labels_a=labels_a, labels_b=labels_b, label_names=label_names,
        )
        parameters["RealignEmbedder"] = embedder.get_params()
        parameters["PartialFGWAligner"] = aligner.get_params()
    parameters["KeyStepSegmenter"] = segmenter.get_params()
    report.parameters = parameters
    report.results = {
        "data": {"video_names": names, "n_frames": lengths, "input": kind, "fps": fps,
                 "scored_videos": [names[i] for i in scored]},
        "scores": {
            method: {key: value for key, value in method_scores.items() if key != "task_matching"}
            for method, method_scores in scores.items()
        },
    }
    if embedder is not None:
        report.results["training"] = _history_summary(embedder.history_)
    report.timings["total"] = time.perf_counter() - start
    path = report.write()
    console.status(f"Wrote {len(report.figures)} figures and {path.name} to {out}")


# -- align --------------------------------------------------------------------------------


def _runs(mask):
    """Return the (start, stop) index pairs of the runs of True in a boolean array."""
    padded = np.concatenate([[False], np.asarray(mask, dtype=bool), [False]])
    changes = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(changes[::2].tolist(), changes[1::2].tolist()))


def matched_segments(matches, max_jump):
    """Group consecutive matched frames of ``a`` into segments that move together in ``b``.

    Parameters
    ----------
    matches : ndarray of shape (N,)
        For each frame of ``a``, its best frame of ``b``, or -1 when it is in the sink.
    max_jump : int
        A new segment starts where the match of the next frame is more than ``max_jump``
        frames away from the match of the previous frame.

    Returns
    -------
    segments : list of tuple (a_start, a_stop, b_start, b_stop)
        Frame ranges, stops excluded.

    Examples
    --------
    Frames 3 and 4 are in the sink, and the match of frame 7 jumps ahead:

    >>> import numpy as np
    >>> from sk_realign.cli import matched_segments
    >>> matched_segments(np.array([0, 1, 2, -1, -1, 5, 6, 20]), max_jump=2)
    [(0, 3, 0, 3), (5, 7, 5, 7), (7, 8, 20, 21)]
    """
    segments = []
    for start, stop in _runs(matches >= 0):
        segment_start = start
        for frame in range(start + 1, stop + 1):
            if frame == stop or abs(int(matches[frame]) - int(matches[frame - 1])) > max_jump:
                targets = matches[segment_start:frame]
                segments.append(
                    (segment_start, frame, int(targets.min()), int(targets.max()) + 1)
                )
                segment_start = frame
    return segments


def _frames_text(start, stop, fps):
    text = f"{start}-{stop - 1}"
    if fps:
        text += f" ({start / fps:.1f}-{stop / fps:.1f} s)"
    return text


def run_align(args, console, argv=()):
    """Align two recordings and report the matched segments and the sink."""
    start = time.perf_counter()
    _check_device(args)
    videos, names, kind = _load_inputs([args.a, args.b], args, console)
    if names[0] == names[1]:
        names = [f"{names[0]} (A)", f"{names[1]} (B)"]
    if kind == "video" and args.max_iter == 0:
        raise CommandError(
            "video files must be embedded before they are aligned; give --max-iter N "
            "(for example 100) to train RealignEmbedder on the two recordings."
        )
    fps = args.fps
    if fps is None and kind == "video":
        fps = 2.0
    out = prepare_output_dir(args.out)
    report = Report(out, "align", argv=[PROG, *argv])

    # Align the features as given, or embeddings trained on the pair.
    transport = {name: getattr(args, name) for name in ("zeta", "rho", "tau", "eps")
                 if hasattr(args, name)}
    aligner = _make_aligner(transport, args.device)
    try:
        aligner._validate_params()
    except ValueError as error:
        raise CommandError(
            f"{_one_line(error)} The option of the same name sets it (such as --zeta)."
        ) from None
    embedder = None
    sequences = videos
    if args.max_iter:
        embedder = _make_embedder(args, max_iter=args.max_iter, **transport)
        sequences, report.timings["training"] = _train_embedder(embedder, videos, console)
    console.status(
        f"Aligning {names[0]} ({len(sequences[0])} frames) with {names[1]} "
        f"({len(sequences[1])} frames)"
    )
    stage = time.perf_counter()
    alignment = aligner.align(sequences[0], sequences[1])
    report.timings["alignment"] = time.perf_counter() - stage

    matches = np.asarray(alignment.matches)
    sink_a = np.asarray(alignment.sink_mass_a) > 0.5
    sink_b = np.asarray(alignment.sink_mass_b) > 0.5
    n_a, n_b = len(sequences[0]), len(sequences[1])
    max_jump = max(2, n_b // 50)
    segments = matched_segments(matches, max_jump)

    # The printed table: matched segments, then the frames left in the sink.
    console.print(f"Alignment of A = {names[0]} ({n_a} frames) and B = {names[1]} ({n_b} frames)")
    console.print(f"transport cost {float(alignment.cost):.4f}")
    console.print("")
    # Segments of a few frames are mostly noise of the plan; they are counted, not listed.
    min_length = max(2, n_a // 100)
    shown = [segment for segment in segments if segment[1] - segment[0] >= min_length]
    console.print(f"{'segment':>7}  {'A frames':<26}  B frames")
    for number, (a0, a1, b0, b1) in enumerate(shown, start=1):
        console.print(
            f"{number:>7}  {_frames_text(a0, a1, fps):<26}  {_frames_text(b0, b1, fps):<26}"
            .rstrip()
        )
    if not segments:
        console.print("        (no frame of A is matched)")
    hidden = len(segments) - len(shown)
    if hidden:
        hidden_frames = sum(a1 - a0 for a0, a1, _, _ in segments) - sum(
            a1 - a0 for a0, a1, _, _ in shown
        )
        console.print(
            f"        and {hidden} matched segments shorter than {min_length} frames of A "
            f"({hidden_frames} frames), listed in report.json"
        )
    console.print("")
    for label, mask, n in (("A", sink_a, n_a), ("B", sink_b, n_b)):
        runs = _runs(mask)
        listed = ", ".join(_frames_text(s, e, fps) for s, e in runs[:8])
        if len(runs) > 8:
            listed += f", ... ({len(runs)} runs)"
        console.print(
            f"left in the sink, {label}: {int(mask.sum())} of {n} frames "
            f"({100 * mask.mean():.1f}%){': ' + listed if runs else ''}"
        )

    # Files: the per-frame table, the figure and the JSON record.
    csv_path = out / "alignment.csv"
    with open(csv_path, "w", encoding="utf-8") as file:
        file.write("sequence,frame,match,sink_mass\n")
        for frame in range(n_a):
            file.write(f"A,{frame},{int(matches[frame])},{float(alignment.sink_mass_a[frame]):.4f}\n")
        plan = np.asarray(alignment.plan)
        best_a = plan.argmax(axis=0)
        for frame in range(n_b):
            match = -1 if sink_b[frame] else int(best_a[frame])
            file.write(f"B,{frame},{match},{float(alignment.sink_mass_b[frame]):.4f}\n")
    report.add_file(csv_path, (
        "One row per frame of A and of B: its best match in the other recording (-1 when "
        "its mass is mostly in the sink) and the fraction of its mass in the sink."
    ))
    _plot_plan(report, alignment, names[0], names[1], sink=aligner.zeta is not None)
    if embedder is not None:
        _plot_history(report, embedder)

    report.parameters = {
        "command": {"a": args.a, "b": args.b, "fps": fps, "max_iter": args.max_iter,
                    "seed": args.seed, "device": args.device},
        "PartialFGWAligner": aligner.get_params(),
    }
    if embedder is not None:
        report.parameters["RealignEmbedder"] = embedder.get_params()
    report.results = {
        "videos": names,
        "n_frames": [n_a, n_b],
        "cost": float(alignment.cost),
        "converged": bool(getattr(alignment, "converged", True)),
        "n_iter": int(getattr(alignment, "n_iter", 0)),
        "segments": [
            {"a_start": a0, "a_stop": a1, "b_start": b0, "b_stop": b1}
            for a0, a1, b0, b1 in segments
        ],
        "sink_frames_a": int(sink_a.sum()),
        "sink_frames_b": int(sink_b.sum()),
    }
    report.timings["total"] = time.perf_counter() - start
    path = report.write()
    console.status(f"Wrote the plan, alignment.csv and {path.name} to {out}")
