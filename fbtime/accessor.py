"""``df.fbtime``: the time-entry accessor, registered when this module is imported.

The accessor checks the frame once, when ``df.fbtime`` is first used, and raises
``AttributeError`` (as pandas expects of accessors) for a frame it cannot serve. Its
methods are thin: each delegates to a function in :mod:`fbtime.analysis`,
:mod:`fbtime.audit`, :mod:`fbtime.plots` or :mod:`fbtime.export` that takes the frame.
No method modifies the caller's frame; each returns a new object (or writes a file).

Example:
    >>> import fbtime  # registers df.fbtime
    >>> df.fbtime.unbilled().fbtime.by_client()[["entries", "hours"]].head(3)
              entries   hours
    client_id
    78930         106  149.20
    78745          52   90.04
    78995          47   61.34
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from fbtime import analysis, display, export, rounding
from fbtime import audit as audit_rules
from fbtime import rates as rate_rules
from fbtime.analysis import Freq, Group, NameSource, Totals
from fbtime.audit import Summary
from fbtime.bulk import builders, invoice_plan
from fbtime.bulk.invoice_plan import InvoicePlan
from fbtime.bulk.plan import UpdatePlan
from fbtime.errors import QueryError
from fbtime.rates import Overrides, Rates
from fbtime.schema import check_frame

if TYPE_CHECKING:
    from pathlib import Path

    from matplotlib.axes import Axes

    from fbtime.widgets import Explorer


#: ``df.fbtime.plot(kind)``: the charts there are, the default first.
PLOT_KINDS = ("weekly_hours", "hours_by_client", "weekday_heatmap", "unbilled_aging")
#: What ``repr(df.fbtime)`` lists, by what a user wants to do.
METHODS: tuple[tuple[str, str], ...] = (
    ("select", "unbilled() billed() billable() internal() running() between() for_client() "
               "for_project() for_teammate()"),
    ("add", "with_names() with_rates() round_time()"),
    ("summarise", "by_client() by_project() by_teammate() by_service() by_period() aging() "
                  "utilization() timers() totals() summary()"),
    ("check", "audit() budget()"),
    ("chart", "plot() plot.weekly_hours() plot.hours_by_client() plot.weekday_heatmap() "
              "plot.unbilled_aging()"),
    ("explore", "explore()"),
    ("files", "to_csv() to_excel()"),
    ("change", "invoice() mark_billed() mark_unbilled() update() delete()  (plans: nothing "
               "is sent until plan.apply)"),
)  # fmt: skip


class PlotMethods:
    """``df.fbtime.plot()`` (hours per week) or ``df.fbtime.plot.<kind>(ax=None, ...)``.

    Like ``df.plot()``, calling it draws a default chart and ``kind=`` picks another;
    every chart returns its matplotlib Axes.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    def __call__(self, kind: str = PLOT_KINDS[0], ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Draw ``kind`` (default: hours per local week, stacked by the top clients).

        Raises:
            QueryError: ``kind`` is not one of :data:`PLOT_KINDS`.

        Example:
            >>> df.fbtime.plot().get_title()
            'Hours per week by client'
            >>> df.fbtime.plot("unbilled_aging").get_title()
            'Unbilled billable hours by age'
        """
        if kind not in PLOT_KINDS:
            raise QueryError(f"kind must be one of {', '.join(PLOT_KINDS)}, got {kind!r}")
        return getattr(self, kind)(ax=ax, **kwargs)

    def __repr__(self) -> str:
        return f"df.fbtime.plot(kind=...) kinds: {', '.join(PLOT_KINDS)} (the first by default)"

    def hours_by_client(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Stacked bars of billed / unbilled / non-billable hours per client.

        Returns the Axes; the caller's frame is not modified.
        """
        from fbtime import plots  # lazy: matplotlib loads on the first chart, not on import

        return plots.hours_by_client(self._frame, ax=ax, **kwargs)

    def weekly_hours(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Hours per local week, stacked by the top clients plus "other".

        Returns the Axes; the caller's frame is not modified.
        """
        from fbtime import plots  # lazy: matplotlib loads on the first chart, not on import

        return plots.weekly_hours(self._frame, ax=ax, **kwargs)

    def weekday_heatmap(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Teammate x weekday heatmap of hours, with a colorbar.

        Returns the Axes; the caller's frame is not modified.
        """
        from fbtime import plots  # lazy: matplotlib loads on the first chart, not on import

        return plots.weekday_heatmap(self._frame, ax=ax, **kwargs)

    def unbilled_aging(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Unbilled billable hours (``values="amount"``: money) by age bucket.

        Buckets: 0-30, 31-60, 61-90, 90+ days, and "future" when entries start after ``now``.

        Returns the Axes; the caller's frame is not modified.
        """
        from fbtime import plots  # lazy: matplotlib loads on the first chart, not on import

        return plots.unbilled_aging(self._frame, ax=ax, **kwargs)


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _describe(frame: pd.DataFrame) -> list[str]:
    """Two lines on what the frame holds, in the business's zone."""
    info = frame.attrs.get("fbtime")
    business = info.get("business_id") if isinstance(info, dict) else None
    tz = analysis.resolve_tz(frame)
    days = analysis.local_day(frame, tz).dropna()
    span = f"{days.min():%Y-%m-%d} to {days.max():%Y-%m-%d} ({tz})" if len(days) else "no dates"
    owner = f"business {int(business)}" if type(business) is int else "business unknown"
    first = f"df.fbtime: {len(frame):,} time entries of {owner}, {span}"
    t = analysis.totals(frame)
    second = f"  {t.entries:,} counted: {display.hours(t.hours)} h, "
    second += f"{display.hours(t.unbilled_hours)} h unbilled"
    if t.unbilled_amount is not None:
        second += f" ({display.money(t.unbilled_amount, t.currency)})"
    people, clients = frame["identity_id"].nunique(), frame["client_id"].nunique()
    second += f"; {_count(people, 'teammate')}, {_count(clients, 'client')}"
    return [first, second]


@pd.api.extensions.register_dataframe_accessor("fbtime")
class TimeEntriesAccessor:
    """Analysis of a FreshBooks time-entry frame; no method modifies the frame.

    Raises:
        AttributeError: the frame lacks required columns, has wrong dtypes or is not a
            time-entry frame at all (the message says which and how to fix it).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        check_frame(frame)
        self._frame = frame

    def __repr__(self) -> str:
        """What the frame holds (entries, dates, business, hours) and the main methods."""
        return "\n".join([*_describe(self._frame), *(f"  {k:<10}{v}" for k, v in METHODS)])

    def _report(self, table: pd.DataFrame) -> display.Report:
        """``table`` shown rounded, its amounts' currency and foreign clients named."""
        frame = self._frame
        if not analysis.has_amounts(frame):
            return display.report(table)
        currency = analysis.amounts_currency(frame)
        return display.report(table, currency=currency, foreign=audit_rules.foreign_clients(frame))

    # selections --------------------------------------------------------------------------
    def unbilled(self) -> pd.DataFrame:
        """Logged, active, billable, not billed entries: what can go on the next invoice.

        Returns a new frame; the caller's frame is not modified.
        """
        return analysis.select(self._frame, analysis.unbilled_mask(self._frame))

    def billed(self) -> pd.DataFrame:
        """Active entries already billed. The caller's frame is not modified."""
        frame = self._frame
        return analysis.select(frame, analysis.active_mask(frame) & analysis.flag(frame, "billed"))

    def billable(self) -> pd.DataFrame:
        """Active billable entries. The caller's frame is not modified."""
        frame = self._frame
        mask = analysis.active_mask(frame) & analysis.flag(frame, "billable")
        return analysis.select(frame, mask)

    def internal(self) -> pd.DataFrame:
        """Active internal entries. The caller's frame is not modified."""
        frame = self._frame
        mask = analysis.active_mask(frame) & analysis.flag(frame, "internal")
        return analysis.select(frame, mask)

    def running(self) -> pd.DataFrame:
        """Open (active) timers, whose time is not logged yet.

        The caller's frame is not modified.
        """
        frame = self._frame
        return analysis.select(frame, analysis.active_mask(frame) & analysis.running_mask(frame))

    def between(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Entries with ``start <= started_at < end`` (str/date/datetime/Timestamp).

        Naive bounds are UTC; None leaves that side open. Deleted rows are kept (filter
        with other selections). Returns a new frame; the caller's frame is not modified.

        Example:
            >>> len(df.fbtime.between("2026-11-02", "2026-11-09"))  # one week
            117
        """
        return analysis.between(self._frame, start, end)

    def for_client(self, *ids_or_names: Any) -> pd.DataFrame:
        """Entries of these client ids (or names, after ``with_names``; None = no client).

        Returns a new frame; the caller's frame is not modified.
        """
        return analysis.for_group(self._frame, "client", ids_or_names)

    def for_project(self, *ids_or_names: Any) -> pd.DataFrame:
        """Entries of these project ids or names. The caller's frame is not modified."""
        return analysis.for_group(self._frame, "project", ids_or_names)

    def for_teammate(self, *ids_or_names: Any) -> pd.DataFrame:
        """Entries of these identity ids or teammate names. The caller's frame is not modified."""
        return analysis.for_group(self._frame, "teammate", ids_or_names)

    # names -------------------------------------------------------------------------------
    def with_names(
        self,
        clients: NameSource = None,
        projects: NameSource = None,
        services: NameSource = None,
        teammates: NameSource = None,
        team: NameSource = None,
    ) -> pd.DataFrame:
        """Return a copy with ``client_name``/``project_name``/... columns added.

        Each source maps id -> name: a dict, a Series, a frame with ``id`` (column or
        index) and ``name``/``organization``/``title``, or a callable returning one (e.g.
        ``fbtime.load_clients``). None skips that column. ``team=fbtime.load_team(client)``
        fills ``teammate_name``, with ``Unknown (<id>)`` for an id no team list names.
        The caller's frame is not modified.

        Example:
            >>> named = df.fbtime.with_names(
            ...     clients=fbtime.load_clients(client), team=fbtime.load_team(client)
            ... )
            >>> named[["client_name", "teammate_name"]].head(3)
                         client_name    teammate_name
            id
            5479          株式会社山田デザイン      Liam Gagnon
            5478  Greenleaf Organics  Olivia Tremblay
            5499  Blue Harbor Dental      Hiro Tanaka
        """
        return analysis.with_names(
            self._frame, clients=clients, projects=projects, services=services,
            teammates=teammates, team=team,
        )  # fmt: skip

    def with_rates(
        self,
        rates: Rates | Any,
        *,
        standard_rate: Any = None,
        overrides: Overrides | None = None,
        currency: str | None = None,
    ) -> pd.DataFrame:
        """Return a copy with ``rate``, ``rate_source``, ``amount``, ``currency`` (and
        ``client_currency``), following each project's billing method.

        ``rates`` is ``fbtime.load_rates(client)`` (or a callable returning it). The user
        supplies what the API cannot: ``standard_rate``, ``overrides`` (``{"project":
        {pid: rate}, "teammate": {(pid, identity_id): rate}, "service": {(pid, sid):
        rate}}``) and ``currency``. Amounts are exact decimals; see :mod:`fbtime.rates`.
        The caller's frame is not modified.

        Example:
            >>> rated = df.fbtime.with_rates(fbtime.load_rates(client), standard_rate=100)
            >>> rated[["rate", "rate_source", "amount"]].head(3)
                    rate    rate_source  amount
            id
            5479    <NA>    fixed_price    <NA>
            5478  120.00   service_rate  120.00
            5499  100.00  standard_rate   18.11
        """
        return rate_rules.with_rates(
            self._frame, rates, standard_rate=standard_rate, overrides=overrides,
            currency=currency,
        )  # fmt: skip

    def round_time(self, step: Any = "15min", how: rounding.How = "nearest") -> pd.DataFrame:
        """Return a copy with ``duration`` and ``hours`` rounded per entry (``how``: ``"up"``,
        ``"down"`` or ``"nearest"``, a half step up); the logged seconds stay in
        ``logged_duration``.

        ``with_rates``, the summaries and the audit's report then use the rounded time;
        plans still compare against the logged time. See :func:`fbtime.rounding.round_time`.
        The caller's frame is not modified.

        Example:
            >>> rounded = df.fbtime.round_time("6min", how="up")
            >>> round(rounded["hours"].sum() - df["hours"].sum(), 2)  # what rounding adds
            np.float64(11.31)
        """
        return rounding.round_time(self._frame, step, how)

    # summaries ---------------------------------------------------------------------------
    def by_client(self) -> display.Report:
        """Hours per client (index ``client_id``; NA row = no client); see SUMMARY_COLUMNS.

        Counts logged, active entries only (running timers and deleted rows are left
        out). Returns a new frame; the caller's frame is not modified.
        """
        return self._report(analysis.summarize_by(self._frame, "client"))

    def by_project(self) -> display.Report:
        """Hours per project, like :meth:`by_client`. The caller's frame is not modified."""
        return self._report(analysis.summarize_by(self._frame, "project"))

    def by_teammate(self) -> display.Report:
        """Hours per teammate (``identity_id``), like :meth:`by_client`.

        The caller's frame is not modified.
        """
        return self._report(analysis.summarize_by(self._frame, "teammate"))

    def by_service(self) -> display.Report:
        """Hours per service, like :meth:`by_client`. The caller's frame is not modified."""
        return self._report(analysis.summarize_by(self._frame, "service"))

    def by_period(
        self,
        freq: Freq = "W",
        by: Group | None = None,
        tz: str | None = None,
        values: str = "hours",
        *,
        week_start: str | None = None,
    ) -> display.Report:
        """Hours (and money) per local day/week/month, optionally per group.

        Buckets use ``tz`` (default: the data's most common ``local_timezone``, else UTC)
        so an evening's work lands on the local day. Weeks start on the business's day
        (``business.first_day_of_week``, recorded by the load; Monday when unknown) unless
        ``week_start="monday"|"sunday"`` says otherwise; ``attrs["week_start"]`` names it.
        With ``by``, ``values`` picks what the cells hold (``"unbilled_amount"``...). The
        caller's frame is not modified.

        Example:
            >>> weeks = df.fbtime.by_period("W", by="client")  # hours per week and client
            >>> weeks.attrs["week_start"]  # the business says Monday (users/me)
            'monday'
            >>> weeks.iloc[1:4, :3]
                        78745  78838  78930
            period
            2026-11-02  21.58  22.01  47.72
            2026-11-09  17.57  13.89  49.40
            2026-11-16  23.45  12.24  60.16
        """
        return self._report(
            analysis.by_period(self._frame, freq, by, tz, values, week_start=week_start)
        )

    def aging(
        self, now: Any = None, *, by: Group | None = None, values: str = "unbilled_hours"
    ) -> display.Report:
        """Unbilled billable time by age (future, 0-30, 31-60, 61-90, 90+ days).

        With ``by="client"`` one row per client (no-client included) and a ``total``;
        ``values="unbilled_amount"`` for money. Adds up to ``totals().unbilled_hours``.
        The caller's frame is not modified.

        Example:
            >>> rated = df.fbtime.with_rates(fbtime.load_rates(client), standard_rate=100)
            >>> rated.fbtime.aging("2026-12-01", values="unbilled_amount")
            ... # doctest: +NORMALIZE_WHITESPACE
            amounts in CAD
            client 78995 is billed in USD: its amounts are in CAD at the business's rates,
            not converted (FreshBooks gives rates without a currency)
                   entries unbilled_hours unbilled_amount (CAD)
            age
            future       2           2.00                120.00
            0–30       318         446.06             30,195.36
            31–60        2           5.45                275.00
            61–90        0           0.00                  0.00
            90+          0           0.00                  0.00
        """
        return self._report(analysis.aging(self._frame, now, by=by, values=values))

    def budget(self, rates: Rates) -> display.Report:
        """Projects' logged hours against their time budget, and fixed price against billed.

        ``rates`` is ``fbtime.load_rates(client)``; see :func:`fbtime.rates.budget`.
        The caller's frame is not modified.
        """
        return self._report(rate_rules.budget(self._frame, rates))

    def totals(self) -> Totals:
        """Totals cross-checked against the server's totals recorded at load time.

        ``agrees`` is None when the frame carries no server totals. The caller's frame is
        not modified.
        """
        return analysis.totals(self._frame)

    def utilization(
        self,
        target_hours_per_week: float = 40,
        tz: str | None = None,
        *,
        week_start: str | None = None,
    ) -> display.Report:
        """Per teammate and week: hours, billable hours and billable_hours / target.

        Weeks start as in :meth:`by_period`. The caller's frame is not modified.
        """
        return self._report(
            analysis.utilization(self._frame, target_hours_per_week, tz, week_start=week_start)
        )

    def timers(self, now: Any = None) -> pd.DataFrame:
        """Timers not logged yet, one row per timer (running or paused), with their hours.

        FreshBooks keeps a timer as unlogged segments sharing a ``timer_id``; they are in
        the frame when it was loaded with ``include_unlogged=True``. See
        :func:`fbtime.analysis.timers`. The caller's frame is not modified.
        """
        return analysis.timers(self._frame, now)

    # audit and reports -------------------------------------------------------------------
    def audit(
        self,
        rules: list[str] | str | None = None,
        *,
        now: Any = None,
        unbilled_days: int = audit_rules.DEFAULT_UNBILLED_DAYS,
        max_hours: float = audit_rules.DEFAULT_MAX_HOURS,
        tz: str | None = None,
        rates: Rates | None = None,
        expected_hours_per_day: audit_rules.ExpectedHours = audit_rules.DEFAULT_EXPECTED_HOURS,
        team: Any = None,
        week_start: str | None = None,
    ) -> display.Report:
        """One row per finding (rule, id, teammate, client, detail, severity), errors first.

        See :data:`fbtime.audit.RULES` for the rules; ``severity`` is ordered (info <
        warning < error). Money rules need ``with_rates``; ``over_budget`` needs ``rates``;
        ``under_logged`` runs when named (``expected_hours_per_day``, ``team=
        fbtime.load_team(client)``, ``week_start``; see :func:`fbtime.audit.audit`).
        The caller's frame is not modified.

        Example:
            >>> df.fbtime.audit(["overlap", "duplicate"])["rule"].value_counts()
            rule
            overlap      8
            duplicate    4
            Name: count, dtype: int64
        """
        return self._report(audit_rules.audit(
            self._frame, rules, now=now, unbilled_days=unbilled_days, max_hours=max_hours,
            tz=tz, rates=rates, expected_hours_per_day=expected_hours_per_day, team=team,
            week_start=week_start,
        ))  # fmt: skip

    def summary(self, *, now: Any = None, rates: Rates | None = None) -> Summary:
        """Totals (money too, after ``with_rates``), by client and audit counts.

        Renders in Jupyter and terminals, rounded. The caller's frame is not modified.
        """
        return audit_rules.summarize(self._frame, now=now, rates=rates)

    @property
    def plot(self) -> PlotMethods:
        """Charts: ``df.fbtime.plot.hours_by_client(ax=None)`` etc.; they return Axes.

        The caller's frame is not modified.
        """
        return PlotMethods(self._frame)

    # files for people (fbtime.export) ---------------------------------------------------
    def to_csv(self, path: str | Path, *, raw: bool = False, **pandas_kwargs: Any) -> Path:
        """Write these entries as CSV with spreadsheet formulas neutralised (``raw=True``: exact).

        See :func:`fbtime.export.to_csv`. The caller's frame is not modified.

        Example:
            >>> df.fbtime.to_csv("entries.csv")
            PosixPath('entries.csv')
        """
        return export.to_csv(self._frame, path, raw=raw, **pandas_kwargs)

    def to_excel(
        self, path: str | Path, *, raw: bool = False, sheet_name: str = export.DEFAULT_SHEET
    ) -> Path:
        """Write these entries as .xlsx; strings stay string cells, never formulas.

        See :func:`fbtime.export.to_excel`. The caller's frame is not modified.
        """
        return export.to_excel(self._frame, path, raw=raw, sheet_name=sheet_name)

    def explore(self, **kwargs: Any) -> Explorer:
        """An ipywidgets panel to filter, group, chart and export these entries.

        ``kwargs`` go to :class:`fbtime.widgets.Explorer` (``debounce=``, ``export_dir=``,
        ``week_start=``).
        The caller's frame is not modified.

        Example:
            >>> panel = df.fbtime.with_names(clients=fbtime.load_clients(client)).fbtime.explore()
            >>> panel.status.value  # in a notebook, `panel` on the last line shows the panel
            '<b>490</b> entries, 681.69 h (453.51 h unbilled)'
        """
        from fbtime.widgets import Explorer  # lazy: ipywidgets loads only in a notebook

        return Explorer(self._frame, **kwargs)

    # bulk changes (plans are read-only; nothing is sent until plan.apply) ----------------
    def mark_billed(
        self, *, business_id: int | None = None, include_future: bool = False
    ) -> UpdatePlan:
        """Plan ``billed=True`` for the billable, logged, active, unbilled entries.

        Entries already billed, not billable, running or deleted are listed in
        ``plan.skipped`` with the reason, and so are entries dated after today (in the
        business's zone: a wrong date, usually) unless ``include_future=True``. Sends
        nothing; the caller's frame is not modified.

        Example:
            >>> plan = df.fbtime.for_client(79201).fbtime.unbilled().fbtime.mark_billed()
            >>> len(plan)  # nothing is sent until apply
            7
            >>> result = plan.apply(client, confirm=True)
            >>> result.counts["applied"]
            7
        """
        return builders.plan_mark_billed(
            self._frame, business_id=business_id, include_future=include_future
        )

    def invoice(self, rates: Rates, group_by: str = "project", **options: Any) -> InvoicePlan:
        """Plan one draft invoice per client from the billable, unbilled entries.

        Lines group the time by ``group_by`` (``project``, ``service``, ``teammate``,
        ``entry`` or ``client``), split by rate; amounts follow ``with_rates`` (pass
        ``standard_rate=``, ``overrides=``, ``currency=`` as there); ``qty_places``,
        ``lump``, ``create_date``, ``due_offset_days`` and ``notes`` are
        :func:`fbtime.bulk.invoice_plan.plan_invoices`'. Entries that cannot be billed are
        in ``plan.skipped`` with the reason. Sends nothing; the caller's frame is not modified.

        Example:
            >>> plan = df.fbtime.invoice(fbtime.load_rates(client), standard_rate=100)
            >>> plan.invoices[["lines", "entries", "amount"]].head(2)
                       lines  entries    amount
            client_id
            78745          3       41  10062.99
            78930          6       77  12768.49
        """
        return invoice_plan.plan_invoices(self._frame, rates, group_by=group_by, **options)

    def mark_unbilled(self, *, business_id: int | None = None) -> UpdatePlan:
        """Plan ``billed=False`` for billed entries.

        Sends nothing; the caller's frame is not modified.
        """
        return builders.plan_mark_unbilled(self._frame, business_id=business_id)

    def update(self, *, business_id: int | None = None, **fields: Any) -> UpdatePlan:
        """Plan setting ``fields`` (``note=``, ``project_id=``, ``client_id=``, ``billable=``...).

        Sends nothing; the caller's frame is not modified.
        """
        return builders.plan_update(self._frame, business_id=business_id, **fields)

    def delete(self, *, business_id: int | None = None) -> UpdatePlan:
        """Plan deleting these entries (undo re-creates them).

        Sends nothing; the caller's frame is not modified.
        """
        return builders.plan_delete(self._frame, business_id=business_id)
