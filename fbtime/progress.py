"""Progress bars that leave nothing broken behind in a notebook, a saved notebook or Voila.

tqdm's notebook bar with ``leave=False`` closes its widget when it ends, but the cell keeps
an output pointing at that widget; Voila (which shows a notebook after running it) and a
reopened notebook then show "Error displaying widget: model not found". In a notebook,
:func:`progress_bar` shows the bar under a display id and replaces that output with
nothing once the bar finishes, so no output names a closed widget. A bar stopped by an
error stays visible (red), with its widget alive. In a terminal it is tqdm's usual bar.
"""

from __future__ import annotations

import functools
import sys
from typing import Any


@functools.cache
def _notebook_bar(base: type) -> type:
    from IPython.display import display

    class NotebookBar(base):  # a subclass of whichever notebook bar tqdm picked
        """tqdm's notebook bar whose output is emptied once it ends well."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, display=False, **kwargs)
            self._handle = None if self.disable else display(self.container, display_id=True)
            self.displayed = True

        def close(self) -> None:
            if self.disable:
                return
            finished = not (self.total and self.n < self.total)
            super().close()
            handle, self._handle = self._handle, None
            if handle is not None and finished and not self.leave:
                # the widget is closed now: the output must not keep pointing at it
                handle.update({"text/plain": ""}, raw=True)

    return NotebookBar


def progress_bar(*, total: int, unit: str, desc: str, enabled: bool = True) -> Any:
    """A tqdm bar (``update(n)``, ``close()``) that goes away when it finishes.

    Args:
        total: the number of steps.
        unit, desc: tqdm's unit and description.
        enabled: False gives a bar that shows nothing.
    """
    from tqdm.auto import tqdm

    notebook = sys.modules.get("tqdm.notebook")  # imported by tqdm.auto inside a kernel only
    options: dict[str, Any] = {"total": total, "unit": unit, "desc": desc, "leave": False}
    if enabled and notebook is not None and issubclass(tqdm, notebook.tqdm):
        return _notebook_bar(tqdm)(**options)
    return tqdm(**options, disable=not enabled)
