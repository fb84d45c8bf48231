"""The reference site (docs/, mkdocs.yml): every public name has an API page, and every
example on every page runs.

Pages show their examples as ``pycon`` blocks (``>>>`` with the output below). Each page's
blocks run in order as one doctest, outputs compared, against the sandbox the page starts
itself, in a temporary directory with fbtime's files pointed there too. ``make docs``
builds the site strictly (links, anchors and cross-references); this checks what the pages
say.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

import fbtime

DOCS = Path(__file__).parents[1] / "docs"
REFERENCE = DOCS / "reference"
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
PAGES = sorted(p for p in DOCS.glob("*.md") if "```pycon" in p.read_text())


def reference_entries() -> set[str]:
    """The objects the API reference renders (``::: fbtime.NAME`` lines)."""
    text = "\n".join(page.read_text() for page in REFERENCE.glob("*.md"))
    return set(re.findall(r"^::: ([\w.]+)\s*$", text, re.M))


def paths(name: str) -> set[str]:
    """Where the reference may render a public name: ``fbtime.NAME`` or where it is defined."""
    obj = getattr(fbtime, name)
    return {f"fbtime.{name}", f"{obj.__module__}.{obj.__qualname__}"}


def test_every_public_name_has_an_entry_in_the_api_reference():
    entries = reference_entries()
    missing = [n for n in fbtime.__all__ if n != "__version__" and not paths(n) & entries]
    assert not missing, f"no API reference entry (add `::: fbtime.NAME` to a page): {missing}"


def test_a_name_missing_from_the_reference_is_noticed(monkeypatch):
    monkeypatch.setattr(fbtime, "__all__", [*fbtime.__all__, "fresh_name"])
    monkeypatch.setattr(fbtime, "fresh_name", lambda: None, raising=False)
    with pytest.raises(AssertionError, match="fresh_name"):
        test_every_public_name_has_an_entry_in_the_api_reference()


def test_the_accessor_and_its_plots_are_in_the_api_reference():
    # df.fbtime is not in fbtime.__all__ (it is registered on import), but users call it most
    assert {"fbtime.accessor.TimeEntriesAccessor", "fbtime.accessor.PlotMethods"} <= (
        reference_entries()
    )


def test_the_reference_index_names_the_version_attribute():
    assert "fbtime.__version__" in (REFERENCE / "index.md").read_text()


def examples(page: Path) -> str:
    """The page with everything outside its ``pycon`` blocks blanked (line numbers kept)."""
    kept, inside = [], False
    for line in page.read_text().splitlines():
        fence = line.strip().startswith("```")
        if fence:
            inside = line.strip() == "```pycon"
        kept.append(line if inside and not fence else "")
    return "\n".join(kept) + "\n"


def test_a_page_without_the_pycon_fence_is_not_run(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("text\n\n```python\n>>> 1/0\n```\n\n```pycon\n>>> 1 + 1\n2\n```\n")
    assert examples(page).splitlines() == ["", "", "", "", "", "", "", ">>> 1 + 1", "2", ""]


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Like a reader's fresh shell, minus their account and their files."""
    for name in (
        "FRESHBOOKS_ACCESS_TOKEN", "FRESHBOOKS_BUSINESS_ID", "FRESHBOOKS_API_URL",
        "FRESHBOOKS_CLIENT_ID", "FRESHBOOKS_CLIENT_SECRET", "FRESHBOOKS_REDIRECT_URI",
        "FBTIME_PROFILE",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    for name, sub in [
        ("FBTIME_CACHE_DIR", "cache"),
        ("FBTIME_CONFIG_DIR", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "xdg-cache"),
        ("XDG_CONFIG_HOME", "xdg-config"),
    ]:
        monkeypatch.setenv(name, str(tmp_path / sub))
    monkeypatch.setenv("FBTIME_KEYRING", "0")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_examples_on_the_page_run_and_show_what_they_print(page, isolated):
    test = doctest.DocTestParser().get_doctest(examples(page), {}, page.name, str(page), 0)
    assert test.examples, f"{page.name} has a pycon block without examples"
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    try:
        runner.run(test, out=report.append)
    finally:
        for value in test.globs.values():  # a failed page must not leave its server running
            if isinstance(value, fbtime.Sandbox):
                value.stop()
    assert runner.failures == 0, "".join(report)
