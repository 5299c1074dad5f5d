"""The documentation: doctests of the user guide and coverage of the API reference."""

import doctest
import importlib
import re
from pathlib import Path

import pytest

import sk_realign

DOCS = Path(__file__).resolve().parent.parent / "docs"
GUIDE_PAGES = sorted((DOCS / "user_guide").glob("*.rst")) + [DOCS / "index.rst"]


def _public_names():
    """Yield the dotted name of every public class and function of the package."""
    for name in sk_realign.__all__:
        if name == "__version__":
            continue
        value = getattr(sk_realign, name)
        if not hasattr(value, "__path__") and not hasattr(value, "__file__"):
            yield f"sk_realign.{name}"
            continue
        module = importlib.import_module(f"sk_realign.{name}")
        for member in getattr(module, "__all__", []):
            if callable(getattr(module, member)):
                yield f"sk_realign.{name}.{member}"


def _documented_names():
    """Dotted names listed in the autosummary tables of the API reference."""
    names = set()
    module = None
    in_table = False
    for line in (DOCS / "api.rst").read_text(encoding="utf-8").splitlines():
        current = re.match(r"\.\. currentmodule:: (\S+)", line)
        if current:
            module = current.group(1)
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and line and not line.startswith(" "):
            in_table = False
        elif in_table and line.strip() and not line.strip().startswith(":"):
            names.add(f"{module}.{line.strip()}")
    return names


@pytest.mark.parametrize("page", GUIDE_PAGES, ids=lambda page: str(page.relative_to(DOCS)))
def test_guide_page_doctests(page):
    result = doctest.testfile(
        str(page),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
        raise_on_error=False,
        verbose=False,
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {page.name}"


def test_api_reference_lists_public_names():
    documented = _documented_names()
    missing = sorted(set(_public_names()) - documented)
    assert missing == []


def test_api_reference_names_exist():
    for dotted in _documented_names():
        module, _, name = dotted.rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted
