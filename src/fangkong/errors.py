"""Domain errors. Each carries a stable ``code`` and the HTTP status it maps to."""

from __future__ import annotations

from typing import Any


class FangkongError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(FangkongError):
    code = "not_found"
    status = 404


class Conflict(FangkongError):
    code = "conflict"
    status = 409


class InvalidInput(FangkongError):
    code = "invalid_input"
    status = 422


class TooLarge(FangkongError):
    """A request body, a file or a spreadsheet larger than the settings allow."""

    code = "too_large"
    status = 413


class ImportRejected(FangkongError):
    """An import had bad rows; nothing was written. ``details['errors']`` lists them."""

    code = "import_rejected"
    status = 422
