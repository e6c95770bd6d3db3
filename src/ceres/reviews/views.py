"""The customer-questions log page: this week's questions first, and marking one documented."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from ceres.core.errors import Invalid, NotFound
from ceres.core.web import HtmxHttpRequest, require, ui_view, viewer
from ceres.reviews import services
from ceres.reviews.models import CustomerQuestion

VIEW = "conversations.view_conversation"
CHANGE = "conversations.change_conversation"


@require_safe
@ui_view
def questions_page(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW)
    show = request.GET.get("show", "open")
    if show not in ("open", "documented", "all"):
        raise Invalid("must be open, documented or all", field="show")
    qs = CustomerQuestion.objects.select_related("account__codename", "logged_by")
    if show == "open":
        qs = qs.filter(documented_at__isnull=True)
    elif show == "documented":
        qs = qs.filter(documented_at__isnull=False)
    page = Paginator(qs.order_by("-logged_at", "-id"), 50).get_page(request.GET.get("page"))
    tabs = [("open", "To document"), ("documented", "Documented"), ("all", "All")]
    return render(request, "reviews/questions.html", {"page": page, "show": show, "tabs": tabs})


@require_POST
@ui_view
def question_documented(request: HtmxHttpRequest, question_id: int) -> HttpResponse:
    require(request, CHANGE)
    question = CustomerQuestion.objects.filter(pk=question_id).first()
    if question is None:
        raise NotFound("no such question", field="question_id")
    link = request.POST.get("documentation_link", "").strip()
    if link and not link.startswith(("https://", "http://")):
        raise Invalid("must be a web address (https://…)", field="documentation_link")
    if len(link) > 500:
        raise Invalid("at most 500 characters", field="documentation_link")
    services.mark_documented(actor=viewer(request), question=question, documentation_link=link)
    messages.success(request, "Marked documented.")
    return redirect("reviews:questions")
