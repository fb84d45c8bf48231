"""Griffe extension: fbtime's docstrings as the API reference should show them.

fbtime's Google-style docstrings use three things griffe does not read:

* several arguments in one item (``auth_url, token_url, base_url: ...``, sometimes over
  two lines): griffe warns and drops the item, so the names would vanish from the
  reference. Each name gets an item of its own: the shared description, or for a long
  one, a pointer to the first name.
* Sphinx roles (``:class:`~fbtime.Client```): griffe shows them as raw text. A role whose
  target is a public name (``fbtime.__all__``, by its public or its defining path) becomes
  a cross-reference, which the strict build checks; any other becomes code.
* reStructuredText's ``::`` before a literal block: Markdown already reads the indented
  block as code, so the marker goes (``Example::`` reads ``Example:``).
* ``Example:`` (singular, as the house style writes it) is griffe's cue for a plain
  admonition, where ``>>>`` reads as a quote; it becomes ``Examples:``, the section whose
  ``>>>`` lines griffe shows as runnable code.

Loaded by mkdocstrings (``mkdocs.yml``); nothing in the package imports it.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

import fbtime

SECTIONS = ("Args:", "Arguments:", "Parameters:", "Keyword Args:", "Attributes:")
NAME = r"\*{0,2}[A-Za-z_]\w*"
GROUP = re.compile(rf"^({NAME}(?:,\s*{NAME})*),?\s*(?::\s*(.*))?$")
ROLE = re.compile(r":(?:py:)?(class|func|meth|attr|data|exc|obj|mod):`(~?)([^`]+)`")


def _public_paths() -> dict[str, str]:
    """``{path: identifier}`` for every public name, by its public, defining or bare path.

    The identifier is the defining path: mkdocstrings registers it for every rendered
    object, also when the page renders the object by its ``fbtime.NAME`` alias.
    """
    paths = {}
    for name in fbtime.__all__:
        obj = getattr(fbtime, name)
        module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
        if not (module and qualname):  # __version__
            continue
        for path in (f"fbtime.{name}", name, f"{module}.{qualname}"):
            paths[path] = f"{module}.{qualname}"
    return paths


PUBLIC = _public_paths()


def _identifier(target: str) -> str | None:
    """The reference's identifier for ``target`` (``UpdatePlan.apply`` too), or None."""
    if target in PUBLIC:
        return PUBLIC[target]
    head, _, member = target.rpartition(".")
    return f"{PUBLIC[head]}.{member}" if head in PUBLIC else None


def _role(match: re.Match[str]) -> str:
    kind, short, target = match.groups()
    target = target.lstrip(".")
    shown = target.rsplit(".", 1)[-1] if short else target
    identifier = None if kind == "mod" else _identifier(target)
    return f"[`{shown}`][{identifier}]" if identifier else f"`{shown}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def split_grouped_items(lines: list[str]) -> list[str]:
    """One item per name in the argument and attribute sections."""
    out: list[str] = []
    i, section_indent = 0, None
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped in SECTIONS:
            section_indent, item_indent = _indent(line), None
            out.append(line)
            i += 1
            continue
        if section_indent is not None and stripped and _indent(line) <= section_indent:
            section_indent = None  # the section ended
        if section_indent is None or not stripped:
            out.append(line)
            i += 1
            continue
        if item_indent is None:
            item_indent = _indent(line)
        match = GROUP.match(stripped) if _indent(line) == item_indent else None
        if not match or ("," not in match.group(1) and match.group(2) is not None):
            out.append(line)
            i += 1
            continue
        # a grouped item: names (maybe continued on the next lines), then the description
        names, description = match.group(1), match.group(2)
        j = i + 1
        while description is None and j < len(lines) and _indent(lines[j]) > item_indent:
            more = GROUP.match(lines[j].strip())
            if not more:
                break
            names, description = f"{names}, {more.group(1)}", more.group(2)
            j += 1
        if description is None:  # not an item after all
            out.append(line)
            i += 1
            continue
        rest = []
        while j < len(lines) and lines[j].strip() and _indent(lines[j]) > item_indent:
            rest.append(lines[j])
            j += 1
        pad = " " * item_indent
        first, *others = re.split(r",\s*", names)
        out.append(f"{pad}{first}: {description}")
        out.extend(rest)
        long = bool(rest) or len(description) > 60  # said once, then pointed at
        for name in others:
            out.append(f"{pad}{name}: " + (f"as `{first}`." if long else description))
            out.extend([] if long else rest)
        i = j
    return out


def rewrite(text: str) -> str:
    """The docstring ``text`` with grouped items split, roles linked and ``::`` dropped."""
    lines = split_grouped_items(text.splitlines())
    out = []
    for line in lines:
        if line.strip() == "::":
            continue
        if line.strip() == "Example:":
            line = line.replace("Example:", "Examples:")
        if line.rstrip().endswith("::") and not line.lstrip().startswith((">>>", "...")):
            line = line.rstrip()[:-1]
        out.append(ROLE.sub(_role, line))
    return "\n".join(out)


class FBTimeDocstrings(griffe.Extension):
    """Rewrites every docstring before griffe parses it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
