"""The sandbox's reference endpoints: clients, projects, services, the team, rates, system.

Each answers in the shape FreshBooks' captures show (facts sheet ``freshbooks-rates.md``):

* ``team_members``: ``{"response": [...], "meta": {"page", "per_page", "total"}}`` (no
  ``pages``); ``team_member`` (by uuid): ``{"response": {...}}``.
* ``staff`` (``/auth/api/v1/users/business/{bid}``): the business record with its
  ``business_group.members``.
* ``team_member_rates`` / ``service_rates``: ``{"team_member_rates": [...]}`` /
  ``{"service_rates": [...]}``, no ``meta``; ``service_rate``: ``{"service_rate": {...}}``,
  404 when the service has no rate.
* ``projects``: ``{"projects": [...], "meta": {"sort": [...], ...}}`` (``sort`` echoed
  verbatim, as live), ``id`` descending, or ascending when a ``sort`` is sent (as the
  captures show, whatever it names); filters ``active``, ``complete``, ``updated_since``,
  ``include_logged_duration`` (fills ``logged_duration``: seconds of active logged
  entries, live from the store; null otherwise), ``skip_group`` (accepted, no effect).
  ``project`` (``/project/{id}``, also the plural ``/projects/{id}`` Postman uses):
  ``{"project": {...}, "abilities": [...]}``, the project with its ``group`` (members,
  pending invitations) instead of ``group_id``. A PUT there changes only the fields sent
  (:data:`PROJECT_WRITABLE`), as live.
* ``system`` (``/accounting/account/{aid}/systems/systems/{id}``):
  ``{"response": {"result": {"system": {...}}}}``. The placeholder is named businessId
  but the captured reply carries a system id, so both ids are accepted.

Every list takes ``page`` (0 means 1) and ``per_page`` (default 30, capped at 100) and
answers an empty list past the end; lists without ``meta`` end at a short page.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from fbtime.sandbox.data import Dataset
from fbtime.sandbox.reference import naive_now
from fbtime.sandbox.store import Store
from fbtime.sandbox.validate import (
    FieldError,
    parse_datetime,
    parse_filters,
    parse_int,
    parse_paging,
)

Response = tuple[int, Any]
#: Routes served here, by name: (path pattern, stats name).
PATTERNS = (
    (r"^/accounting/account/([^/]+)/users/clients/?$", "clients"),
    (r"^/accounting/account/([^/]+)/systems/systems/([^/]+)/?$", "system"),
    (r"^/projects/business/([^/]+)/projects/?$", "projects"),
    (r"^/projects/business/([^/]+)/projects?/([^/]+)/?$", "project"),
    (r"^/comments/business/([^/]+)/services/?$", "services"),
    (r"^/comments/business/([^/]+)/team_member_rates/?$", "team_member_rates"),
    (r"^/comments/business/([^/]+)/service_rates/?$", "service_rates"),
    (r"^/comments/business/([^/]+)/service/([^/]+)/rate/?$", "service_rate"),
    (r"^/auth/api/v1/businesses/([^/]+)/team_members/?$", "team_members"),
    (r"^/auth/api/v1/businesses/([^/]+)/team_members/([^/]+)/?$", "team_member"),
    (r"^/auth/api/v1/users/business/([^/]+)/?$", "staff"),
)
ACCOUNT_ROUTES = ("clients", "system")
NOT_FOUND = {"error": "Requested resource could not be found."}
#: Project fields a PUT may change, with the JSON types each takes (None: null allowed);
#: the rest is the server's.
PROJECT_WRITABLE: dict[str, tuple[type | None, ...]] = {
    "title": (str,), "description": (str, None), "due_date": (str, None),
    "client_id": (int, None), "internal": (bool,), "budget": (int, None),
    "fixed_price": (str, None), "rate": (str, None), "billing_method": (str, None),
    "project_type": (str,), "project_manager_id": (int, None), "active": (bool,),
    "complete": (bool,), "retainer_id": (int, None), "expense_markup": (str,),
    "service_estimate_type": (str, None),
}  # fmt: skip
#: What an owner may do with a project, as the live single-project answer lists it.
ABILITIES = (
    "can_edit", "can_archive", "can_generate_invoice", "can_delete", "can_invite_team_member",
    "can_manage_services", "can_view_team_time", "can_edit_hourly_budget", "can_edit_client",
    "can_edit_project_manager", "can_view_invoices_tab", "can_view_fixed_price",
    "can_edit_fixed_price", "can_edit_end_date", "can_edit_flat_rate", "can_edit_project_type",
    "can_edit_service_estimate_type", "can_edit_title", "can_view_review_tab",
    "can_view_discuss_tab", "can_track_time", "can_create_comment",
)  # fmt: skip


class Resources:
    """Answers for the reference routes of one business (its data never changes)."""

    def __init__(self, dataset: Dataset, store: Store) -> None:
        self.dataset, self.store = dataset, store
        self.projects = {p["id"]: p for p in dataset.projects}
        self.members = {m["uuid"]: m for m in dataset.team_members}
        self.service_rates = {r["service_id"]: r for r in dataset.service_rates}

    def owns(self, route: str, scope: str) -> bool:
        """True if the path's business (or account) id is this business's."""
        if route in ACCOUNT_ROUTES:
            return scope == self.dataset.business["account_id"]
        return scope == str(self.dataset.business["id"])

    def answer(
        self,
        route: str,
        ids: tuple[str, ...],
        query: dict[str, str],
        on_page: Callable[[int], None] | None = None,
    ) -> Response:
        """``(status, body)`` for a GET of ``route``; ``ids`` are the path's ids after the scope.

        Raises:
            FieldError: bad paging (400) or filter values (422).
        """
        if route in ("project", "service_rate", "team_member", "system"):
            found = getattr(self, f"_{route}")(ids[0], query)
            return (404, NOT_FOUND) if found is None else (200, found)
        paging = parse_paging(query)
        items = self._items(route, query)
        page, per_page = paging["page"], paging["per_page"]
        if on_page is not None:
            on_page(page)
        chunk = items[(page - 1) * per_page : page * per_page]
        if route == "projects":
            chunk = [self._with_logged(p, query) for p in chunk] if chunk else chunk
        total = len(items)
        meta = {"page": page, "pages": math.ceil(total / per_page), "per_page": per_page,
                "total": total}  # fmt: skip
        if route == "clients":
            return 200, {"response": {"result": {"clients": chunk, **meta}}}
        if route == "projects":
            sort = [query["sort"]] if "sort" in query else []
            return 200, {"projects": chunk, "meta": {"sort": sort, "total": total,
                         "per_page": per_page, "page": page, "pages": meta["pages"]}}  # fmt: skip
        if route == "team_members":
            return 200, {"response": chunk, "meta": {k: meta[k] for k in ("page", "per_page",
                                                                             "total")}}  # fmt: skip
        if route == "staff":
            return 200, {"response": self._business(chunk)}
        if route in ("team_member_rates", "service_rates"):
            return 200, {route: chunk}
        return 200, {route: chunk, "meta": meta}

    def _items(self, route: str, query: dict[str, str]) -> list[dict[str, Any]]:
        ds = self.dataset
        if route == "projects":
            return self._projects(query)
        return {
            "clients": ds.clients, "services": ds.services, "team_members": ds.team_members,
            "staff": ds.staff, "team_member_rates": ds.team_member_rates,
            "service_rates": ds.service_rates,
        }[route]  # fmt: skip

    def _projects(self, query: dict[str, str]) -> list[dict[str, Any]]:
        f = parse_filters(
            query, bools=("active", "complete", "include_logged_duration", "skip_group"),
            datetimes=("updated_since",),
        )  # fmt: skip
        out = []
        for p in self.dataset.projects:
            if any(name in f and p[name] != f[name] for name in ("active", "complete")):
                continue
            if "updated_since" in f and parse_datetime(p["updated_at"]) < f["updated_since"]:
                continue
            out.append(p)
        return sorted(out, key=lambda p: p["id"], reverse="sort" not in query)

    def _with_logged(self, project: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        wanted = parse_filters(query, bools=("include_logged_duration",))
        if not wanted.get("include_logged_duration"):
            return project
        logged = self.store.logged_by_project()  # cached per data version
        return {**project, "logged_duration": logged.get(project["id"], 0)}

    def _project(self, raw: str, query: dict[str, str]) -> dict[str, Any] | None:
        found = self.projects.get(_int(raw))
        return None if found is None else self._single(self._with_logged(found, query))

    def _single(self, project: dict[str, Any]) -> dict[str, Any]:
        """A single-project answer: ``group`` in place of ``group_id``, and ``abilities``."""
        owner, business = self.dataset.owner, self.dataset.business
        group = {"id": project["group_id"], "members": [{
            "id": project["group_id"] + 1, "identity_id": owner["id"], "role": "owner",
            "first_name": owner["first_name"], "last_name": owner["last_name"],
            "email": owner["email"], "company": business["name"], "active": True,
        }], "pending_invitations": []}  # fmt: skip
        shown = {k: v for k, v in project.items() if k != "group_id"}
        return {"project": {**shown, "group": group},
                "abilities": [{"name": name, "value": True} for name in ABILITIES]}  # fmt: skip

    def update_project(self, raw: str, body: dict[str, Any]) -> Response:
        """A partial PUT of one project: the writable fields sent change, nothing else.

        Raises:
            FieldError: a field has the wrong type (422).
        """
        project = self.projects.get(_int(raw))
        if project is None:
            return 404, NOT_FOUND
        errors, changes = {}, {}
        for name, kinds in PROJECT_WRITABLE.items():
            if name not in body:
                continue
            value = body[name]
            if (None if value is None else type(value)) not in kinds:  # bool is no int here
                errors[name] = "invalid value"
            changes[name] = value
        if errors:
            raise FieldError(errors)
        project.update(changes, updated_at=naive_now())
        return 200, self._single(project)

    def _service_rate(self, raw: str, query: dict[str, str]) -> dict[str, Any] | None:
        rate = self.service_rates.get(_int(raw))
        if rate is None:
            return None
        return {"service_rate": {k: rate[k] for k in ("rate", "business_id", "service_id")}}

    def _team_member(self, uuid: str, query: dict[str, str]) -> dict[str, Any] | None:
        member = self.members.get(uuid)
        return None if member is None else {"response": member}

    def _system(self, raw: str, query: dict[str, str]) -> dict[str, Any] | None:
        system = self.dataset.system
        if _int(raw) not in (system["id"], self.dataset.business["id"]):
            return None
        return {"response": {"result": {"system": system}}}

    def _business(self, members: list[dict[str, Any]]) -> dict[str, Any]:
        ds, business = self.dataset, self.dataset.business
        system = ds.system
        return {
            "id": business["id"], "business_uuid": business["business_uuid"],
            "name": business["name"], "account_id": business["account_id"],
            "business_group": {**ds.business_group, "members": members},
            "number_format": None, "date_format": business["date_format"],
            "first_day_of_week": business["first_day_of_week"], "active": business["active"],
            "timezone": business["timezone"], "status": "active",
            "advanced_accounting_enabled": False, "industry": None,
            "billing_country_code": "CAN", "business_type": None,
            "address": {"id": ds.business_group["id"] - 1, "street": system["street"],
                        "street2": "", "city": system["city"], "province": system["province"],
                        "country": system["country"], "postal_code": system["code"]},
            "phone_number": {"id": ds.business_group["id"] - 2,
                             "phone_number": system["bus_phone"]},
            "business_clients": [],
        }  # fmt: skip


def _int(raw: str) -> int | None:
    try:
        return parse_int(raw)
    except ValueError:
        return None
