"""One exception tree for TAI Graph.

    TaiGraphError
    ├── InvalidInput            bad input from a caller (maps to 4xx at the edges)
    │   ├── ValidationFailed    events violate the shapes (carries the violations)
    │   ├── InvalidQuery        a SPARQL or named query that cannot run as asked
    │   │   └── ForbiddenQuery  SERVICE, LOAD, updates: refused, never executed
    │   ├── InvalidPeriod       a period that is not a valid half-open UTC range
    │   ├── InvalidSettings     engagement settings that break a rule
    │   └── NotAcceptable       no result format the caller accepts (or the result cannot be
    │                           written in the one asked for)
    ├── NotFound                a thing that does not exist for this customer
    ├── Conflict                same id, different content (events, tenants, baselines)
    ├── Unauthorized            missing or wrong credentials
    ├── Forbidden               credentials fine, operation not allowed for them
    ├── TooLarge                body, batch or result over its limit
    ├── QueryTimeout            a query ran past its time limit
    ├── Unavailable             the engine cannot serve right now (e.g. too many queries)
    └── LedgerError             the receipt ledger or its keys are not in a usable state

No HTTP status codes here: `tai_graph.api.problems` maps classes to statuses in one place, the CLI
maps them to exit codes in one place.
"""

from __future__ import annotations

from typing import Any


class TaiGraphError(Exception):
    """Base of every error TAI Graph raises on purpose.

    ``code`` is a stable, machine-readable identifier (used as the problem ``type`` suffix).
    ``details`` carries structured data for the caller (e.g. violations).
    """

    code = "error"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class InvalidInput(TaiGraphError):
    code = "invalid-input"


class ValidationFailed(InvalidInput):
    """One or more events violate the shapes; ``details["violations"]`` lists them."""

    code = "validation-failed"


class InvalidQuery(InvalidInput):
    code = "invalid-query"


class ForbiddenQuery(InvalidQuery):
    code = "forbidden-query"


class InvalidPeriod(InvalidInput):
    code = "invalid-period"


class InvalidSettings(InvalidInput):
    code = "invalid-settings"


class NotAcceptable(InvalidInput):
    """No result format both sides support (``Accept`` / ``format=``), or the result cannot be
    written in the one asked for (e.g. a control character in SPARQL Results XML)."""

    code = "not-acceptable"


class NotFound(TaiGraphError):
    code = "not-found"


class Conflict(TaiGraphError):
    code = "conflict"


class Unauthorized(TaiGraphError):
    code = "unauthorized"


class Forbidden(TaiGraphError):
    code = "forbidden"


class TooLarge(TaiGraphError):
    code = "too-large"


class QueryTimeout(TaiGraphError):
    code = "query-timeout"


class Unavailable(TaiGraphError):
    code = "unavailable"


class LedgerError(TaiGraphError):
    code = "ledger-error"
