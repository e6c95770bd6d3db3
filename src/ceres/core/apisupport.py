"""What every API router shares: authentication, the error shape, input types, pagination.

Malformed input is refused at the boundary, before any service or query sees it, with a 4xx
that names the field (`{"error", "field", "message"}`):
- bodies are `BodySchema`s (a JSON object, no unknown fields) and query filters
  `InputSchema`s; both refuse NUL characters in any text, which PostgreSQL cannot store or
  compare, so they are refused on SQLite too;
- ids are `RecordId`s and dates `IsoDate`s, so an absurd id or a Unix timestamp where a date
  belongs is a 422 naming the parameter, not a database overflow or a silent 1970-01-01;
- the OpenAPI document shows the error answers (`4XX`, `500`) of every operation.
The rules of the domain (a known product, a free codename) stay in the services, which raise
`core.errors` exceptions; `install_error_handlers` maps those, the input errors and anything
unexpected to the same JSON shape.
"""

from __future__ import annotations

import datetime
import logging
import re
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.signals import got_request_exception
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.schema import DjangoGetter
from ninja.security.session import SessionAuth
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ceres.core.errors import CeresError, Invalid

log = logging.getLogger(__name__)


class ActiveSessionAuth(SessionAuth):
    """The UI's session cookie (with CSRF on unsafe methods), for logged-in active users."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is None or not getattr(user, "is_active", False):
            return None
        return user


# --- input types -----------------------------------------------------------------------------


def _whole_number(value: Any) -> Any:
    # JSON Schema counts 12.0 as an integer; a `BodySchema`'s strict int would refuse it.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Put last in an Annotated integer, after its Field (placed before it, the Field's bounds are
# still checked but leave the OpenAPI document as "ge"/"le" instead of minimum/maximum).
WHOLE_NUMBER = BeforeValidator(_whole_number)

# Every primary key is a 64-bit integer on SQLite and PostgreSQL alike.
MAX_RECORD_ID = 2**63 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_RECORD_ID), WHOLE_NUMBER]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: Any) -> Any:
    # Pydantic's lax date also takes Unix timestamps ("0" is 1970-01-01): a typo, not a date.
    if isinstance(value, datetime.date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise PydanticCustomError("date_format", "must be a date as YYYY-MM-DD")


# Not strict, even in a `BodySchema`: JSON has no date type, the text is parsed.
IsoDate = Annotated[datetime.date, BeforeValidator(_iso_date_only), Strict(False)]

# The OpenAPI (ECMA-262) form of the rule `InputSchema` enforces on every text.
NUL_FREE_PATTERN = "^[^\\x00]*$"


def _refuse_nul(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("nul_character", "must not contain NUL characters")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _refuse_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)
    return value


def _document_nul_free(schema: dict[str, Any]) -> None:
    """Add NUL_FREE_PATTERN to every free text of a JSON schema (enums and formats have rules
    of their own)."""
    if schema.get("type") == "string" and not {"enum", "const", "format", "pattern"} & set(schema):
        schema["pattern"] = NUL_FREE_PATTERN
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        schema.setdefault("propertyNames", {"pattern": NUL_FREE_PATTERN})  # a map's keys
    for key in ("properties", "patternProperties"):
        for sub in schema.get(key, {}).values():
            _document_nul_free(sub)
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(schema.get(key), dict):
            _document_nul_free(schema[key])
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        for sub in schema.get(key, []):
            _document_nul_free(sub)


class InputSchema(Schema):
    """Input read from a request (query filters; bodies are `BodySchema`s): no text in it may
    hold a NUL character, and the OpenAPI document says so."""

    model_config = ConfigDict(json_schema_extra=_document_nul_free)

    @field_validator("*", mode="after")
    @classmethod
    def _nul_free(cls, value: Any) -> Any:
        return _refuse_nul(value)


class BodySchema(InputSchema):
    """A JSON request body: an object, whose unknown fields are errors (a misspelt field of a
    PATCH would otherwise be ignored and answered 200 with nothing changed), and whose values
    have the JSON type the document gives them (`false` is no host count, `0` no boolean).
    Query strings are all text, so `InputSchema` stays lax."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        # ninja hands its schemas a DjangoGetter, which reads fields as attributes: of a JSON
        # list or string it would find none and take every default.
        raw = data._obj if isinstance(data, DjangoGetter) else data
        if not isinstance(raw, dict):
            raise PydanticCustomError("object_type", "the body must be a JSON object")
        return data


def _leave_out_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def omittable(**constraints: Any) -> Any:
    """A PATCH field that may be left out (unchanged) but not set to null: the column holds
    no null. Read the changes with `model_dump(exclude_unset=True)`, never the attribute."""
    return Field(default=None, json_schema_extra=_leave_out_default, **constraints)


# --- errors ----------------------------------------------------------------------------------


def error_body(status: int, code: str, field: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "field": field, "message": message, **extra}


SERVER_ERROR_MESSAGE = "something went wrong on our side; it has been logged"

ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["error", "field", "message"],
    "properties": {
        "error": {"type": "string", "description": "a code: invalid, not_found, conflict, …"},
        "field": {
            "type": "string",
            "description": "the field, parameter or header at fault, or __all__",
        },
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "every input error, when there are several",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


class CeresApi(NinjaAPI):
    """The NinjaAPI whose OpenAPI document shows the error answers every operation can give."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema["components"]["schemas"]["Error"] = ERROR_SCHEMA
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation["responses"]
                responses.setdefault(
                    "4XX", {"description": "The request is refused", "content": content}
                )
                responses.setdefault(
                    "500", {"description": "Unexpected error (logged)", "content": content}
                )
        return schema


def _field_of(loc: list[Any]) -> str:
    # ninja locations look like ["body", "payload", "codename"] or ["query", "page"].
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "form")]
    return ".".join(parts) or "__all__"


def _input_error(error: dict[str, Any]) -> dict[str, str]:
    field = _field_of(list(error.get("loc", [])))
    message = str(error.get("msg", "invalid"))
    if field == "__all__" and error.get("type") == "missing":
        message = "a JSON body is required"
    return {"field": field, "message": message}


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(CeresError)
    def domain_error(request: HttpRequest, exc: CeresError) -> HttpResponse:
        return api.create_response(request, exc.as_dict(), status=exc.status_code)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = [_input_error(e) for e in exc.errors]
        first = errors[0] if errors else {"field": "__all__", "message": "invalid input"}
        body = error_body(422, "invalid", first["field"], first["message"], errors=errors)
        return api.create_response(request, body, status=422)

    @api.exception_handler(AuthenticationError)
    def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        body = error_body(401, "not_authenticated", "Authorization", "missing or invalid token")
        return api.create_response(request, body, status=401)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        body = error_body(exc.status_code, "http_error", "__all__", str(exc))
        return api.create_response(request, body, status=exc.status_code)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        body = error_body(404, "not_found", "__all__", "not found")
        return api.create_response(request, body, status=404)

    @api.exception_handler(DjangoPermissionDenied)
    def permission_denied(request: HttpRequest, exc: DjangoPermissionDenied) -> HttpResponse:
        body = error_body(403, "permission_denied", "__all__", str(exc) or "permission denied")
        return api.create_response(request, body, status=403)

    @api.exception_handler(Exception)
    def unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        """A bug, not the caller's fault: logged with its traceback (and signalled, as Django
        does, for error reporters), answered in the API's shape without a detail to leak."""
        log.error("unexpected error answering %s %s", request.method, request.path, exc_info=exc)
        got_request_exception.send(sender=None, request=request)
        body = error_body(500, "server_error", "__all__", SERVER_ERROR_MESSAGE)
        return api.create_response(request, body, status=500)


# --- pagination ------------------------------------------------------------------------------

T = TypeVar("T")
MAX_PAGE_SIZE = 200
PageNumber = Annotated[int, Field(ge=1)]
PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]


class PageIn(Schema):
    page: PageNumber = 1
    page_size: PageSize = 50


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    count: int
    page: int
    page_size: int


def paginate(
    queryset: QuerySet[Any],
    *,
    page: int,
    page_size: int,
    count_from: QuerySet[Any] | None = None,
) -> Page[Any]:
    """Server-side pagination. Out-of-range pages are errors naming the field, not 500s; a
    page past the end is empty, and is not asked of the database (its offset may overflow).

    `count_from`: the same filter without the joins a `.values()` page needs, so the count
    reads only the index (the joins made it ten times slower on 10,000 accounts).
    """
    if page < 1:
        raise Invalid("must be 1 or more", field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Invalid(f"must be between 1 and {MAX_PAGE_SIZE}", field="page_size")
    count = (queryset if count_from is None else count_from).count()
    offset = (page - 1) * page_size
    items = list(queryset[offset : offset + page_size]) if offset < count else []
    return Page(items, count, page, page_size)


def request_user(request: HttpRequest) -> User | AnonymousUser:
    user: User | AnonymousUser = request.user
    return user
