"""Time from other trackers: Toggl Track, Harvest and Clockify exports, into FreshBooks.

``layouts.py`` knows the three CSV layouts (headers by name) and reads a file's text,
``values.py`` reads dates, clock times, durations and hours column-wise, ``read.py``
turns a file into one typed frame (:func:`read_time_export`), ``mapping.py`` matches the
file's people, clients, projects and services to FreshBooks ids, never creating one
(``template.py``: the mapping file a person fills for names that do not match),
``duplicates.py`` skips rows already in FreshBooks, ``account.py`` reads what matching
and that check need.
Facts and decisions: ``import-formats.md``.
"""

from fbtime.imports.layouts import FORMATS
from fbtime.imports.read import TimeExport, read_time_export

__all__ = ["FORMATS", "TimeExport", "read_time_export"]
