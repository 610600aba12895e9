"""Domain errors. Each maps to one HTTP status; views, the API and the CLI translate them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    field: str
    message: str


@dataclass
class DomainError(Exception):
    """Base class: a refused action with a message people can act on."""

    detail: str
    errors: list[FieldError] = field(default_factory=list)
    status_code: int = 400

    def __str__(self) -> str:
        return self.detail

    def as_dict(self) -> dict[str, object]:
        return {
            "detail": self.detail,
            "errors": [{"field": e.field, "message": e.message} for e in self.errors],
        }


class InvalidInput(DomainError):
    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail, errors or [], 422)


class PermissionDenied(DomainError):
    def __init__(self, detail: str = "You may not do this.") -> None:
        super().__init__(detail, [], 403)


class NotFound(DomainError):
    def __init__(self, detail: str = "Not found.") -> None:
        super().__init__(detail, [], 404)


class Conflict(DomainError):
    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail, errors or [], 409)


class RateLimited(DomainError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail, [], 429)


def field_error(field_name: str, message: str) -> InvalidInput:
    """A single-field validation failure."""
    return InvalidInput(message, [FieldError(field_name, message)])
