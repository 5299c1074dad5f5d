"""Terminal output of the ``sk-realign`` command: status lines, warnings and a progress bar.

The library reports through :mod:`logging` and :mod:`warnings` only. While a command runs,
this module turns both into one-line messages on standard error, and draws the training
progress that :class:`~sk_realign.RealignEmbedder` logs as a progress bar. Results (tables)
go to standard output, so that they can be piped or redirected on their own.
"""

import contextlib
import logging
import re
import sys
import time
import warnings

__all__ = ["Console", "ProgressBar", "captured_library_output"]

# The progress record that RealignEmbedder logs with verbose=2, once per iteration.
# NOTE: this matches the text of that log message; if its wording changes, the records
# are shown as plain status lines instead of a bar.
_ITERATION_MESSAGE = re.compile(
    r"iteration (?P<done>\d+)/(?P<total>\d+): loss (?P<loss>\S+?),? .*?(?P<rate>[\d.]+) it/s"
)


def _format_duration(seconds):
    """Format seconds as ``m:ss`` (or ``h:mm:ss``), or ``?`` when unknown."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


class ProgressBar:
    """A progress bar with rate and time left, redrawn in place on a terminal.

    On a stream that is not a terminal (a log file, a pipe, a test's captured output) the
    bar is printed as a new line at every tenth of the work instead, so the output stays
    readable.

    Parameters
    ----------
    total : int
        Number of steps of the work.
    label : str
        Printed before the bar.
    stream : file object
        Where the bar is drawn.
    width : int, default=28
        Width of the bar in characters.
    """

    def __init__(self, total, label, stream, width=28):
        self.total = max(int(total), 1)
        self.label = label
        self.stream = stream
        self.width = width
        self.start = time.perf_counter()
        self.done = 0
        self._interactive = bool(getattr(stream, "isatty", lambda: False)())
        self._last_tenth = -1
        self._last_length = 0
        self._closed = False

    def update(self, done, detail=""):
        """Show that ``done`` of the ``total`` steps are finished; ``detail`` is appended."""
        self.done = min(int(done), self.total)
        elapsed = time.perf_counter() - self.start
        rate = self.done / elapsed if elapsed > 0 and self.done else None
        remaining = (self.total - self.done) / rate if rate else None
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        rate_text = f"{rate:.1f} it/s" if rate else "- it/s"
        text = (
            f"{self.label} [{bar}] {self.done}/{self.total} "
            f"{100 * self.done // self.total:3d}%  {rate_text}  "
            f"{_format_duration(elapsed)} elapsed, {_format_duration(remaining)} left"
        )
        if detail:
            text += f"  {detail}"

        if self._interactive:
            padding = " " * max(self._last_length - len(text), 0)
            self.stream.write("\r" + text + padding)
            self.stream.flush()
            self._last_length = len(text)
            return
        tenth = 10 * self.done // self.total
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(text + "\n")
            self.stream.flush()

    def break_line(self):
        """End the bar's line on a terminal, so another message can be printed below it.

        The next :meth:`update` draws the bar again on a line of its own.
        """
        if self._interactive and self._last_length:
            self.stream.write("\n")
            self.stream.flush()
            self._last_length = 0

    def close(self):
        """End the bar's line on a terminal."""
        if self._interactive and not self._closed and self._last_length:
            self.stream.write("\n")
            self.stream.flush()
        self._closed = True


class Console:
    """The output streams of a command: results to ``stdout``, everything else to ``stderr``.

    Parameters
    ----------
    stdout, stderr : file object, default=None
        The streams; ``None`` takes :data:`sys.stdout` and :data:`sys.stderr` at the
        time of each write, so that redirection by a test harness is respected.
    quiet : bool, default=False
        Show no status lines and no progress bar; warnings and errors are still shown.
    """

    def __init__(self, stdout=None, stderr=None, quiet=False):
        self._stdout = stdout
        self._stderr = stderr
        self.quiet = quiet
        self._progress = None
        self._seen_warnings = set()

    @property
    def stdout(self):
        return self._stdout if self._stdout is not None else sys.stdout

    @property
    def stderr(self):
        return self._stderr if self._stderr is not None else sys.stderr

    def print(self, text=""):
        """Write a result line (a table row, say) to standard output."""
        self.end_progress()
        print(text, file=self.stdout, flush=True)

    def status(self, text):
        """Write a status line to standard error, unless quiet."""
        if self.quiet:
            return
        if self._progress is not None:
            self._progress.break_line()
        print(text, file=self.stderr, flush=True)

    def warning(self, text):
        """Write a warning to standard error once, even when quiet."""
        text = " ".join(str(text).split())
        if text in self._seen_warnings:
            return
        self._seen_warnings.add(text)
        if self._progress is not None:
            self._progress.break_line()
        print(f"warning: {text}", file=self.stderr, flush=True)

    def start_progress(self, total, label):
        """Start a progress bar of ``total`` steps (none when quiet)."""
        self.end_progress()
        if not self.quiet:
            self._progress = ProgressBar(total, label, self.stderr)
        return self._progress

    def update_progress(self, done, total, detail=""):
        """Move the current progress bar, starting one of ``total`` steps if needed."""
        if self.quiet:
            return
        if self._progress is None or self._progress.total != max(int(total), 1):
            self.start_progress(total, "  training")
        self._progress.update(done, detail)
        if done >= total:
            self.end_progress()

    def end_progress(self):
        """Close the current progress bar, if any."""
        if self._progress is not None:
            progress, self._progress = self._progress, None
            progress.close()


class _LibraryLogHandler(logging.Handler):
    """Show the library's log records on the console, progress records as a bar."""

    def __init__(self, console):
        super().__init__()
        self.console = console

    def emit(self, record):
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        match = _ITERATION_MESSAGE.search(message)
        if match and record.levelno < logging.WARNING:
            detail = f"loss {match['loss']}"
            self.console.update_progress(int(match["done"]), int(match["total"]), detail)
            return
        if record.levelno >= logging.WARNING:
            self.console.warning(message)
        else:
            self.console.status(f"  {message}")


@contextlib.contextmanager
def captured_library_output(console, debug=False):
    """Route the library's logging and warnings to ``console`` while the block runs.

    The handler, the logger level and the warning filters are restored afterwards, so
    that the command can run several times in one process (as the tests do).
    """
    logger = logging.getLogger("sk_realign")
    handler = _LibraryLogHandler(console)
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False

    def show_warning(message, category, filename, lineno, file=None, line=None):
        console.warning(f"{message} ({category.__name__})")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = show_warning
            yield console
    finally:
        console.end_progress()
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
