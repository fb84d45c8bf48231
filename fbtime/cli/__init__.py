"""The ``fbtime`` command. Every argparse line of fbtime lives in this package.

* :mod:`.main`: the parser, ``demo``, ``sandbox``, ``export``, ``cache``; :func:`main`.
* :mod:`.options`: the filter and connection options shared by commands and examples.
* :mod:`.audit`: ``audit`` (exit 0, 1 or 2, for cron and CI).
* :mod:`.bulk`: ``mark-billed``, ``plan show``, ``apply``, ``resume``, ``undo``.
* :mod:`.login`: ``login``, ``whoami``, ``use``.
* :mod:`.sync`: ``sync``.

The library never imports this package; it imports the library.
"""

from fbtime.cli.main import main

__all__ = ["main"]
