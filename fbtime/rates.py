"""Rates and amounts: what each time entry is worth, following its project's billing method.

FreshBooks returns no rate or amount for time (facts sheet ``freshbooks-rates.md``), so
fbtime computes an **estimate** and labels every amount with where its rate came from
(``rate_source``), so an auditor can tell a configured rate from a fallback or a gap.

Which rate an entry gets (the decisions table of the facts sheet):

* a ``fixed_price`` project: no per-entry rate or amount (``rate_source="fixed_price"``);
  its value is project-level, ``fixed_price - billed_amount`` (:func:`budget`). Its
  ``billing_method`` is not trusted (a capture shows an inconsistent one);
* an hourly project picks one source by ``billing_method``: ``project_rate`` ->
  ``project.rate``; ``team_member_rate`` -> the teammate's business-wide rate;
  ``service_rate`` -> the service's business-wide rate; ``business_rate`` -> the business
  standard rate, which the API does not expose, so the user supplies it;
* no project, or an hourly project with no billing method: the service's rate if it has
  one, else the standard rate if supplied;
* a project id the projects list does not have: ``missing`` (its billing is unknown);
* user overrides win over what the API gives, the most specific first: a teammate's or
  service's rate inside one project, then a project's rate (:func:`check_overrides`);
* a rate of 0.00 is a rate; a rate that cannot be found is ``missing`` with NA, never 0.

Amounts: ``rate x duration / 3600`` in exact integer cents, rounded **once per entry**,
half away from zero, the way an invoice line is rounded; every total is the exact sum of
those cents (:data:`fbtime.money.MONEY`), so totals never drift from the entries.

Currency: rates carry none; they are in the business's currency (read from its system
record), or in the ``currency`` the user gives when it cannot be read (it is then NA
unless given). A client whose ``currency_code`` differs is shown in ``client_currency``
and flagged by the ``foreign_currency`` audit rule; nothing is ever converted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from fbtime.config import id_problem, is_id
from fbtime.errors import QueryError, SchemaError
from fbtime.frame import projects_frame, rate_lookup
from fbtime.money import cents_of, check_currency, money_array, parse_rate, to_decimal

#: Every value of ``rate_source``, in this order (a pandas categorical).
RATE_SOURCES: tuple[str, ...] = (
    "project_rate",
    "team_member_rate",
    "service_rate",
    "standard_rate",
    "override",
    "fixed_price",
    "missing",
)
RATE_SOURCE_DTYPE = pd.CategoricalDtype(list(RATE_SOURCES))
#: Override kinds: the mapping keys :func:`check_overrides` accepts.
OVERRIDE_KINDS: tuple[str, ...] = ("project", "teammate", "service")
#: The longest duration an amount is computed for (~31 years): larger is corrupt data, and
#: ``rate x duration`` in cents must stay inside 64 bits.
MAX_DURATION = 10**9


@dataclass(frozen=True)
class Rates:
    """Everything an amount needs, as the API gives it; :func:`with_rates` takes it.

    Build it with :func:`fbtime.load_rates` (from the API) or :meth:`from_api` (from the
    API's dict shapes, e.g. a saved answer).

    Attributes:
        projects: :func:`fbtime.frame.projects_frame` of the projects list (billing
            fields included).
        team_member_rates: business-wide rate per ``identity_id`` (exact decimals).
        service_rates: business-wide rate per ``service_id``.
        client_currencies: ``currency_code`` per client ``id``.
        currency: the business's currency, None when it could not be read.
        standard_rate: the business standard rate; the API has none, so None unless given.
    """

    projects: pd.DataFrame
    team_member_rates: pd.Series
    service_rates: pd.Series
    client_currencies: pd.Series = field(
        default_factory=lambda: pd.Series([], dtype="str", index=pd.Index([], dtype="Int64"))
    )
    currency: str | None = None
    standard_rate: Decimal | None = None

    @classmethod
    def from_api(
        cls,
        *,
        projects: list[dict[str, Any]],
        team_member_rates: list[dict[str, Any]],
        service_rates: list[dict[str, Any]],
        clients: list[dict[str, Any]] | None = None,
        currency: str | None = None,
    ) -> Rates:
        """Rates from the endpoints' items (``projects``, ``team_member_rates``, ...).

        Raises:
            UnexpectedAnswerError: a rate, amount, field or currency of the wrong type.
        """
        codes: dict[int, str] = {}
        for c in clients or []:
            code = c.get("currency_code")
            if code is not None:
                codes[c["id"]] = check_currency(
                    code, f"client {c['id']!r}: currency_code", server=True
                )
        client_currencies = pd.Series(
            list(codes.values()),
            index=pd.Index(list(codes), dtype="Int64", name="id"),
            dtype="str",
            name="currency_code",
        )
        return cls(
            projects=projects_frame(projects),
            team_member_rates=rate_lookup(team_member_rates, "identity_id", "team-member rate"),
            service_rates=rate_lookup(service_rates, "service_id", "service rate"),
            client_currencies=client_currencies,
            currency=None if currency is None else check_currency(currency, server=True),
        )

    def __repr__(self) -> str:
        return (
            f"Rates({len(self.projects)} projects, {len(self.team_member_rates)} team-member "
            f"rates, {len(self.service_rates)} service rates, currency={self.currency!r})"
        )


# -- the user's inputs --------------------------------------------------------------------
Overrides = Mapping[str, Mapping[Any, Any]]


def _int_id(value: Any, what: str) -> int:
    if not is_id(value):
        raise QueryError(id_problem(what, value))
    return int(value)


def check_overrides(overrides: Overrides | None) -> dict[str, dict[Any, int]]:
    """Validate user overrides; return them as cents, keyed by kind.

    The mapping has up to three kinds, each a mapping of key -> rate:

    * ``"project"``: ``{project_id: rate}``: every entry of that hourly project;
    * ``"teammate"``: ``{(project_id, identity_id): rate}``: a teammate inside one project
      billed by ``team_member_rate`` (FreshBooks lets a member's rate differ per project,
      but the API does not expose it);
    * ``"service"``: ``{(project_id, service_id): rate}``: a service inside one project
      billed by ``service_rate`` (or with no billing method).

    A teammate or service override wins over a project one for the entries it covers.

    Raises:
        QueryError: an unknown kind, a key that is not an id (or id pair), or a bad rate.
    """
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise QueryError(
            "overrides must be a dict like {'project': {123: 95}, 'teammate': "
            f"{{(123, 456): 80}}}}, got {type(overrides).__name__}"
        )
    unknown = [k for k in overrides if k not in OVERRIDE_KINDS]
    if unknown:
        raise QueryError(
            f"unknown override kind(s) {', '.join(map(repr, unknown))}; "
            f"valid kinds: {', '.join(OVERRIDE_KINDS)}"
        )
    out: dict[str, dict[Any, int]] = {}
    for kind, table in overrides.items():
        if not isinstance(table, Mapping):
            raise QueryError(f"overrides[{kind!r}] must be a dict of key -> rate")
        checked: dict[Any, int] = {}
        for key, rate in table.items():
            if kind == "project":
                ids: Any = _int_id(key, f"overrides['project'] key {key!r}")
            else:
                if not isinstance(key, tuple) or len(key) != 2:
                    other = "identity_id" if kind == "teammate" else "service_id"
                    raise QueryError(
                        f"overrides[{kind!r}] keys are (project_id, {other}) pairs, got {key!r}"
                    )
                ids = tuple(_int_id(k, f"overrides[{kind!r}] key {key!r}") for k in key)
            checked[ids] = parse_rate(rate, f"overrides[{kind!r}][{key!r}]")
        out[kind] = checked
    return out


def _check_against(overrides: dict[str, dict[Any, int]], projects: pd.DataFrame) -> None:
    """Every override names a project it can apply to (else it would silently do nothing)."""
    allowed = {
        "project": ("project_rate", "team_member_rate", "service_rate", "business_rate", None),
        "teammate": ("team_member_rate",),
        "service": ("service_rate", None),
    }
    for kind, table in overrides.items():
        for key in table:
            pid = key if kind == "project" else key[0]
            if pid not in projects.index:
                raise QueryError(f"overrides[{kind!r}]: there is no project {pid} in the rates")
            ptype = projects.at[pid, "project_type"]
            raw = projects.at[pid, "billing_method"]
            method = raw if isinstance(raw, str) else None
            if ptype == "fixed_price":
                raise QueryError(
                    f"overrides[{kind!r}]: project {pid} is fixed-price; it is valued at "
                    "project level (fixed_price), not per hour"
                )
            if method not in allowed[kind]:
                raise QueryError(
                    f"overrides[{kind!r}]: project {pid} bills by {method or 'no method'}, so "
                    f"a {kind} rate would never apply; use overrides['project'] instead"
                )


@dataclass(frozen=True)
class RateInputs:
    """The user's part of a rate computation, validated (cents; upper-case currency)."""

    standard_rate: int | None
    overrides: dict[str, dict[Any, int]]
    currency: str | None


def check_inputs(
    standard_rate: Any = None, overrides: Overrides | None = None, currency: Any = None
) -> RateInputs:
    """Validate what the user supplies to :func:`with_rates`, before anything is loaded.

    Raises:
        QueryError: a negative or non-numeric rate, an unknown override kind or key, or a
            currency that is not three letters.
    """
    return RateInputs(
        standard_rate=None if standard_rate is None else parse_rate(standard_rate, "standard_rate"),
        overrides=check_overrides(overrides),
        currency=None if currency is None else check_currency(currency),
    )


# -- amounts -------------------------------------------------------------------------------
_FIXED, _PROJECT, _TEAM, _SERVICE, _BUSINESS, _FALLBACK, _UNKNOWN = range(7)
_METHODS = {"project_rate": _PROJECT, "team_member_rate": _TEAM, "service_rate": _SERVICE,
            "business_rate": _BUSINESS}  # fmt: skip
_SOURCE = {name: code for code, name in enumerate(RATE_SOURCES)}


def _project_codes(projects: pd.DataFrame) -> np.ndarray:
    """Per project: which rule picks its entries' rate."""
    codes = np.full(len(projects), _UNKNOWN, dtype="int8")
    ptype = projects["project_type"].astype(object).where(projects["project_type"].notna(), None)
    method = projects["billing_method"].astype(object)
    method = method.where(method.notna(), None)
    for i, (kind, how) in enumerate(zip(ptype, method, strict=True)):  # one per project
        if kind == "fixed_price":
            codes[i] = _FIXED
        elif kind == "hourly_rate":
            codes[i] = _FALLBACK if how is None else _METHODS.get(how, _UNKNOWN)
    return codes


def _lookup(index: pd.Index, keys: pd.Series) -> np.ndarray:
    """Positions of ``keys`` in ``index`` (-1: not there, or NA)."""
    if len(index) == 0:
        return np.full(len(keys), -1, dtype="int64")
    positions = index.get_indexer(pd.Index(keys.astype("Int64")))
    positions[keys.isna().to_numpy()] = -1
    return positions


def _take(cents: np.ndarray, valid: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, ...]:
    found = positions >= 0
    safe = np.where(found, positions, 0)
    if len(cents) == 0:
        return np.zeros(len(positions), dtype="int64"), np.zeros(len(positions), dtype=bool)
    return np.where(found, cents[safe], 0), found & valid[safe]


def _pairs(frame: pd.DataFrame, table: dict[Any, int], second: str) -> tuple[np.ndarray, ...]:
    keys = pd.MultiIndex.from_tuples(list(table), names=["project_id", second])
    target = pd.MultiIndex.from_arrays([frame["project_id"], frame[second]])
    positions = keys.get_indexer(target)
    values = np.array(list(table.values()), dtype="int64")
    return _take(values, np.ones(len(values), dtype=bool), positions)


def amounts_in_cents(rate: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """``rate`` (cents per hour) x ``seconds`` / 3600, rounded half away from zero, exactly."""
    product = rate * seconds
    magnitude = (np.abs(product) * 2 + 3600) // 7200
    return np.sign(product) * magnitude


def with_rates(
    frame: pd.DataFrame,
    rates: Rates | Callable[[], Rates],
    *,
    standard_rate: Any = None,
    overrides: Overrides | None = None,
    currency: Any = None,
) -> pd.DataFrame:
    """Return a copy with ``rate``, ``rate_source``, ``amount``, ``currency``, ``client_currency``.

    See the module docstring for which rate an entry gets. ``amount`` is the entry's time
    at its rate, whatever its ``billable`` flag (reports split billable, unbilled and
    billed); NA for a running timer, a fixed-price project or a missing rate.

    Args:
        frame: a time-entry frame; it is not modified.
        rates: :class:`Rates` (``fbtime.load_rates(client)``), or a callable returning it,
            called only after the other arguments are checked.
        standard_rate: the business standard rate (``business_rate`` projects, fallbacks);
            the API does not expose it.
        overrides: per-project rates the API does not expose (:func:`check_overrides`).
        currency: the currency of the amounts when the business's cannot be read (it wins
            over the business's when both are there).

    Returns:
        The frame plus ``rate`` and ``amount`` (:data:`fbtime.money.MONEY`), ``rate_source``
        (categorical of :data:`RATE_SOURCES`), ``currency`` and ``client_currency`` (``str``).

    Raises:
        QueryError: a bad rate, override or currency (before ``rates`` is called), or an
            override for a project it cannot apply to.
        SchemaError: a duration too large to be real.

    Example:
        >>> rates = fbtime.load_rates(client)
        >>> rated = df.fbtime.with_rates(rates, standard_rate="100.00")
        >>> pd.DataFrame(rated.fbtime.by_client())[["billable_amount", "unbilled_amount"]].head(3)
                   billable_amount  unbilled_amount
        client_id
        78930             19103.53         12768.52
        78745             12502.60         10062.98
        78995              3650.06          2340.81
    """
    inputs = check_inputs(standard_rate, overrides, currency)
    if callable(rates) and not isinstance(rates, Rates):
        rates = rates()
    if not isinstance(rates, Rates):
        raise QueryError(f"rates must be fbtime.load_rates(client), got {type(rates).__name__}")
    _check_against(inputs.overrides, rates.projects)
    standard = inputs.standard_rate
    if standard is None and rates.standard_rate is not None:
        standard = parse_rate(rates.standard_rate, "Rates.standard_rate")
    n = len(frame)
    projects = rates.projects
    where = _lookup(projects.index, frame["project_id"])
    codes = _project_codes(projects)
    no_project = np.where(frame["project_id"].isna().to_numpy(), _FALLBACK, _UNKNOWN)
    by_project = codes[np.maximum(where, 0)] if len(codes) else _UNKNOWN
    code = np.where(where >= 0, by_project, no_project)
    own = _take(*cents_of(projects["rate"]), where)
    team = _take(
        *cents_of(rates.team_member_rates),
        _lookup(rates.team_member_rates.index, frame["identity_id"]),
    )
    service = _take(
        *cents_of(rates.service_rates), _lookup(rates.service_rates.index, frame["service_id"])
    )
    rate = np.zeros(n, dtype="int64")
    valid = np.zeros(n, dtype=bool)
    source = np.full(n, _SOURCE["missing"], dtype="int8")

    def pick(mask: np.ndarray, values: np.ndarray, ok: np.ndarray, name: str) -> None:
        hit = mask & ok
        rate[hit], valid[hit], source[hit] = values[hit], True, _SOURCE[name]

    pick(code == _PROJECT, own[0], own[1], "project_rate")
    pick(code == _TEAM, team[0], team[1], "team_member_rate")
    pick(code == _SERVICE, service[0], service[1], "service_rate")
    fallback = code == _FALLBACK
    pick(fallback, service[0], service[1], "service_rate")
    if standard is not None:
        ones = np.ones(n, dtype=bool)
        flat = np.full(n, standard, dtype="int64")
        pick(code == _BUSINESS, flat, ones, "standard_rate")
        pick(fallback & ~service[1], flat, ones, "standard_rate")
    source[code == _FIXED] = _SOURCE["fixed_price"]
    hourly = (code != _FIXED) & (code != _UNKNOWN)
    table = inputs.overrides
    if table.get("project"):
        keys = pd.Index(list(table["project"]), dtype="Int64")
        values = np.array(list(table["project"].values()), dtype="int64")
        found = _take(values, np.ones(len(values), dtype=bool), _lookup(keys, frame["project_id"]))
        pick(hourly, found[0], found[1], "override")
    for kind, second in (("teammate", "identity_id"), ("service", "service_id")):
        if table.get(kind):
            found = _pairs(frame, table[kind], second)
            pick(hourly, found[0], found[1], "override")
    seconds_na = frame["duration"].isna().to_numpy()
    seconds = frame["duration"].to_numpy(dtype="int64", na_value=0)
    too_long = np.abs(seconds) > MAX_DURATION
    if too_long.any():
        bad = frame.index[too_long][0]
        raise SchemaError(
            f"entry {bad} has a duration of {seconds[too_long][0]} s, more than any real "
            "work; fix or drop it before computing amounts"
        )
    has_amount = valid & ~seconds_na
    cents = np.where(has_amount, amounts_in_cents(rate, seconds), 0)
    out = frame.copy()
    out["rate"] = money_array(rate, valid)
    out["rate_source"] = pd.Categorical.from_codes(source, dtype=RATE_SOURCE_DTYPE)
    out["amount"] = money_array(cents, has_amount)
    business = inputs.currency or rates.currency
    out["currency"] = pd.Series(business, index=frame.index, dtype="str")
    out["client_currency"] = frame["client_id"].map(rates.client_currencies).astype("str")
    return out


# -- project level -------------------------------------------------------------------------
BUDGET_COLUMNS: tuple[str, ...] = (
    "project_name", "client_id", "project_type", "billing_method", "budget_hours",
    "logged_hours", "hours", "budget_used", "over_budget", "fixed_price", "billed_amount",
    "unbilled_fixed_price", "billed_status",
)  # fmt: skip


def budget(frame: pd.DataFrame | None, rates: Rates) -> pd.DataFrame:
    """Projects with a time budget or a fixed price: time against budget, value against billed.

    * ``budget_hours``: the project's ``budget`` (seconds in the API) in hours;
    * ``logged_hours``: the server's ``logged_duration`` (all of the project's logged time,
      :func:`fbtime.load_rates` asks for it), else the hours of ``frame``;
    * ``hours``: the project's hours in ``frame`` (logged, active entries), 0 without one;
    * ``budget_used``: ``logged_hours / budget_hours``; ``over_budget`` when above 1;
    * ``fixed_price``, ``billed_amount`` and ``unbilled_fixed_price`` (``fixed_price -
      billed_amount``, never below 0): where fixed-price value is reported, since its
      entries carry no amount.

    Returns:
        A frame indexed by project ``id`` with :data:`BUDGET_COLUMNS`, over-budget
        projects first, then by ``budget_used``.
    """
    projects = rates.projects
    keep = projects["budget"].notna() | (projects["project_type"] == "fixed_price").fillna(False)
    chosen = projects.loc[keep.to_numpy(dtype=bool)]
    hours = pd.Series(0.0, index=chosen.index)
    if frame is not None and len(frame):
        live = frame["active"].fillna(True) & frame["is_logged"].fillna(False)
        rows = frame.loc[live.to_numpy(dtype=bool) & frame["duration"].notna().to_numpy()]
        per = rows.groupby("project_id")["duration"].sum().astype("float64") / 3600
        hours = per.reindex(chosen.index, fill_value=0.0).astype("float64")
    budget_hours = chosen["budget"].astype("Float64") / 3600
    server = chosen["logged_duration"].astype("Float64") / 3600
    logged = server.fillna(pd.Series(hours.to_numpy(), index=chosen.index, dtype="Float64"))
    used = logged / budget_hours.where(budget_hours > 0)
    fixed_c, fixed_ok = cents_of(chosen["fixed_price"])
    billed_c, billed_ok = cents_of(chosen["billed_amount"])
    rest = np.maximum(fixed_c - np.where(billed_ok, billed_c, 0), 0)
    out = pd.DataFrame(
        {
            "project_name": chosen["name"],
            "client_id": chosen["client_id"],
            "project_type": chosen["project_type"],
            "billing_method": chosen["billing_method"],
            "budget_hours": budget_hours.astype("Float64"),
            "logged_hours": logged.astype("Float64"),
            "hours": pd.array(hours.to_numpy(), dtype="Float64"),
            "budget_used": used.astype("Float64"),
            "over_budget": (used > 1).astype("boolean"),
            "fixed_price": chosen["fixed_price"],
            "billed_amount": chosen["billed_amount"],
            "unbilled_fixed_price": money_array(rest, fixed_ok),
            "billed_status": chosen["billed_status"],
        },
        index=chosen.index,
    )
    order = out["over_budget"].fillna(False).astype(bool)
    out = out.assign(_over=order, _used=out["budget_used"].fillna(-1.0))
    out = out.sort_values(["_over", "_used"], ascending=False, kind="stable")
    return out.drop(columns=["_over", "_used"])


def fixed_price_unbilled(rates: Rates) -> Decimal:
    """The fixed-price value not billed yet, over every fixed-price project (exact)."""
    table = budget(None, rates)
    cents, valid = cents_of(table["unbilled_fixed_price"])
    return to_decimal(sum(map(int, cents[valid]))) or Decimal("0.00")  # Python ints: no overflow
