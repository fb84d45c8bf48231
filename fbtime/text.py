"""Text from the account is untrusted: how fbtime shows it in terminals, sheets, charts, HTML.

Notes and client, project and teammate names are typed by whoever has access to the
FreshBooks account, not by the person running fbtime. Each place that shows them has
its own way to be abused, so each gets one function here:

* :func:`for_terminal`: control characters (ESC sequences move the cursor or erase the
  lines above a confirmation prompt), C1 controls, and bidi overrides ("Trojan source")
  are shown escaped, as ``\\x1b`` or ``\\u202e``.
* :func:`for_spreadsheet`: a cell starting with ``= + - @``, tab or CR is a formula to
  Excel and LibreOffice (OWASP, "CSV Injection"); it gets a leading ``'``.
* :func:`for_chart`: matplotlib reads ``$...$`` as mathtext and fails on some of it;
  charts draw with ``text.parse_math`` off (:data:`CHART_RC`) and controls removed.
* :func:`for_html`: every value and key is escaped, quotes included.

Nothing here imports pandas; :mod:`fbtime.export` applies :func:`for_spreadsheet` to frames.
"""

from __future__ import annotations

import html
from typing import Any

#: Leading characters that make a spreadsheet cell a formula (OWASP CSV-injection advice).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
#: matplotlib settings under which text is drawn literally (``$5 and $6`` is not mathtext).
CHART_RC = {"text.parse_math": False}

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x2028, 0x2029)


def _escape(code: int) -> str:
    char = chr(code)
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


#: C0 controls, DEL, C1 controls and bidi/line-separator marks -> a visible escape.
_TERMINAL = {code: _escape(code) for code in (*range(0x20), *range(0x7F, 0xA0), *_BIDI)}
_TERMINAL_BLOCK = {k: v for k, v in _TERMINAL.items() if k != ord("\n")}
_CHART = {code: None for code in _TERMINAL if code != ord("\n")} | {ord("\t"): " "}


def for_terminal(value: Any, *, keep_newlines: bool = False) -> str:
    """``str(value)`` with every control character shown escaped, safe to print.

    ``keep_newlines=True`` keeps line breaks (for a block of text such as a table);
    a table cell should leave them escaped, so one note cannot look like two rows.
    """
    return str(value).translate(_TERMINAL_BLOCK if keep_newlines else _TERMINAL)


def for_spreadsheet(value: Any) -> Any:
    """A string that a spreadsheet would run as a formula gets a leading ``'``.

    Anything that is not a string (numbers, dates, missing values) is returned as is.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def for_chart(value: Any) -> str:
    """A label a chart can always draw: controls removed (tabs become spaces).

    Draw under ``matplotlib.rc_context(CHART_RC)`` so ``$`` is a dollar sign.
    """
    return str(value).translate(_CHART)


def for_html(value: Any) -> str:
    """``str(value)`` escaped for HTML text and attribute values (quotes included)."""
    return html.escape(str(value), quote=True)
