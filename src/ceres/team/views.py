from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def team_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("team")


@login_required
def person_page(request: HttpRequest, person_id: int) -> HttpResponse:
    return HttpResponse("person")


@login_required
def tokens_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("tokens")
