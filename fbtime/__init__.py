"""fbtime: FreshBooks time entries as a typed pandas DataFrame, and back as safe changes.

Importing fbtime registers the ``df.fbtime`` accessor.

Example:
    >>> import fbtime
    >>> with fbtime.Sandbox(entries=2000, seed=1) as sb:
    ...     df = fbtime.load_time_entries(sb.client(), team=True)
"""

__version__ = "0.1.0"

import fbtime.accessor  # noqa: F401  (registers df.fbtime)
from fbtime.bulk import ApplyResult, UpdatePlan, resume, undo
from fbtime.client import Client
from fbtime.errors import (
    APIError,
    AuthError,
    BulkError,
    ConfigError,
    ConfirmationError,
    FBTimeError,
    LoginError,
    NotFoundError,
    PartialApplyError,
    PlanError,
    QueryError,
    RateLimitError,
    SchemaError,
    ServerError,
    TransportError,
    ValidationError,
)
from fbtime.frame import load_time_entries
from fbtime.identity import whoami
from fbtime.names import load_clients, load_projects, load_services
from fbtime.oauth import login
from fbtime.sandbox import Sandbox
from fbtime.schema import as_time_entries
from fbtime.sync import SyncError, SyncFiltersError, SyncReport, sync

__all__ = [
    "APIError",
    "ApplyResult",
    "AuthError",
    "BulkError",
    "Client",
    "ConfigError",
    "ConfirmationError",
    "FBTimeError",
    "LoginError",
    "NotFoundError",
    "PartialApplyError",
    "PlanError",
    "QueryError",
    "RateLimitError",
    "Sandbox",
    "SchemaError",
    "ServerError",
    "SyncError",
    "SyncFiltersError",
    "SyncReport",
    "TransportError",
    "UpdatePlan",
    "ValidationError",
    "__version__",
    "as_time_entries",
    "load_clients",
    "load_projects",
    "load_services",
    "load_time_entries",
    "login",
    "resume",
    "sync",
    "undo",
    "whoami",
]
