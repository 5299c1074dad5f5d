"""The ``sk-realign`` command: key steps of real recordings, end to end.

Subcommands:

- ``sk-realign demo`` trains :class:`~sk_realign.RealignEmbedder` on the bundled Breakfast
  coffee videos and segments them with :class:`~sk_realign.KeyStepSegmenter`. It prints
  the scores of both evaluation protocols next to two baselines (the raw features with the
  same segmenter, and a uniform split) and writes a report folder of figures and JSON.
- ``sk-realign discover PATH... --k N`` does the same for the user's feature or video
  files: one CSV of per-frame key steps per video, the report, and scores when
  annotations are given.
- ``sk-realign align A B`` aligns two recordings with
  :class:`~sk_realign.PartialFGWAligner`, prints the matched segments and the frames left
  in the virtual sink, and draws the transport plan.

Exit status: 0 on success, 1 when the input is invalid or the run fails, 2 for a
malformed command line, 130 when interrupted. Every error is one line on standard error;
``--debug`` prints the traceback as well.

The functions of this module can be called in-process: ``main(["demo", "--max-iter",
"5"])`` returns the exit status instead of leaving the interpreter.
"""

import argparse
import importlib.util
import sys
import traceback

import numpy as np

from . import __version__
from ._commands import (
    ANNOTATION_FORMATS,
    PROG,
    CommandError,
    _one_line,
    matched_segments,
    run_align,
    run_demo,
    run_discover,
)
from ._console import Console, captured_library_output

__all__ = ["CommandError", "build_parser", "main", "matched_segments"]

class _ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on standard error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}. See '{self.prog} --help'.\n")


# -- argument types -----------------------------------------------------------------------


def _int_at_least(minimum):
    """Return an argparse type that reads a whole number >= ``minimum``."""

    def parse(text):
        message = f"expected a whole number >= {minimum}, got {text!r}"
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(message) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(message)
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def _optional_float(text):
    """Parse a float, or ``none`` as ``None`` (``--zeta none`` removes the sink)."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None


# -- the parser ---------------------------------------------------------------------------


def _add_common_options(parser):
    parser.add_argument(
        "--debug", action="store_true",
        help="on error, print the full traceback as well as the one-line message",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true",
        help="print results only: no status lines and no progress bar",
    )


DEMO_TEMPORAL_WEIGHT = 3.0


def _add_training_options(parser, *, default_seed=0):
    parser.add_argument(
        "--max-iter", type=_positive_int, default=None, metavar="N",
        help="training iterations of the embedder (default: the RealignEmbedder default)",
    )
    parser.add_argument(
        "--seed", type=int, default=default_seed, metavar="S",
        help="random seed of training and segmentation (default: %(default)s)",
    )
    parser.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto",
        help="where to train: 'auto' takes a CUDA GPU when torch finds one (default: auto)",
    )


def _add_segmenter_options(parser, *, default=None):
    if default is None:
        default_text = "the KeyStepSegmenter default"
    else:
        default_text = "%(default)s"
    parser.add_argument(
        "--temporal-weight", type=float, default=default, metavar="W",
        help="weight of the segmenter's term for where in the video a frame lies, used for "
             "the method and the raw-feature baseline alike; 0 turns it off (default: "
             f"{default_text})",
    )


def _add_video_options(parser):
    parser.add_argument(
        "--backbone-weights", metavar="PATH_OR_NAME", default=None,
        help="video files only: ResNet-50 weights for the frame encoder, a checkpoint file "
             "or a torchvision weights name such as IMAGENET1K_V2; without them the trunk is "
             "random and the embeddings carry little about the key steps",
    )
    parser.add_argument(
        "--frame-size", type=_positive_int, default=None, metavar="PIXELS",
        help="video files only: frames are decoded and resized to PIXELS x PIXELS "
             "(default: the RealignEmbedder default, 224)",
    )


def build_parser():
    """Build the argument parser of ``sk-realign`` and its subcommands.

    Returns
    -------
    parser : argparse.ArgumentParser
        The parser of the command line; each subcommand sets ``command`` and the
        ``handler`` that runs it.

    Examples
    --------
    >>> from sk_realign.cli import build_parser
    >>> args = build_parser().parse_args(["align", "a.npy", "b.npy", "--max-iter", "5"])
    >>> args.command, args.a, args.b, args.max_iter
    ('align', 'a.npy', 'b.npy', 5)
    """
    parser = _ArgumentParser(
        prog=PROG,
        description=(
            "Find the key steps of a procedure in videos of people performing it: learn "
            "frame embeddings by aligning the videos with partial fused Gromov-Wasserstein "
            "transport, then segment every video into k key steps."
        ),
        epilog=f"Run '{PROG} COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_ArgumentParser
    )
    commands.required = True

    # demo
    demo = commands.add_parser(
        "demo",
        help="train and evaluate on the bundled Breakfast coffee videos",
        description=(
            "Train RealignEmbedder on the five bundled Breakfast coffee videos, segment them "
            "into k key steps, and print precision, recall, F1 and IoU under the per-video "
            "and the task-level protocol, next to two baselines: the raw features with the "
            "same segmenter, and a uniform split of every video into k parts. Writes PNG "
            "figures and report.json into the output folder."
        ),
    )
    demo.add_argument(
        "--out", default="sk_realign_report", metavar="DIR",
        help="report folder, created if missing (default: %(default)s)",
    )
    demo.add_argument(
        "--k", type=_positive_int, default=5, metavar="K",
        help="number of key steps (default: %(default)s)",
    )
    _add_training_options(demo)
    # The segmenter's default of 10 was tuned on raw features. On learned embeddings of
    # the coffee videos, the embedder's benchmark found 3 best.
    _add_segmenter_options(demo, default=DEMO_TEMPORAL_WEIGHT)
    _add_common_options(demo)
    demo.set_defaults(handler=run_demo)

    # discover
    discover = commands.add_parser(
        "discover",
        help="find k key steps in your own feature or video files",
        description=(
            "Train RealignEmbedder on the given videos of one task, segment every video into "
            "k key steps, and write one CSV of per-frame key steps per video into the output "
            "folder, with figures and report.json. Inputs are feature files (.npy, or .txt "
            "and .csv with one row of numbers per frame), or video files. With --annotations, "
            "the key steps are scored against the ground truth."
        ),
    )
    discover.add_argument(
        "paths", nargs="+", metavar="PATH",
        help="feature files (.npy, .txt, .csv) or video files (.mp4, .avi, ...), one per "
             "video; a file's name without suffix is the video's name",
    )
    discover.add_argument(
        "--k", type=_positive_int, required=True, metavar="K", help="number of key steps",
    )
    discover.add_argument(
        "--annotations", metavar="DIR",
        help="folder of ground-truth annotations, matched to the videos by name; needs --format",
    )
    discover.add_argument(
        "--format", choices=ANNOTATION_FORMATS, dest="annotation_format",
        help="layout of --annotations: egoprocel (one CSV per video: start second, end "
             "second, numbered step name), crosstask (<task>_<video>.csv rows step,start,end) "
             "or breakfast (one label per line and frame, with a mapping.txt)",
    )
    discover.add_argument(
        "--mapping", metavar="FILE",
        help="'<id> <name>' mapping of the labels (breakfast, crosstask); by default "
             "mapping.txt in the annotations folder, its parent or its parent's mapping/ folder",
    )
    discover.add_argument(
        "--fps", type=_positive_float, default=None, metavar="F",
        help="frame rate of the feature files in frames per second, used to turn annotation "
             "seconds into frames and for the time column of the CSVs; for video files, the "
             "rate at which frames are sampled (default: 15 for breakfast annotations, "
             "2 for video files)",
    )
    discover.add_argument(
        "--overlap", choices=("raise", "first", "last"), default="raise",
        help="what to do when annotated segments of different steps overlap: stop with an "
             "error, or give the frames to the segment listed first or last (default: raise)",
    )
    discover.add_argument(
        "--out-of-range", choices=("raise", "clip"), default="raise",
        help="what to do with an annotated segment outside the video: stop with an error, "
             "or cut it to the video (default: raise)",
    )
    discover.add_argument(
        "--no-train", action="store_true",
        help="segment the input features as they are, without training the embedder "
             "(feature files only)",
    )
    discover.add_argument(
        "--out", default="sk_realign_report", metavar="DIR",
        help="output folder, created if missing (default: %(default)s)",
    )
    _add_training_options(discover)
    _add_segmenter_options(discover)
    _add_video_options(discover)
    _add_common_options(discover)
    discover.set_defaults(handler=run_discover)

    # align
    align = commands.add_parser(
        "align",
        help="align two recordings and show what is left unmatched",
        description=(
            "Align two recordings with partial fused Gromov-Wasserstein transport. Frames "
            "with no counterpart in the other recording go to a virtual sink instead of "
            "being forced onto a match. Prints the matched segments and the frames left in "
            "the sink, and writes the transport plan as a figure, a per-frame CSV and "
            "report.json."
        ),
    )
    align.add_argument("a", metavar="A", help="first recording: a feature file or a video file")
    align.add_argument("b", metavar="B", help="second recording, of the same kind as A")
    align.add_argument(
        "--fps", type=_positive_float, default=None, metavar="F",
        help="frame rate of feature files, to print times in seconds; for video files, the "
             "rate at which frames are sampled (default: 2)",
    )
    align.add_argument(
        "--zeta", type=_optional_float, default=argparse.SUPPRESS, metavar="Z",
        help="matching threshold on the feature cost (cosine: 0 to 2); pairs costing more "
             "go to the sink; 'none' removes the sink (default: the PartialFGWAligner default)",
    )
    align.add_argument(
        "--rho", type=float, default=argparse.SUPPRESS, metavar="R",
        help="weight in [0, 1] of the temporal-structure (Gromov-Wasserstein) term",
    )
    align.add_argument(
        "--tau", type=float, default=argparse.SUPPRESS, metavar="T",
        help="marginal relaxation; 'inf' makes the marginals exact",
    )
    align.add_argument(
        "--eps", type=float, default=argparse.SUPPRESS, metavar="E",
        help="entropic regularisation of the plan",
    )
    align.add_argument(
        "--max-iter", type=_non_negative_int, default=0, metavar="N",
        help="train RealignEmbedder on the two recordings for N iterations and align the "
             "embeddings; 0 aligns the features as given (default: 0; video files need N >= 1)",
    )
    align.add_argument(
        "--seed", type=int, default=0, metavar="S",
        help="random seed of training (default: %(default)s)",
    )
    align.add_argument(
        "--device", choices=("auto", "cpu", "cuda"), default="auto",
        help="where to train and solve (default: auto)",
    )
    align.add_argument(
        "--out", default="sk_realign_alignment", metavar="DIR",
        help="output folder, created if missing (default: %(default)s)",
    )
    _add_video_options(align)
    _add_common_options(align)
    align.set_defaults(handler=run_align)
    return parser


# -- entry point --------------------------------------------------------------------------


def _use_file_backend():
    """Select matplotlib's file backend, because the command only writes figures to disk.

    Raises
    ------
    CommandError
        When matplotlib is not installed, before any work is done.
    """
    if importlib.util.find_spec("matplotlib") is None:
        raise CommandError(
            "the report figures need matplotlib, which is not installed; install it with "
            "pip install 'sk_realign[plots]'."
        )
    if "matplotlib.pyplot" not in sys.modules:
        import matplotlib

        matplotlib.use("Agg")


def main(argv=None):
    """Run the ``sk-realign`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; ``None`` takes ``sys.argv[1:]``.

    Returns
    -------
    status : int
        0 on success, 1 for invalid input or a failed run, 2 for a malformed command line,
        130 when interrupted.

    Examples
    --------
    ``--version`` prints the version and returns 0 instead of leaving the interpreter:

    >>> from sk_realign.cli import main
    >>> main(["--version"])  # doctest: +ELLIPSIS
    sk-realign ...
    0
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:
        # --help, --version and usage errors end here; return their status.
        code = exit_request.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1

    console = Console(quiet=args.quiet)
    where = f"{PROG} {args.command}"
    with captured_library_output(console, debug=args.debug):
        try:
            _use_file_backend()
            args.handler(args, console, argv)
        except KeyboardInterrupt:
            console.end_progress()
            print(f"{where}: interrupted", file=sys.stderr)
            return 130
        except (CommandError, ValueError, OSError, ImportError, FloatingPointError) as error:
            # Invalid input and environment problems: the message names the value and fix.
            console.end_progress()
            if args.debug:
                traceback.print_exc()
            print(f"{where}: error: {_one_line(error)}", file=sys.stderr)
            return 1
        except Exception as error:  # noqa: BLE001 - the command must never end in a traceback
            console.end_progress()
            if args.debug:
                traceback.print_exc()
            print(
                f"{where}: error: unexpected {type(error).__name__}: {_one_line(error)}. "
                "Run again with --debug to see the traceback.",
                file=sys.stderr,
            )
            return 1
    return 0
