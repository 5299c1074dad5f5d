"""Sphinx configuration of the sk_realign documentation.

Build with ``tox -e docs`` or ``sphinx-build -W --keep-going -b html docs docs/_build/html``.
The gallery scripts in ``examples/`` run during the build, so every figure comes from the code
being documented, run on the bundled real data.
"""

import contextlib
import io
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# The gallery and autodoc must use the checkout under documentation, also without an install;
# the gallery's sort key lives beside this file.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
os.environ.setdefault("MPLBACKEND", "Agg")

import sk_realign  # noqa: E402

project = "sk_realign"
author = "The sk_realign developers"
copyright = "2026, the sk_realign developers"
release = sk_realign.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "sg_execution_times.rst"]
default_role = "code"

# -- autodoc, autosummary and numpydoc ---------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- Markdown pages (the changelog and the benchmark results) ----------------------------
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# -- HTML ---------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sk_realign {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"index": [], "install": [], "changelog": []}
html_show_sourcelink = False

# -- sphinx-gallery -----------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "doc_module": ("sk_realign",),
    "backreferences_dir": "generated/backreferences",
    "within_subsection_order": "_sorting.ExampleOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "plot_gallery": "True",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "show_memory": False,
}


# -- Benchmark result pages ---------------------------------------------------------------
def _write_benchmark_pages():
    """Write one page per ``benchmarks/results_*.md`` that includes the measured numbers.

    The results pages live beside the benchmark scripts that produce them. Each generated page
    only includes its file, so no number is copied by hand.
    """
    out = HERE / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.md"):
        old.unlink()

    results_pages = sorted((ROOT / "benchmarks").glob("results_*.md"))
    for results in results_pages:
        page = out / results.name
        relative = os.path.relpath(results, out)
        page.write_text(f"```{{include}} {relative}\n```\n", encoding="utf-8")
    if not results_pages:
        (out / "none.md").write_text(
            "# No results yet\n\nNo benchmark has recorded a results page.\n", encoding="utf-8"
        )


_write_benchmark_pages()


# -- Help text of the command --------------------------------------------------------------
def _write_command_help():
    """Write the ``--help`` text of ``sk-realign`` and of each subcommand, for the guide.

    The text comes from the command's own parser, so the page cannot drift from the code.
    """
    from sk_realign.cli import build_parser

    out = HERE / "user_guide" / "cli_help"
    out.mkdir(parents=True, exist_ok=True)
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "76"
    try:
        for name in ("sk-realign", "demo", "discover", "align"):
            args = [] if name == "sk-realign" else [name]
            text = io.StringIO()
            with contextlib.redirect_stdout(text):
                try:
                    build_parser().parse_args(args + ["--help"])
                except SystemExit:
                    pass
            (out / f"{name}.txt").write_text(text.getvalue(), encoding="utf-8")
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns


_write_command_help()


# -- Docstring tweaks ---------------------------------------------------------------------
def _escape_type_markup(app, what, name, obj, options, lines):
    """Keep shapes in numpydoc type lines from being read as reStructuredText markup.

    numpydoc renders the text after ``name :`` as reStructuredText, where a PyTorch-style
    shape such as ``(*batch, n)`` opens an emphasis that never closes, and a fitted
    attribute such as ``(n_videos, n_references_)`` is a reference to an unknown target.
    """
    for index, line in enumerate(lines):
        if " : " not in line or "`" in line:
            continue
        line = line.replace("(*", "(\\*")
        lines[index] = re.sub(r"\b([A-Za-z]\w*)_(?=[,)\s]|$)", r"\1\\_", line)


def setup(app):
    # Run before numpydoc (priority 500) so that numpydoc parses the escaped lines.
    app.connect("autodoc-process-docstring", _escape_type_markup, priority=400)
