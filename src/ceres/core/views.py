from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("accounts:list")


def healthz(request: HttpRequest) -> HttpResponse:
    """A trivial endpoint of the same stack: the baseline of the benchmarks."""
    return JsonResponse({"ok": True})
