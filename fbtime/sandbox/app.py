"""The sandbox API as a plain WSGI application: routing, auth, limits, faults and counters.

Every request, whatever its answer, is counted in :attr:`SandboxApp.stats` under
``"METHOD endpoint"`` (``GET time_entries`` for the list, ``GET time_entry`` for one,
``GET other`` for unknown paths). Then, in order: the configured latency is slept (in
the handler thread, so concurrent requests overlap), the rate-limit window counts it, an
injected fault answers it if one matches, a 429 answers it if over the limit, and only
then auth and the endpoint itself run.

Documented choices where the real API is silent:

* A wrong business id (or accounting account id) answers 404 ``{"error": ...}``, as the
  real API does when an id of the wrong family is used.
* A missing, unknown, revoked or expired token answers 401 ``{"error": "unauthenticated",
  "error_description": ...}`` as live calls do, each with its own description.
* A bad paging value answers 400 ("page must be a number", as documented); a bad filter
  value answers 422 ``{"errno": 2001, "error": {"<field>": "<message>"}}`` with the live
  API's (pydantic) messages.
* ``meta`` of a time-entry list carries ``total_logged_per_team_member`` and
  ``total_logged_per_client`` over the whole filtered set (see
  :class:`~fbtime.sandbox.store.ListResult`).
* The reference endpoints (projects, team, rates, system, ...) are in
  :mod:`fbtime.sandbox.resources`.
* An employee token sees only its own time: ``team=true`` is narrowed to its own entries,
  ``identity_id=<someone else>`` and reading or writing someone else's entry answer 403
  ``{"message": ...}``. The owner sees everyone.
* ``GET .../time_entries/<id>`` returns a deleted entry too (``active: false``); PUT and
  DELETE of a deleted entry answer 404.
* ``meta.pages`` is ``ceil(total / per_page)``, so 0 for an empty result.

As the live recordings answer (``captures/``, facts sheet sections 2, 3, 5, 7, 8):

* Time-entry lists come newest-created first, rows created in the same second by
  ascending ``id`` (``list_order="started"``: ``started_at`` then ``id`` descending);
  ``meta.per_page`` echoes the ``per_page`` sent, and without one it is the number of
  rows returned.
* Every answer carries ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (an epoch) and
  ``Retry-After`` (seconds to that reset, 200s included), ``X-API-Version``, and on time
  tracking and projects ``X-Version``. The limit is a rolling window: 600 requests in
  any 60 s, one count for every family; accounting POSTs have their own 250. ``Reset``
  is when the oldest request counted leaves the window. An injected answer carries the
  limit headers but only the ``Retry-After`` it was given.
* ``Content-Type`` by family: ``application/vnd.api+json`` for time tracking, projects
  and the ``comments`` family (services, rates); ``application/json`` for accounting;
  ``application/json; charset=utf-8`` for the identity family (``users/me``, team);
  none on a 204.
* ``users/me`` keeps names and zone in ``profile``, and each business its
  ``first_day_of_week``.
* A project PUT (``/project/{id}``) changes only the fields sent (live, partial).
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

import orjson

from fbtime.sandbox.data import Dataset
from fbtime.sandbox.entries import build_new, build_update
from fbtime.sandbox.faults import ENVIRON_KEY as FAULT_KEY
from fbtime.sandbox.faults import Faults
from fbtime.sandbox.oauth import OAuthServer
from fbtime.sandbox.resources import PATTERNS, Resources
from fbtime.sandbox.store import ListQuery, Store
from fbtime.sandbox.validate import FieldError, parse_list_query

UNAUTHENTICATED = "This action requires authentication to continue."  # as captured live
REVOKED = "The access token was revoked."
EXPIRED = "The access token expired."
NOT_FOUND = {"error": "Requested resource could not be found."}
FORBIDDEN = {"message": "You do not have permission to access time entries of other team members."}
DEFAULT_BODIES: dict[int, Any] = {
    400: {"errno": 2001, "error": {"__root__": "bad request"}},
    401: {"error": "unauthenticated", "error_description": UNAUTHENTICATED},
    403: FORBIDDEN,
    404: NOT_FOUND,
    422: {"errno": 2001, "error": {"__root__": "validation failed"}},
    429: {"message": "Too many requests"},
}
ROUTES = (
    (re.compile(r"^/timetracking/business/([^/]+)/time_entries/?$"), "time_entries"),
    (re.compile(r"^/timetracking/business/([^/]+)/time_entries/([^/]+)/?$"), "time_entry"),
    (re.compile(r"^/auth/api/v1/users/me/?$"), "users/me"),
    *((re.compile(pattern), name) for pattern, name in PATTERNS),
    (re.compile(r"^/oauth/authorize/?$"), "oauth/authorize"),
    (re.compile(r"^/auth/oauth/token/?$"), "oauth/token"),
    (re.compile(r"^/auth/oauth/revoke/?$"), "oauth/revoke"),
)
METHODS = {"time_entries": ("GET", "POST"), "time_entry": ("GET", "PUT", "DELETE"),
           "project": ("GET", "PUT")}  # fmt: skip
WRITE_KEYS = ("POST time_entries", "PUT time_entry", "DELETE time_entry")
JSON = "application/json; charset=utf-8"
VND = "application/vnd.api+json"
#: Content-Type of each family's JSON answers, as recorded live (comments: inferred).
CONTENT_TYPES = {
    **dict.fromkeys(("time_entries", "time_entry", "projects", "project", "services",
                     "team_member_rates", "service_rates", "service_rate"), VND),
    **dict.fromkeys(("clients", "system"), "application/json"),
    **dict.fromkeys(("users/me", "team_members", "team_member", "staff"), JSON),
}  # fmt: skip
API_VERSION = "2023-02-20"
SERVER_VERSION = "2606.32.0"
#: Routes whose live answers carry ``X-Version`` (the server build).
VERSIONED = ("time_entries", "time_entry", "projects", "project")
#: The live limits (facts sheet section 8): requests per rolling window, and accounting
#: POSTs, counted apart.
RATE_LIMIT, RATE_WINDOW, ACCOUNTING_POST_LIMIT = 600, 60.0, 250

Response = tuple[int, dict[str, str], bytes]


class RateWindow:
    """Requests counted against one limit: a rolling window (live) or fixed windows.

    Rolling: at most ``limit`` requests in any ``per`` seconds; a refused request is not
    counted; the reset is when the oldest counted request leaves the window. Fixed: the
    count starts again at every multiple of ``per`` (every request counted).
    """

    def __init__(self, limit: int, per: float, rolling: bool = True) -> None:
        self.limit, self.per, self.rolling = limit, per, rolling
        self._stamps: deque[float] = deque()
        self._fixed = (-1, 0)

    def take(self, now: float) -> tuple[int, float, bool]:
        """Count a request at ``now``: ``(remaining, reset time, over the limit)``."""
        if not self.rolling:
            index = math.floor(now / self.per)
            count = self._fixed[1] + 1 if self._fixed[0] == index else 1
            self._fixed = (index, count)
            return max(0, self.limit - count), (index + 1) * self.per, count > self.limit
        stamps = self._stamps
        while stamps and stamps[0] <= now - self.per:
            stamps.popleft()
        over = len(stamps) >= self.limit
        if not over:
            stamps.append(now)
        return self.limit - len(stamps), stamps[0] + self.per, over


@dataclass
class Injection:
    """A canned answer for the next ``times`` requests matching method and endpoint."""

    status: int
    times: int = 1
    method: str | None = None
    endpoint: str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def matches(self, method: str, route: str) -> bool:
        """True if this fault applies to the request (endpoint or full key)."""
        if self.method and self.method.upper() != method:
            return False
        return not self.endpoint or self.endpoint in (route, f"{method} {route}")


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """Serialise ``body`` as a UTF-8 JSON response (orjson: a page costs the server a third
    of what ``json`` took, so benchmarks measure the client more than the stand-in); the
    family's own JSON type replaces ``Content-Type`` later (:data:`CONTENT_TYPES`)."""
    data = orjson.dumps(body)
    return status, {"Content-Type": JSON, **(headers or {})}, data


def _error(errors: dict[str, str]) -> dict[str, Any]:
    return {"errno": 2001, "error": errors}


def _unauthenticated(description: str) -> Response:
    return json_response(401, {"error": "unauthenticated", "error_description": description})


class SandboxApp:
    """WSGI callable serving one business' data from a :class:`Store`."""

    def __init__(
        self,
        store: Store,
        dataset: Dataset,
        *,
        latency: float = 0.0,
        rate_limit: int | None = RATE_LIMIT,
        rate_window: float = RATE_WINDOW,
        put_mode: str = "live",
        list_order: str = "created",
        meta_totals: str = "nested",
    ) -> None:
        self.store, self.dataset = store, dataset
        self.latency, self.put_mode = latency, put_mode
        self.list_order, self.meta_totals = list_order, meta_totals
        self.business_id: int = dataset.business["id"]
        self.identities = {i["id"]: i for i in dataset.identities}
        self.owner_id: int = dataset.identities[0]["id"]
        self.projects = {p["id"]: p for p in dataset.projects}
        self.resources = Resources(dataset, store)
        self.tokens: dict[str, int] = {}
        self.revoked: set[str] = set()
        self.stats: Counter[str] = Counter()
        self.injections: list[Injection] = []
        self.entry_writes: Counter[int] = Counter()
        self.faults: Faults | None = None
        self.restart_hook: Callable[[], None] | None = None
        self.on_request: Callable[[str, int], None] | None = None
        self._lock = threading.Lock()
        self._busy = 0  # requests being answered now (see Sandbox.wait_idle)
        self._quiet = threading.Condition(self._lock)
        self._last_answer = time.monotonic()
        self.limits: dict[str, RateWindow] = {}
        self.set_rate_limit(rate_limit, rate_window)
        self.extra_businesses: list[dict[str, Any]] = []  # more memberships in users/me
        self.oauth = OAuthServer(self)

    # -- WSGI --------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        status, headers, body = self.handle(environ)
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [body]

    def handle(self, environ: dict[str, Any]) -> Response:
        """Answer one request (the WSGI plumbing aside)."""
        with self._lock:
            self._busy += 1
        try:
            return self._handle(environ)
        finally:
            with self._quiet:
                self._busy -= 1
                self._last_answer = time.monotonic()
                self._quiet.notify_all()

    def wait_idle(self, quiet: float, timeout: float) -> bool:
        """Block until no request has been answered for ``quiet`` seconds; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._quiet:
            while True:
                now = time.monotonic()
                settled = self._last_answer + quiet - now
                if self._busy == 0 and settled <= 0:
                    return True
                if now >= deadline:
                    return False
                wait = settled if self._busy == 0 else deadline - now
                self._quiet.wait(min(max(wait, 0.001), deadline - now))

    def _handle(self, environ: dict[str, Any]) -> Response:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        route: str = "other"
        groups: tuple[str | Any, ...] = ()
        for pattern, name in ROUTES:
            match = pattern.match(environ.get("PATH_INFO", ""))
            if match:
                route, groups = name, match.groups()
                break
        key = f"{method} {route}"
        with self._lock:
            self.stats[key] += 1
        if self.latency > 0:
            time.sleep(self.latency)
        fault = self.faults.decide(method) if self.faults is not None else None
        if fault is not None:
            early = self._fault(fault, environ)
            if early is not None:
                return early
        path = environ.get("PATH_INFO", "")
        pool = "accounting POST" if method == "POST" and path.startswith("/accounting/") else ""
        limit_headers, limited = self._count_rate(pool)
        injected = self._take_injection(method, route)
        if injected is not None:
            status, headers, body = self._injected(injected)
            limit_headers.pop("Retry-After", None)  # only what the test gave
        else:
            try:
                status, headers, body = self._answer(environ, method, route, key, groups, limited)
            except KeyError:  # the entry vanished between the check and the write
                status, headers, body = json_response(404, NOT_FOUND)
            except Exception:  # a sandbox bug must still answer like a server would
                traceback.print_exc()
                status, headers, body = json_response(500, {"message": "Internal Server Error"})
        headers = {**limit_headers, "X-API-Version": API_VERSION, **headers}
        if route in VERSIONED:
            headers["X-Version"] = SERVER_VERSION
        if status == 204:
            headers.pop("Content-Type", None)
        elif headers.get("Content-Type") == JSON and route in CONTENT_TYPES:
            headers["Content-Type"] = CONTENT_TYPES[route]
        return status, headers, body

    def _fault(self, kind: str, environ: dict[str, Any]) -> Response | None:
        """Carry out a seeded fault; return the answer when it replaces the real one."""
        faults = self.faults
        assert faults is not None
        if kind == "restart" and self.restart_hook is not None:
            threading.Thread(target=self.restart_hook, daemon=True).start()
        elif kind == "5xx":
            status, html = faults.error_status()
            if html:
                page = f"<html><body><h1>{status} {HTTPStatus(status).phrase}</h1></body></html>"
                return status, {"Content-Type": "text/html"}, page.encode()
            return json_response(status, {"message": HTTPStatus(status).phrase})
        elif kind == "429":
            headers = {"Retry-After": str(faults.retry_after)}
            return json_response(429, {"message": "Too many requests"}, headers)
        elif kind == "slow":
            time.sleep(faults.slow_seconds)
        elif kind == "drop_before":
            environ[FAULT_KEY] = "drop"
            return json_response(500, {"message": "dropped"})  # never sent
        elif kind in ("drop_after", "truncate"):
            environ[FAULT_KEY] = "drop" if kind == "drop_after" else "truncate"
        return None

    @staticmethod
    def _injected(fault: Injection) -> Response:
        if fault.raw is not None:
            headers = {"Content-Type": "text/html; charset=utf-8", **fault.headers}
            return fault.status, headers, fault.raw
        body = fault.body if fault.body is not None else DEFAULT_BODIES.get(
            fault.status, {"message": HTTPStatus(fault.status).phrase}
        )  # fmt: skip
        return json_response(fault.status, body, fault.headers)

    def _answer(self, environ, method, route, key, groups, limited) -> Response:
        if limited:
            return json_response(429, {"message": "Too many requests"}, limited)
        if route.startswith("oauth/"):  # the OAuth endpoints take no bearer token
            return self.oauth.handle(method, route, environ)
        token = self._token(environ)
        if token in self.revoked:
            return _unauthenticated(REVOKED)
        if self.oauth.expired(token):
            return _unauthenticated(EXPIRED)
        caller = self.tokens.get(token or "")
        if caller is None:
            return _unauthenticated(UNAUTHENTICATED)
        if route == "other":
            return json_response(404, NOT_FOUND)
        if method not in METHODS.get(route, ("GET",)):
            return json_response(405, {"error": "Method Not Allowed"})
        if route == "users/me":
            return json_response(200, self._me(caller))
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        if route not in ("time_entries", "time_entry"):  # the reference routes
            if not self.resources.owns(route, groups[0]):
                return json_response(404, NOT_FOUND)
            if method != "PUT":
                return self._reference(route, groups[1:], query, key)
            if not self._is_owner(caller):
                return json_response(403, {"message": "You do not have permission to do that."})
            try:
                return self._update_project(groups[1], environ)
            except FieldError as exc:
                return json_response(exc.status, _error(exc.errors))
        if groups[0] != str(self.business_id):
            return json_response(404, NOT_FOUND)
        try:
            if route == "time_entries" and method == "GET":
                return self._list(caller, query, key)
            if route == "time_entries":
                return self._create(caller, self._body(environ))
            return self._one(caller, method, groups[1], environ)
        except FieldError as exc:
            return json_response(exc.status, _error(exc.errors))

    # -- cross-cutting -----------------------------------------------------------------
    @staticmethod
    def _token(environ: dict[str, Any]) -> str | None:
        scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def set_rate_limit(
        self, limit: int | None, per: float = RATE_WINDOW, *, rolling: bool = True
    ) -> None:
        """Allow ``limit`` requests per ``per`` seconds (accounting POSTs: at most 250 of
        their own); None: no limit and no rate-limit headers."""
        with self._lock:
            self.rate_limit, self.rate_window = limit, per
            self.limits = {} if limit is None else {
                "": RateWindow(limit, per, rolling),
                "accounting POST": RateWindow(min(limit, ACCOUNTING_POST_LIMIT), per, rolling),
            }  # fmt: skip

    def _count_rate(self, pool: str) -> tuple[dict[str, str], dict[str, str] | None]:
        """The rate-limit headers of a request, and the 429's headers if it is over."""
        window = self.limits.get(pool)
        if window is None:
            return {}, None
        now = time.time()
        with self._lock:
            remaining, reset, over = window.take(now)
        headers = {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
            "Retry-After": str(max(0, math.floor(reset - now))),  # on every answer, as live
        }
        return headers, {"Retry-After": str(max(1, math.ceil(reset - now)))} if over else None

    def _take_injection(self, method: str, route: str) -> Injection | None:
        with self._lock:
            for fault in self.injections:
                if fault.matches(method, route):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.injections.remove(fault)
                    return fault
        return None

    @staticmethod
    def _body(environ: dict[str, Any]) -> dict[str, Any]:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise FieldError({"__root__": "invalid JSON"}, status=400) from None
        if not isinstance(body, dict) or not isinstance(body.get("time_entry"), dict):
            raise FieldError({"time_entry": "field required"})
        return body["time_entry"]

    def _is_owner(self, caller: int) -> bool:
        return self.identities[caller]["role"] == "owner"

    # -- time entries ------------------------------------------------------------------
    def _list(self, caller: int, query: dict[str, str], key: str) -> Response:
        p = parse_list_query(query)
        if "identity_id" in p and p.get("include_unlogged"):
            raise FieldError({"identity_id": "cannot be combined with include_unlogged"})
        if "identity_id" in p:
            scope = p["identity_id"]
            if scope != caller and not self._is_owner(caller):
                return json_response(403, FORBIDDEN)
        else:
            scope = None if p.get("team") and self._is_owner(caller) else caller
        q = ListQuery(
            identity_id=scope, include_deleted=p.get("include_deleted", False),
            include_unlogged=p.get("include_unlogged", False), billable=p.get("billable"),
            billed=p.get("billed"), client_id=p.get("client_id"),
            started_from=p.get("started_from"), started_to=p.get("started_to"),
            updated_since=p.get("updated_since"),
        )  # fmt: skip
        page, per_page = p["page"], p["per_page"]
        if self.on_request is not None:
            self.on_request(key, page)
        result = self.store.list_ids(q, self.list_order, self.meta_totals)
        start = (page - 1) * per_page
        rows = self.store.fetch(result.ids[start : start + per_page])
        total = len(result.ids)
        meta = {
            "total": total, "per_page": per_page if "per_page" in query else len(rows),
            "page": page, "pages": math.ceil(total / per_page),
            "total_logged": result.total_logged, "total_unbilled": result.total_unbilled,
            "total_logged_per_team_member": result.per_member,
            "total_logged_per_client": result.per_client,
        }  # fmt: skip
        return json_response(200, {"meta": meta, "time_entries": rows})

    def _count_write(self, entry_id: int) -> None:
        """Count an API write that changed an entry (tests check "changed exactly once")."""
        with self._lock:
            self.entry_writes[entry_id] += 1

    def create(self, caller: int, body: dict[str, Any]) -> dict[str, Any]:
        """Validate and store a new entry for ``caller`` (raises FieldError)."""
        fields = build_new(
            body, caller=caller, members=self.identities, projects=self.projects,
            next_timer_id=self.store.next_timer_id, zone=self.identities[caller]["timezone"],
        )  # fmt: skip
        return self.store.insert(fields)

    def update(self, entry_id: int, body: dict[str, Any], mode: str) -> dict[str, Any]:
        """Validate and apply an update to a stored, active entry (raises FieldError)."""
        current = self.store.get(entry_id)
        if current is None or not current["active"]:
            raise KeyError(entry_id)
        changes = build_update(
            current, body, mode=mode, members=self.identities,
            next_timer_id=self.store.next_timer_id,
        )  # fmt: skip
        return self.store.update(entry_id, changes)

    def delete(self, entry_id: int) -> None:
        """Soft-delete an active entry (KeyError if unknown or already deleted)."""
        with self.store.lock:  # two DELETEs at once: exactly one deletes
            current = self.store.get(entry_id)
            if current is None or not current["active"]:
                raise KeyError(entry_id)
            self.store.update(entry_id, {"active": False})

    def _create(self, caller: int, body: dict[str, Any]) -> Response:
        wanted = body.get("identity_id")
        if wanted not in (None, "") and not self._is_owner(caller):
            try:
                if int(wanted) != caller:
                    return json_response(403, FORBIDDEN)
            except (TypeError, ValueError):
                pass  # validation reports it
        created = self.create(caller, body)
        self._count_write(created["id"])
        return json_response(200, {"time_entry": created})

    def _one(self, caller: int, method: str, raw_id: str, environ: dict[str, Any]) -> Response:
        if not raw_id.isdigit():
            return json_response(404, NOT_FOUND)
        entry = self.store.get(int(raw_id))
        if entry is None or (method != "GET" and not entry["active"]):
            return json_response(404, NOT_FOUND)
        if entry["identity_id"] != caller and not self._is_owner(caller):
            return json_response(403, FORBIDDEN)
        if method == "GET":
            return json_response(200, {"time_entry": entry})
        if method == "DELETE":
            self.delete(entry["id"])
            self._count_write(entry["id"])
            return 204, {}, b""
        body = self._body(environ)
        if not self._is_owner(caller) and "identity_id" in body:
            try:
                if int(body["identity_id"]) != caller:
                    return json_response(403, FORBIDDEN)
            except (TypeError, ValueError):
                pass
        with self.store.lock:  # read and write as one step, so "changed" is exact
            current = self.store.get(entry["id"])
            updated = self.update(entry["id"], body, self.put_mode)
        if updated != current:  # a repeated identical PUT changes nothing
            self._count_write(entry["id"])
        return json_response(200, {"time_entry": updated})

    # -- identity and reference data ---------------------------------------------------
    def _me(self, caller: int) -> dict[str, Any]:
        """``users/me`` in the live shape: names and zone in ``profile`` (captures)."""
        ident = self.identities[caller]
        index = list(self.identities).index(caller)
        return {"response": {
            "id": caller, "identity_id": caller, "email": ident["email"],
            "profile": {
                "setup_complete": True, "first_name": ident["first_name"],
                "last_name": ident["last_name"], "phone_number": None, "address": None,
                "profession": None, "professions": [], "has_password": True,
                "is_email_confirmed": True, "timezone": ident["timezone"], "time_format": 0,
            },
            "timezone": ident["timezone"],
            "business_memberships": [{
                "id": 100 + index + 1000 * n, "role": ident["role"], "business": dict(business),
            } for n, business in enumerate([self.dataset.business, *self.extra_businesses])],
            "roles": [], "groups": [], "permissions": {},
        }}  # fmt: skip

    def _update_project(self, raw_id: str, environ: dict[str, Any]) -> Response:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            body = json.loads(raw or b"null")
        except (ValueError, UnicodeDecodeError):
            raise FieldError({"__root__": "invalid JSON"}, status=400) from None
        if not isinstance(body, dict) or not isinstance(body.get("project"), dict):
            raise FieldError({"project": "field required"})
        status, answer = self.resources.update_project(raw_id, body["project"])
        return json_response(status, answer)

    def _reference(
        self, route: str, ids: tuple[str, ...], query: dict[str, str], key: str
    ) -> Response:
        hook = self.on_request
        on_page = None if hook is None else (lambda page: hook(key, page))
        try:
            status, body = self.resources.answer(route, ids, query, on_page)
        except FieldError as exc:
            return json_response(exc.status, _error(exc.errors))
        return json_response(status, body)
