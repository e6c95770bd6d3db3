from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def account_list_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("accounts")


@login_required
def account_create_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("new")


@login_required
def account_page(request: HttpRequest, account_id: int) -> HttpResponse:
    return HttpResponse("account")
