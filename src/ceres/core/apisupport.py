"""What every API router shares: authentication, the error shape, input types, pagination.

Malformed input is refused at the boundary, before any service or query sees it, with a 4xx
that names the field (`{"error", "field", "message"}`):
- bodies are `BodySchema`s (a JSON object, no unknown fields) and query filters
  `InputSchema`s; both refuse NUL characters in any text, which PostgreSQL cannot store or
  compare, so they are refused on SQLite too, and unpaired surrogates (JSON's `"\\udc00"`),
  which neither database can encode; a lone path or query parameter is a `Text`;
- ids are `RecordId`s, dates `IsoDate`s and instants `AwareDateTime`s, so an absurd id, a
  Unix timestamp where a date belongs or an instant without its UTC offset is a 422 naming
  the parameter, not a database overflow or a silent 1970-01-01;
- the OpenAPI document shows the error answers (`4XX`, `500`) of every operation, and the
  rules a schema cannot state with types alone (`Slug`, `NON_BLANK_PATTERN`);
- a method an endpoint does not have is a 405 and a path that is no endpoint a 404, both in
  the same JSON shape (`CeresApi.urls`).
The rules of the domain (a known product, a free codename) stay in the services, which raise
`core.errors` exceptions; `install_error_handlers` maps those, the input errors and anything
unexpected to the same JSON shape.
"""

from __future__ import annotations

import datetime
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Annotated, Any, Generic, TypeVar

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.signals import got_request_exception
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.schema import DjangoGetter
from ninja.security.session import SessionAuth
from pydantic import (
    AfterValidator,
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

_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}(:?\d{2})?)?"
)
OFFSET_EXAMPLE = "2026-05-22T15:00:00-05:00"


def _iso_datetime_only(value: Any) -> Any:
    # As for dates: Pydantic's lax datetime takes 1700000000 (or "0") as a Unix timestamp.
    if isinstance(value, datetime.datetime) or (
        isinstance(value, str) and _ISO_DATETIME.fullmatch(value)
    ):
        return value
    raise PydanticCustomError(
        "datetime_format", f"must be a date and time with a UTC offset, e.g. {OFFSET_EXAMPLE}"
    )


def _aware_in_range(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise PydanticCustomError(
            "datetime_offset", f"must include a UTC offset, e.g. {OFFSET_EXAMPLE}"
        )
    try:
        # In UTC: PostgreSQL refuses offsets past ±15:59 (RFC 3339 allows up to ±23:59), and
        # 0001-01-01T00:00+01:00 is no instant in UTC at all.
        return value.astimezone(datetime.UTC)
    except OverflowError:
        raise PydanticCustomError("datetime_range", "is out of range") from None


# An instant: RFC 3339 text with its UTC offset (the document's "date-time"), never a number;
# read as the same instant in UTC.
AwareDateTime = Annotated[
    datetime.datetime,
    BeforeValidator(_iso_datetime_only),
    AfterValidator(_aware_in_range),
    Strict(False),
]

# The OpenAPI (ECMA-262) form of the rule `InputSchema` enforces on every text.
NUL_FREE_PATTERN = "^[^\\x00]*$"
# A text with something besides spaces in it, and no NUL. Documented only: the services
# refuse a blank text with their own message naming the field.
NON_BLANK_PATTERN = "^[^\\x00]*[^\\s\\x00][^\\x00]*$"
# A paired surrogate is joined by the JSON parser; one left alone is no character at all,
# and UTF-8 (SQLite's and PostgreSQL's encoding) cannot encode it.
_SURROGATE = re.compile("[\\ud800-\\udfff]")


def _refuse_nul(value: Any) -> Any:
    """Refuse, in a text or anywhere in a list or map of texts, what no database stores: NUL
    characters and unpaired surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("nul_character", "must not contain NUL characters")
        if _SURROGATE.search(value):
            raise PydanticCustomError(
                "surrogate_character", "must be valid Unicode (an unpaired surrogate is not)"
            )
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _refuse_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(key)
            _refuse_nul(item)
    return value


def document_nul_free(schema: dict[str, Any]) -> None:
    """Add NUL_FREE_PATTERN to every free text of a JSON schema (enums and formats have rules
    of their own)."""
    if schema.get("type") == "string" and not {"enum", "const", "format", "pattern"} & set(schema):
        schema["pattern"] = NUL_FREE_PATTERN
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        schema.setdefault("propertyNames", {"pattern": NUL_FREE_PATTERN})  # a map's keys
    for key in ("properties", "patternProperties"):
        for sub in schema.get(key, {}).values():
            document_nul_free(sub)
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(schema.get(key), dict):
            document_nul_free(schema[key])
    for key in ("anyOf", "allOf", "oneOf", "prefixItems"):
        for sub in schema.get(key, []):
            document_nul_free(sub)


# A lone path or query parameter (outside an `InputSchema`), checked and documented alike.
Text = Annotated[
    str, AfterValidator(_refuse_nul), Field(json_schema_extra={"pattern": NUL_FREE_PATTERN})
]

SLUG_PATTERN = "^[-a-zA-Z0-9_]+$"
_SLUG = re.compile(SLUG_PATTERN.strip("^$"))


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):  # fullmatch: "tag\n" is no slug (a `$` would allow it)
        raise PydanticCustomError("slug", "must be letters, digits, dashes or underscores")
    return value


# A key, category or tag as Django's SlugField stores it (ours are 60 long).
Slug = Annotated[
    str,
    Field(max_length=60, json_schema_extra={"pattern": SLUG_PATTERN, "minLength": 1}),
    AfterValidator(_slug),
]


class InputSchema(Schema):
    """Input read from a request (query filters; bodies are `BodySchema`s): no text in it may
    hold a NUL character, and the OpenAPI document says so."""

    model_config = ConfigDict(json_schema_extra=document_nul_free)

    # Before the field's own validation: with a length limit, Pydantic would refuse an unpaired
    # surrogate first, as "unable to parse raw data as a unicode string".
    @field_validator("*", mode="before")
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

    @property
    def urls(self) -> tuple[list[URLResolver | URLPattern], str, str]:
        """ninja's URLs, answering in the API's error shape where ninja would answer HTML: a
        method the endpoint does not have (405, with `Allow`), the API's root and any path
        under it that is no endpoint (404)."""
        patterns, app_name, namespace = super().urls
        wrapped: list[URLResolver | URLPattern] = [
            URLPattern(p.pattern, self._json_refusals(p.callback), p.default_args, p.name)
            if isinstance(p, URLPattern)
            else p
            for p in patterns
        ]
        wrapped.append(re_path(r"^.*$", self._no_such_endpoint, name="no-such-endpoint"))
        return wrapped, app_name, namespace

    def _json_refusals(self, view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                response = view(request, *args, **kwargs)
            except Http404:  # raised by ninja's own views (the root), not by operations
                return self._no_such_endpoint(request)
            if isinstance(response, HttpResponseNotAllowed):
                allowed = response["Allow"]
                message = f"{request.method} is not allowed here; allowed: {allowed}"
                body = error_body(405, "method_not_allowed", "__all__", message)
                response = self.create_response(request, body, status=405)
                response["Allow"] = allowed
            return response

        return wrapper

    @csrf_exempt
    def _no_such_endpoint(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        body = error_body(404, "not_found", "__all__", "no such endpoint; see /api/docs")
        return self.create_response(request, body, status=404)


_SOURCES = ("body", "query", "path", "form", "header", "cookie")
# What the routers call their body and query-filter schemas.
_SCHEMA_PARAMS = ("payload", "filters")
# Pydantic names the member of a union that refused a value: `kind.literal['customer']`,
# `tags.0.function-after[_slug(), str]`, `fields.x.int`.
_UNION_MEMBER = re.compile(r"[a-z][a-z_-]*\[.*\]|str|int|float|bool|none", re.DOTALL)


def _field_of(loc: list[Any]) -> str:
    # ninja locations look like ["body", "payload", "codename"] or ["query", "page"]; only
    # those places are dropped, so a field called `body` keeps its name.
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    if parts and parts[0] in _SCHEMA_PARAMS:
        parts = parts[1:]
    names = [str(p) for p in parts]
    names = names[:1] + [n for n in names[1:] if not _UNION_MEMBER.fullmatch(n)]
    return ".".join(names) or "__all__"


def _input_error(error: dict[str, Any]) -> dict[str, str]:
    field = _field_of(list(error.get("loc", [])))
    message = str(error.get("msg", "invalid"))
    if field == "__all__" and error.get("type") == "missing":
        message = "a JSON body is required"
    return {"field": field, "message": message}


def _input_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One error per field: a value refused by each member of a union is one mistake."""
    by_field: dict[str, dict[str, str]] = {}
    for error in errors:
        described = _input_error(error)
        by_field.setdefault(described["field"], described)
    return list(by_field.values())


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(CeresError)
    def domain_error(request: HttpRequest, exc: CeresError) -> HttpResponse:
        return api.create_response(request, exc.as_dict(), status=exc.status_code)

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        errors = _input_errors(list(exc.errors))
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
# Past a capped count a page is still read, up to this offset (beyond, it could overflow).
MAX_CAPPED_OFFSET = 10**12
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
    count: Callable[[QuerySet[Any]], int] | None = None,
    window: Callable[[QuerySet[Any], int, int], QuerySet[Any]] | None = None,
) -> Page[Any]:
    """Server-side pagination. Out-of-range pages are errors naming the field, not 500s; a
    page past the end is empty, and is not asked of the database (its offset may overflow).

    `count_from`: the same filter without the joins a `.values()` page needs, so the count
    reads only the index (the joins made it ten times slower on 10,000 accounts).
    `count`: how to count instead of `.count()` (e.g. a count that stops at a cap: then a
    page past the cap is still read, since the true end is further).
    `window`: how to read rows start..stop instead of slicing (e.g. a deferred join).
    """
    if page < 1:
        raise Invalid("must be 1 or more", field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise Invalid(f"must be between 1 and {MAX_PAGE_SIZE}", field="page_size")
    counted = queryset if count_from is None else count_from
    total = count(counted) if count is not None else counted.count()
    offset = (page - 1) * page_size
    capped = type(total) is not int
    items: list[Any] = []
    if offset < total or (capped and offset < MAX_CAPPED_OFFSET):
        rows = (
            window(queryset, offset, offset + page_size)
            if window
            else queryset[offset : offset + page_size]
        )
        items = list(rows)
    return Page(items, total, page, page_size)


def request_user(request: HttpRequest) -> User | AnonymousUser:
    user: User | AnonymousUser = request.user
    return user
