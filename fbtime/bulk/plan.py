"""UpdatePlan: a read-only list of the changes a bulk operation would make.

Building a plan sends nothing. Each change holds the entry's writable fields as the frame
saw them (``before``, used at apply time to detect entries changed since) and the fields
to write (``after``). Entries that need no change or must not be changed are listed in
``skipped`` with a reason. A plan is shown as a text table in a terminal and as an HTML
diff in a notebook, saved as JSON, and applied with :meth:`UpdatePlan.apply`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from fbtime.api.fields import OPTIONAL_WRITABLE, WRITABLE, check_fields
from fbtime.errors import PlanError, QueryError

if TYPE_CHECKING:
    from fbtime.api.client import Client
    from fbtime.bulk.apply import ApplyResult

Action = Literal["update", "delete", "create"]
PLAN_FORMAT = "fbtime-plan"
PLAN_VERSION = 1
#: A saved plan older than this needs explicit confirmation to apply.
DEFAULT_MAX_AGE = dt.timedelta(hours=24)
COMPARED = (*WRITABLE, *OPTIONAL_WRITABLE)


def api_value(value: Any) -> Any:
    """A frame cell as the API writes it: None for missing, int/bool/str, UTC 'Z' times."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def snapshot(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable writable fields of an entry (API dict or frame row)."""
    out = {}
    for name in COMPARED:
        if name in entry:
            out[name] = api_value(entry[name])
    if out.get("started_at"):
        out["started_at"] = api_value(pd.Timestamp(out["started_at"]))
    return out


@dataclass
class Change:
    """One planned change of one entry."""

    id: int
    action: Action
    before: dict[str, Any]
    after: dict[str, Any]
    hours: float | None = None
    client_id: int | None = None

    def changed_fields(self) -> list[str]:
        return [k for k in self.after if self.before.get(k) != self.after[k]]


@dataclass
class UpdatePlan:
    """Changes to make to time entries, reviewed before anything is written.

    Attributes:
        kind: what built the plan (``mark_billed``, ``update``, ``delete``, ``undo``...).
        business_id: the business the entries belong to; apply refuses another.
        changes: one :class:`Change` per entry to write.
        skipped: ``{"id", "reason"}`` for entries left alone.
        created_at: when the plan was built (UTC ISO); old saved plans need confirmation.
        source_journal: for undo plans, the journal being undone.
    """

    kind: str
    business_id: int | None
    changes: list[Change]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    created_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())
    source_journal: str | None = None

    # -- what it would do -----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.changes)

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.changes]

    def totals(self) -> dict[str, Any]:
        """Entries, hours and clients affected, and entries skipped."""
        hours = sum(c.hours or 0.0 for c in self.changes)
        clients = {c.client_id for c in self.changes if c.client_id is not None}
        return {
            "entries": len(self.changes),
            "hours": round(hours, 2),
            "clients": len(clients),
            "skipped": len(self.skipped),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per change: id, action, field, before, after (for review or export)."""
        rows = [
            {
                "id": c.id,
                "action": c.action,
                "field": f,
                "before": c.before.get(f),
                "after": c.after[f],
                "hours": c.hours,
                "client_id": c.client_id,
            }
            for c in self.changes
            for f in (
                c.changed_fields() or ["(entry)"] if c.action != "update" else c.changed_fields()
            )
        ]
        cols = ["id", "action", "field", "before", "after", "hours", "client_id"]
        return pd.DataFrame(rows, columns=cols)

    def select(self, ids: list[int]) -> UpdatePlan:
        """A copy holding only the changes of ``ids`` (the others become skipped)."""
        keep = set(ids)
        left_out = [
            {"id": c.id, "reason": "left out by the reviewer"}
            for c in self.changes
            if c.id not in keep
        ]
        return UpdatePlan(
            self.kind,
            self.business_id,
            [c for c in self.changes if c.id in keep],
            self.skipped + left_out,
            self.created_at,
            self.source_journal,
        )

    def _summary_line(self) -> str:
        t = self.totals()
        return (
            f"UpdatePlan {self.kind}: {t['entries']} entries, {t['hours']} h, "
            f"{t['clients']} clients affected; {t['skipped']} skipped "
            f"(business {self.business_id}, built {self.created_at[:19]}Z)"
        )

    def __repr__(self) -> str:
        lines = [self._summary_line()]
        frame = self.to_frame()
        if len(frame):
            shown = frame.head(20).astype({"before": "object", "after": "object"})
            lines.append(shown[["id", "action", "field", "before", "after"]].to_string(index=False))
            if len(frame) > 20:
                lines.append(f"... {len(frame) - 20} more rows")
        reasons = pd.Series([s["reason"] for s in self.skipped], dtype="str")
        for reason, count in reasons.value_counts().items():
            lines.append(f"skipped {count}: {reason}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        frame = self.to_frame().head(200)
        rows = "".join(
            f"<tr><td>{r.id}</td><td>{r.action}</td><td>{html.escape(str(r.field))}</td>"
            f"<td style='background:#fdecea'><del>{html.escape(str(r.before))}</del></td>"
            f"<td style='background:#e6f4ea'><ins>{html.escape(str(r.after))}</ins></td></tr>"
            for r in frame.itertuples()
        )
        reasons = pd.Series([s["reason"] for s in self.skipped], dtype="str").value_counts()
        skipped = "".join(f"<li>{n} {html.escape(str(k))}</li>" for k, n in reasons.items())
        more = f"<p>... {len(self.to_frame()) - 200} more rows</p>" if len(frame) == 200 else ""
        return (
            f"<div><p><b>{html.escape(self._summary_line())}</b></p>"
            "<table><thead><tr><th>id</th><th>action</th><th>field</th><th>before</th>"
            f"<th>after</th></tr></thead><tbody>{rows}</tbody></table>{more}"
            f"{'<p>Skipped:</p><ul>' + skipped + '</ul>' if skipped else ''}</div>"
        )

    # -- saving ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "version": PLAN_VERSION,
            "kind": self.kind,
            "business_id": self.business_id,
            "created_at": self.created_at,
            "source_journal": self.source_journal,
            "changes": [asdict(c) for c in self.changes],
            "skipped": self.skipped,
        }

    def save(self, path: str | Path) -> Path:
        """Write the plan as JSON (mode 0600: it holds account data)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(self.to_dict(), f, indent=1, ensure_ascii=False)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> UpdatePlan:
        """Read a saved plan, checking every part of it.

        Raises:
            PlanError: the file is missing, not a plan, or was edited into an invalid state.
        """
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise PlanError(f"no plan file at {path}") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise PlanError(f"{path} is not a plan file (not JSON: {exc})") from None
        return cls.from_dict(data, where=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "plan") -> UpdatePlan:
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise PlanError(f"{where} is not an fbtime plan (no 'format': '{PLAN_FORMAT}')")
        if data.get("version") != PLAN_VERSION:
            raise PlanError(
                f"{where} has plan version {data.get('version')!r}; "
                f"this fbtime reads version {PLAN_VERSION}"
            )
        business_id = data.get("business_id")
        if business_id is not None and (not isinstance(business_id, int) or business_id <= 0):
            raise PlanError(f"{where}: business_id must be a positive integer")
        try:
            dt.datetime.fromisoformat(str(data.get("created_at")))
        except ValueError:
            raise PlanError(
                f"{where}: created_at {data.get('created_at')!r} is not a time"
            ) from None
        changes = [_change(item, i, where) for i, item in enumerate(data.get("changes") or [])]
        ids = [c.id for c in changes]
        if len(set(ids)) != len(ids):
            raise PlanError(f"{where}: an entry appears more than once in changes")
        skipped = data.get("skipped") or []
        if not isinstance(skipped, list):
            raise PlanError(f"{where}: skipped must be a list")
        return cls(
            str(data.get("kind") or "plan"),
            business_id,
            changes,
            skipped,
            str(data["created_at"]),
            data.get("source_journal"),
        )

    def age(self) -> dt.timedelta:
        return dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(self.created_at)

    def apply(self, client: Client | None = None, **kwargs: Any) -> ApplyResult:
        """Apply the plan; see :func:`fbtime.bulk.apply.apply_plan` for the options."""
        from fbtime.bulk.apply import apply_plan

        return apply_plan(self, client, **kwargs)

    def review(self, client: Client | None = None, **kwargs: Any) -> Any:
        """An ipywidgets panel to untick rows, see totals and apply (in a notebook)."""
        from fbtime.widgets import PlanReview

        return PlanReview(self, client=client, **kwargs)


def _change(item: Any, index: int, where: str) -> Change:
    row = f"{where}: change #{index + 1}"
    if not isinstance(item, dict):
        raise PlanError(f"{row} is not an object")
    entry_id = item.get("id")
    if not isinstance(entry_id, int) or isinstance(entry_id, bool) or entry_id <= 0:
        raise PlanError(f"{row}: id must be a positive integer, got {entry_id!r}")
    action = item.get("action")
    if action not in ("update", "delete", "create"):
        raise PlanError(f"{row} (entry {entry_id}): action must be update, delete or create")
    before, after = item.get("before"), item.get("after")
    if not isinstance(before, dict) or not isinstance(after, dict):
        raise PlanError(f"{row} (entry {entry_id}): before and after must be objects")
    try:
        check_fields({k: v for k, v in after.items()})
        check_fields({k: v for k, v in before.items()})
    except QueryError as exc:
        raise PlanError(f"{row} (entry {entry_id}): {exc}") from None
    if action == "update" and not after:
        raise PlanError(f"{row} (entry {entry_id}): an update must change at least one field")
    return Change(entry_id, action, before, after, item.get("hours"), item.get("client_id"))
