"""Domain errors. Services raise these; the API maps them to 4xx JSON, the CLI to one line + exit 2.

Every error names the field it is about (or "__all__" when it is about the whole request) and
carries a message safe to show to the person who made the request: never a confidential name
they could not otherwise see.
"""

from __future__ import annotations


class CeresError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str = "__all__") -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, object]:
        return {"error": self.code, "field": self.field, "message": self.message}


class BadRequest(CeresError):
    status_code = 400
    code = "bad_request"


class NotAuthenticated(CeresError):
    status_code = 401
    code = "not_authenticated"


class PermissionDenied(CeresError):
    status_code = 403
    code = "permission_denied"


class NotFound(CeresError):
    status_code = 404
    code = "not_found"


class Conflict(CeresError):
    status_code = 409
    code = "conflict"


class Invalid(CeresError):
    """A value that parses but breaks a rule of the domain (an unknown role, a name clash)."""

    status_code = 422
    code = "invalid"


class ConfidentialLeak(CeresError):
    """The confidentiality firewall stopped a text bound for a public destination."""

    status_code = 422
    code = "confidential_leak"
