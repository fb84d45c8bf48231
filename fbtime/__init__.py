"""fbtime: FreshBooks time entries as a typed pandas DataFrame, and back as safe changes.

Importing fbtime registers the ``df.fbtime`` accessor.

Example:
    >>> import fbtime
    >>> with fbtime.Sandbox(entries=2000, seed=1) as sb:
    ...     df = fbtime.load_time_entries(sb.client(), team=True)
    >>> df.dtypes["duration"], df.dtypes["billable"]
    (Int64Dtype(), BooleanDtype)
"""

import fbtime.accessor  # registers df.fbtime
import fbtime.clock  # noqa: F401  (fbtime.clock: the calendar's one "now", which tests fix)
from fbtime._version import __version__
from fbtime.api.client import Client
from fbtime.auth.identity import whoami
from fbtime.auth.oauth import login
from fbtime.bulk import ApplyResult, UpdatePlan, resume, undo
from fbtime.bulk.imports import import_time, plan_create
from fbtime.bulk.journal_frame import read_journal
from fbtime.errors import (
    AlreadyAppliedError,
    APIError,
    ApplyInterrupted,
    AuthError,
    BulkError,
    ConfigError,
    ConfirmationError,
    FBTimeError,
    ImportFileError,
    InconsistentPagesError,
    JournalLockedError,
    LoginError,
    NotFoundError,
    PartialApplyError,
    PlanError,
    QueryError,
    RateLimitError,
    SchemaError,
    ServerError,
    SyncError,
    SyncFiltersError,
    TransportError,
    UnexpectedAnswerError,
    UnmatchedNamesError,
    ValidationError,
)
from fbtime.load import (
    connect,
    load_clients,
    load_projects,
    load_rates,
    load_services,
    load_team,
    load_time_entries,
)
from fbtime.rates import Rates
from fbtime.sandbox import Sandbox
from fbtime.schema import as_time_entries
from fbtime.sync import SyncReport, sync

__all__ = [
    "APIError",
    "AlreadyAppliedError",
    "ApplyInterrupted",
    "ApplyResult",
    "AuthError",
    "BulkError",
    "Client",
    "ConfigError",
    "ConfirmationError",
    "FBTimeError",
    "ImportFileError",
    "InconsistentPagesError",
    "JournalLockedError",
    "LoginError",
    "NotFoundError",
    "PartialApplyError",
    "PlanError",
    "QueryError",
    "RateLimitError",
    "Rates",
    "Sandbox",
    "SchemaError",
    "ServerError",
    "SyncError",
    "SyncFiltersError",
    "SyncReport",
    "TransportError",
    "UnexpectedAnswerError",
    "UnmatchedNamesError",
    "UpdatePlan",
    "ValidationError",
    "__version__",
    "as_time_entries",
    "connect",
    "import_time",
    "load_clients",
    "load_projects",
    "load_rates",
    "load_services",
    "load_team",
    "load_time_entries",
    "login",
    "plan_create",
    "read_journal",
    "resume",
    "sync",
    "undo",
    "whoami",
]
