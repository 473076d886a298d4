"""hyperdeliver: ship a monolithic product backend fast, then iterate on it from usage.

The public API is what ``__all__`` lists; everything else is private.
"""

from __future__ import annotations

from .app import App
from .auth.principal import ANONYMOUS, Principal
from .context import Context
from .db.model import Model, UTCDateTime, utcnow
from .errors import (
    BadRequest,
    ConfigurationError,
    Conflict,
    Forbidden,
    Gone,
    HyperError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServerError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from .features import Feature, operation_of
from .tasks import Task
from .operations import Operation
from .auth.memberships import Membership, Memberships
from .plugins import Plugin
from .roles import AUTHENTICATED, PUBLIC, RoleHierarchy
from .scopes import Lookup, Scope, ScopeAccess
from .settings import Settings

__version__ = "0.1.0"

__all__ = [
    "ANONYMOUS",
    "AUTHENTICATED",
    "App",
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "Context",
    "Feature",
    "Forbidden",
    "Gone",
    "HyperError",
    "Lookup",
    "Membership",
    "Memberships",
    "MethodNotAllowed",
    "Model",
    "NotFound",
    "Operation",
    "PUBLIC",
    "PayloadTooLarge",
    "Plugin",
    "Principal",
    "RoleHierarchy",
    "Scope",
    "ScopeAccess",
    "ServerError",
    "ServiceUnavailable",
    "Settings",
    "Task",
    "TooManyRequests",
    "UTCDateTime",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "operation_of",
    "utcnow",
]
