"""The report folder of the ``sk-realign`` command: figures, a JSON record and score tables.

A report folder contains PNG figures and one ``report.json``. The JSON lists every figure
with its title, and every parameter, score and timing of the run, so that a person can
read a run (the figures) and a program can compare runs (the JSON).
"""

import datetime
import json
import math
import os
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "Report", "format_score_table", "plot_predicted_steps", "prepare_output_dir", "to_jsonable",
]

#: Name of the JSON record inside a report folder.
REPORT_FILE = "report.json"

#: Resolution of the saved figures, in dots per inch.
FIGURE_DPI = 110


def prepare_output_dir(path):
    """Create the output folder ``path`` if needed and check that it can be written.

    Parameters
    ----------
    path : str or os.PathLike
        The folder. Its parent folders are created too.

    Returns
    -------
    directory : pathlib.Path

    Raises
    ------
    ValueError
        When ``path`` is an existing file, or the folder cannot be created or written.
    """
    directory = Path(path)
    if directory.exists() and not directory.is_dir():
        raise ValueError(
            f"the output path {str(directory)!r} is a file, not a folder; "
            "give a folder with --out."
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise ValueError(
            f"cannot write to the output folder {str(directory)!r} "
            f"({error.strerror or error}); give a writable folder with --out."
        ) from None
    return directory


def to_jsonable(value):
    """Convert NumPy scalars and arrays, paths and Bunches to plain JSON values.

    Non-finite floats become ``None``, because JSON has no NaN or infinity.
    """
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return repr(value)


def _library_versions():
    """Return the versions of the libraries that decide the numbers of a run."""
    versions = {"python": platform.python_version()}
    for name in ("sk_realign", "numpy", "scipy", "sklearn", "torch", "ot", "matplotlib"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "unknown")
    return versions


class Report:
    """Collect the figures, parameters, scores and timings of one command run.

    Parameters
    ----------
    directory : pathlib.Path
        The report folder, already created (see :func:`prepare_output_dir`).
    command : str
        The subcommand that produced the report, such as ``"demo"``.
    argv : list of str, default=None
        The command line, stored as given.

    Attributes
    ----------
    parameters : dict
        The parameters of every estimator and of the command, by name.
    figures : list of dict
        One entry per saved figure: ``file`` (relative to the folder), ``title`` and
        ``description``.
    results : dict
        Scores, per-video figures and other results, by name.
    timings : dict
        Seconds spent in each stage of the run.
    """

    def __init__(self, directory, command, argv=None):
        self.directory = Path(directory)
        self.command = command
        self.argv = list(argv) if argv is not None else None
        self.parameters = {}
        self.figures = []
        self.results = {}
        self.timings = {}
        self.files = []

    def save_figure(self, figure, filename, *, title, description=""):
        """Save a matplotlib figure as a PNG in the folder, close it and record it.

        Returns
        -------
        path : pathlib.Path
            Where the figure was written.
        """
        import matplotlib.pyplot as plt

        path = self.directory / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=FIGURE_DPI, bbox_inches="tight")
        plt.close(figure)
        self.figures.append(
            {"file": path.relative_to(self.directory).as_posix(), "title": title,
             "description": description}
        )
        return path

    def add_file(self, path, description):
        """Record a file other than a figure (a label CSV, say) written into the folder."""
        self.files.append(
            {"file": Path(path).relative_to(self.directory).as_posix(),
             "description": description}
        )

    def write(self):
        """Write ``report.json`` into the folder and return its path."""
        record = {
            "command": self.command,
            "argv": self.argv,
            "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="seconds"
            ),
            "versions": _library_versions(),
            "parameters": self.parameters,
            "figures": self.figures,
            "files": self.files,
            "results": self.results,
            "timings_s": self.timings,
        }
        path = self.directory / REPORT_FILE
        path.write_text(json.dumps(to_jsonable(record), indent=2) + "\n", encoding="utf-8")
        return path


def _cell(value):
    """Format one score with three decimals, or a dash when it is missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return f"{value:.3f}"


def format_score_table(rows, *, title=None):
    """Format per-video and overall scores of several methods as a fixed-width table.

    Parameters
    ----------
    rows : list of tuple (method, video, per_video, task)
        ``per_video`` is a dict with ``precision``, ``recall``, ``f1`` and ``iou`` under
        the per-video protocol, ``task`` the same plus ``mof`` under the task-level
        protocol. A method's rows follow each other; its name is printed on its first row.
    title : str, default=None
        A line printed above the table.

    Returns
    -------
    table : str
    """
    headers = ["method", "video", "P", "R", "F1", "IoU", "P", "R", "F1", "IoU", "MoF"]
    body = []
    previous_method = None
    for method, video, per_video, task in rows:
        shown_method = method if method != previous_method else ""
        previous_method = method
        body.append(
            [shown_method, video]
            + [_cell(per_video.get(key)) for key in ("precision", "recall", "f1", "iou")]
            + [_cell(task.get(key)) for key in ("precision", "recall", "f1", "iou", "mof")]
        )

    method_width = max(len(headers[0]), *(len(row[0]) for row in body)) if body else 6
    video_width = max(len(headers[1]), *(len(row[1]) for row in body)) if body else 5
    number_width = 6

    def line(cells):
        text = f"{cells[0]:<{method_width}}  {cells[1]:<{video_width}}"
        text += "".join(f"{cell:>{number_width}}" for cell in cells[2:6])
        text += "  "
        text += "".join(f"{cell:>{number_width}}" for cell in cells[6:])
        return text.rstrip()

    left = method_width + 2 + video_width
    group = (
        " " * left
        + f"{'per-video protocol':^{4 * number_width}}"
        + "  "
        + f"{'task-level protocol':^{5 * number_width}}"
    )
    lines = [title] if title else []
    lines += [group.rstrip(), line(headers), "-" * len(line(headers))]
    previous_method = None
    for (method, *_), cells in zip(rows, body):
        if previous_method is not None and method != previous_method:
            lines.append("")
        previous_method = method
        lines.append(line(cells))
    return "\n".join(lines)


def plot_predicted_steps(predictions, video_names, *, fps=None):
    """Draw the predicted key steps of videos that have no ground truth, one bar each.

    Parameters
    ----------
    predictions : list of ndarray of shape (T_i,)
        The key step of every frame, the same id meaning the same step in every video.
    video_names : list of str
    fps : float, default=None
        With a frame rate the time axis is in seconds, otherwise in frames.

    Returns
    -------
    fig : :class:`~matplotlib.figure.Figure`
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    steps = sorted({int(step) for labels in predictions for step in np.unique(labels)})
    palette = plt.get_cmap("tab20" if len(steps) > 10 else "tab10")
    colors = [palette(index % palette.N) for index in range(len(steps))]
    code_of = {step: code for code, step in enumerate(steps)}
    unit = 1.0 / fps if fps else 1.0

    fig, axes = plt.subplots(
        len(predictions), 1, figsize=(10, 0.6 * len(predictions) + 1.6), squeeze=False
    )
    for ax, name, labels in zip(axes[:, 0], video_names, predictions):
        codes = np.array([[code_of[int(step)] for step in labels]])
        ax.imshow(
            codes, aspect="auto", interpolation="nearest", cmap=ListedColormap(colors),
            vmin=-0.5, vmax=len(steps) - 0.5, extent=(0, len(labels) * unit, 0.5, -0.5),
        )
        ax.set_yticks([0], ["prediction"])
        ax.set_title(str(name), fontsize="medium", loc="left")
    axes[-1, 0].set_xlabel("time (s)" if fps else "frame")

    handles = [Patch(color=colors[code], label=f"key step {step}") for step, code in code_of.items()]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), frameon=False)
    fig.suptitle("Predicted key steps")
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    return fig
