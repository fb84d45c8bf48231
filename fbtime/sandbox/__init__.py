"""A faithful local stand-in for FreshBooks' time-entries API, for demos, tests and benchmarks.

:class:`Sandbox` serves seeded synthetic data (:func:`generate`) over real HTTP on
127.0.0.1 and exposes the ground truth (:meth:`Sandbox.entries`, :attr:`Sandbox.planted`),
request counters and knobs (latency, rate limit, PUT mode, injected faults).

Modules: ``data`` (the generator), ``reference`` (projects' billing, the team, rates and
currency around the entries), ``store`` (SQLite with cached list results), ``validate``
and ``entries`` (request parsing and write semantics), ``app`` (the WSGI API),
``resources`` (its reference endpoints), ``wsgi`` (the one call into the app, over
HTTP or in process with no socket), ``server`` (:class:`Sandbox` and the ``fbtime
sandbox`` command).
"""

from fbtime.sandbox.app import Injection, SandboxApp
from fbtime.sandbox.data import Dataset, generate
from fbtime.sandbox.server import PUT_MODES, Sandbox, serve

__all__ = ["PUT_MODES", "Dataset", "Injection", "Sandbox", "SandboxApp", "generate", "serve"]
