"""What the HTML views share: the htmx-aware request, permission checks and the error pages.

Every HTML view is wrapped in `ui_view`: it asks for a login (an htmx request whose session
expired is sent to the login page as a whole, not swapped into a fragment) and maps the domain
errors of `core.errors` to pages in one place, as the API does for JSON. Permission checks come
first in each view, before any lookup, so a 403 never tells whether a record exists.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Concatenate, ParamSpec
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from ceres.core.audit.selectors import AuditLine
from ceres.core.errors import CeresError, NotFound, PermissionDenied

P = ParamSpec("P")

# htmx swaps these error answers (a form with its errors); other 4xx/5xx raise a toast.
FORM_ERROR_STATUSES = (400, 409, 422)


class RecordIdConverter:
    """A record id in a URL: at most 18 digits, so an absurd id is a 404, not a database
    overflow (SQLite and PostgreSQL both reject integers past 64 bits)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


View = Callable[Concatenate[HtmxHttpRequest, P], HttpResponseBase]


def ui_view(view: View[P]) -> View[P]:
    """Login required, domain errors answered as pages, and `Vary` set for htmx fragments."""

    def wrapped(request: HtmxHttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        if not request.user.is_authenticated:
            if request.htmx:
                back = request.htmx.current_url_abs_path or "/"
                return HttpResponseClientRedirect(
                    f"{settings.LOGIN_URL}?{urlencode({'next': back})}"
                )
            return redirect_to_login(request.get_full_path())
        try:
            response = view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except PermissionDenied as exc:
            raise DjangoPermissionDenied(exc.message) from exc
        except CeresError as exc:
            response = error_page(request, exc)
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response

    functools.update_wrapper(wrapped, view)
    return wrapped


def viewer(request: HttpRequest) -> User:
    """The logged-in user (`ui_view` has already turned anonymous requests away)."""
    user = request.user
    if not isinstance(user, User):
        raise DjangoPermissionDenied("log in first")
    return user


def require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise DjangoPermissionDenied(f"You need the permission {perm}.")


def error_page(request: HttpRequest, exc: CeresError) -> HttpResponse:
    return render(
        request,
        "error.html",
        {"status": exc.status_code, "field": exc.field, "message": exc.message},
        status=exc.status_code,
    )


def set_choices(field: forms.Field, choices: list[tuple[str, str]]) -> None:
    """Choices read from the database at request time (the view passes them in)."""
    if not isinstance(field, forms.ChoiceField):
        raise TypeError(f"{field!r} is not a choice field")
    field.choices = choices


def apply_error(form: forms.Form, exc: CeresError) -> None:
    """Show a service's error next to the field it names (or above the form)."""
    if exc.field in form.fields:
        form.add_error(exc.field, exc.message)
    elif exc.field == "__all__":
        form.add_error(None, exc.message)
    else:
        form.add_error(None, f"{exc.field.replace('_', ' ').capitalize()}: {exc.message}")


def form_status(exc: CeresError | None = None) -> int:
    """400 for input that does not parse; the service's own status for a broken rule."""
    return exc.status_code if exc is not None else 400


def is_fragment(request: HtmxHttpRequest) -> bool:
    """An htmx request that wants a piece of a page (a history restore wants the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def form_errors(form: forms.Form) -> list[tuple[str, str]]:
    """(field label, message) pairs for the summary above a form that failed."""
    rows: list[tuple[str, str]] = []
    for name, messages in form.errors.items():
        label = "" if name == "__all__" else str(form.fields[name].label or name)
        rows.extend((label, str(message)) for message in messages)
    return rows


def history_rows(
    lines: Iterable[AuditLine],
    names: Mapping[str, Mapping[str, str]] | None = None,
    skip: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """History lines as the page shows them: ids of related records replaced by their names.

    `names` maps a field (e.g. "product") to {id: name}; masked values stay masked. Fields in
    `skip` (internal ids) are left out, and so are empty values of a record being created.
    """
    names = names or {}
    skipped = set(skip)
    rows = []
    for line in lines:
        created = line.entry.action.endswith(".create")
        changes = []
        for field, before, after in line.changes:
            if field in skipped or (created and after in (None, "", [], {})):
                continue
            lookup = names.get(field, {})
            changes.append(
                {
                    "field": field,
                    "before": lookup.get(str(before), before) if before is not None else None,
                    "after": lookup.get(str(after), after) if after is not None else None,
                }
            )
        rows.append({"entry": line.entry, "changes": changes, "created": created})
    return rows
