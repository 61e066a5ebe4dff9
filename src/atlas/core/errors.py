"""The error hierarchy. Every message says what went wrong and what to do about it.

The CLI prints an :class:`AtlasError` as one line and exits with code 2; the HTTP layer turns it
into a 4xx answer. Anything else is a bug in ATLAS and keeps its traceback.
"""

from __future__ import annotations


class AtlasError(Exception):
    """Base of every error ATLAS raises on purpose.

    ``hint`` is the fix the user should try; it is printed after the message.
    """

    http_status = 400

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class ConfigError(AtlasError):
    """A setting is missing, malformed or points at something that does not work."""


class InvalidInputError(AtlasError, ValueError):
    """User data or arguments cannot be used as given (bad CSV, unknown column, bad name).

    Also a ``ValueError``, so scikit-learn style callers can catch it as one."""

    http_status = 422


class NotFoundError(AtlasError):
    """A dataset, model, version or alias that does not exist."""

    http_status = 404


class ConflictError(AtlasError):
    """The request contradicts the current state (for instance nothing left to roll back to)."""

    http_status = 409


class IntegrityError(AtlasError):
    """Stored bytes do not match the hashes recorded when they were written."""

    http_status = 503


class DatabaseUnavailableError(AtlasError):
    """The metadata database cannot be reached or opened."""

    http_status = 503


class MissingDependencyError(AtlasError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"This feature needs the package '{package}', which is not installed.",
            hint=f"Install it with: pip install 'atlas-ml[{extra}]'",
        )
