"""The handoff summaries and the retros: lists, the summary's editor (save, post to the channel)
and the retro's three questions with the week's alarms beside them.

The forms only parse; the rules are `ceres.oncall.handoff`'s (a blank body, a week that is not
a Monday, a summary already posted: the message next to the field, with the service's status).
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from ceres.core.errors import CeresError, Invalid, NotFound
from ceres.core.web import HtmxHttpRequest, apply_error, form_errors, require, ui_view, viewer
from ceres.oncall import handoff, selectors
from ceres.oncall import retro as retros
from ceres.oncall.models import HandoffSummary, OnCallSchedule, Retro
from ceres.team.selectors import person_of

VIEW_SUMMARY = "oncall.view_handoffsummary"
CHANGE_SUMMARY = "oncall.change_handoffsummary"
VIEW_RETRO = "oncall.view_retro"
ADD_RETRO = "oncall.add_retro"
CHANGE_RETRO = "oncall.change_retro"
PAGE_SIZE = 25
ALARMS_SHOWN = 100


def _textarea(rows: int, **attrs: str) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": str(rows), **attrs})


class SummaryForm(forms.Form):
    body = forms.CharField(
        label="Summary",
        required=False,
        strip=False,
        widget=_textarea(28, **{"class": "mono"}),
        help_text="Posted to Slack as written: *bold*, _italic_, one item a line starting with "
        "“- ”. Links unfurl; Slack mentions (<@…>) are posted as plain text.",
    )


class RetroForm(forms.Form):
    schedule = forms.ChoiceField(label="Schedule")
    week_start = forms.DateField(
        label="Week of (a Monday)",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    went_well = forms.CharField(
        label="What went well?", required=False, strip=False, widget=_textarea(6)
    )
    could_be_better = forms.CharField(
        label="What could have gone better?", required=False, strip=False, widget=_textarea(6)
    )
    remember = forms.CharField(
        label="What should we remember next time?",
        required=False,
        strip=False,
        widget=_textarea(6),
    )

    def __init__(self, *args: Any, schedules: list[OnCallSchedule], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["schedule"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s.key, s.name) for s in schedules]


# --- handoff summaries -------------------------------------------------------------------------


@require_safe
@ui_view
def handoffs_page(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW_SUMMARY)
    page = Paginator(handoff.summaries(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "oncall/handoffs.html", {"page": page})


def _summary_page(
    request: HtmxHttpRequest, summary: HandoffSummary, form: SummaryForm, *, status: int = 200
) -> HttpResponse:
    ended = summary.week_start - datetime.timedelta(days=7)
    retro = Retro.objects.filter(schedule=summary.schedule, week_start=ended).first()
    context = {
        "summary": summary,
        "form": form,
        "errors": form_errors(form) if form.is_bound else [],
        "editable": summary.posted_at is None and request.user.has_perm(CHANGE_SUMMARY),
        "channel": summary.schedule.handoff_channel,
        "retro": retro,
        "retro_week": ended,
        "can_add_retro": request.user.has_perm(ADD_RETRO),
    }
    return render(request, "oncall/handoff.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
@ui_view
def handoff_page(request: HtmxHttpRequest, summary_id: int) -> HttpResponse:
    require(request, VIEW_SUMMARY)
    if request.method == "POST":
        require(request, CHANGE_SUMMARY)
    summary = handoff.get_summary(summary_id)
    if request.method != "POST":
        return _summary_page(request, summary, SummaryForm(initial={"body": summary.body}))
    form = SummaryForm(request.POST)
    if not form.is_valid():
        return _summary_page(request, summary, form, status=400)
    try:
        handoff.save_summary(actor=viewer(request), summary=summary, body=form.cleaned_data["body"])
    except CeresError as exc:
        apply_error(form, exc)
        return _summary_page(request, summary, form, status=exc.status_code)
    messages.success(request, "Saved. Post it when it is ready.")
    return redirect("oncall:handoff", summary_id=summary.pk)


@require_POST
@ui_view
def handoff_post(request: HtmxHttpRequest, summary_id: int) -> HttpResponse:
    require(request, VIEW_SUMMARY)
    require(request, CHANGE_SUMMARY)
    summary = handoff.get_summary(summary_id)
    form = SummaryForm(request.POST)
    if not form.is_valid():
        return _summary_page(request, summary, form, status=400)
    body = form.cleaned_data["body"] if "body" in request.POST else None
    try:
        posted = handoff.post_summary(
            actor=viewer(request), summary=summary, person=person_of(request.user), body=body
        )
    except CeresError as exc:
        apply_error(form, exc)
        return _summary_page(request, handoff.get_summary(summary_id), form, status=exc.status_code)
    messages.success(request, f"Posted to {posted.schedule.handoff_channel} in Slack.")
    return redirect("oncall:handoff", summary_id=summary.pk)


# --- retros ------------------------------------------------------------------------------------


@require_safe
@ui_view
def retros_page(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW_RETRO)
    query = request.GET.get("q", "").strip()
    key = request.GET.get("schedule", "").strip()
    schedules = list(selectors.schedules())
    schedule = next((s for s in schedules if s.key == key), None)
    if key and schedule is None:
        raise Invalid(f"no on-call schedule {key[:60]!r}", field="schedule")
    found = retros.search_retros(query, schedule)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "query": query,
        "schedule_key": key,
        "schedules": schedules,
        "can_add": request.user.has_perm(ADD_RETRO),
    }
    return render(request, "oncall/retros.html", context)


def _alarms_context(schedule: OnCallSchedule | None, week: datetime.date | None) -> dict[str, Any]:
    if schedule is None or week is None or week.weekday() != 0:
        return {"alarms": None}
    alarms = handoff.week_alarms(schedule, week)
    return {
        "alarms": list(alarms[:ALARMS_SHOWN]),
        "alarm_count": alarms.count(),
        "alarm_week": week,
        "alarm_schedule": schedule,
        "alarm_zone": handoff.schedule_zone(schedule).key,
    }


def _retro_page(
    request: HtmxHttpRequest,
    form: RetroForm,
    *,
    retro: Retro | None,
    schedule: OnCallSchedule | None,
    week: datetime.date | None,
    status: int = 200,
) -> HttpResponse:
    editable = request.user.has_perm(CHANGE_RETRO if retro else ADD_RETRO)
    existing = None
    if retro is None and schedule is not None and week is not None:
        existing = Retro.objects.filter(schedule=schedule, week_start=week).first()
    context = {
        "retro": retro,
        "existing": existing,
        "form": form,
        "errors": form_errors(form) if form.is_bound else [],
        "editable": editable,
        **_alarms_context(schedule, week),
    }
    return render(request, "oncall/retro.html", context, status=status)


def _date(text: str) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        return None


def _last_week() -> datetime.date:
    """The week a retro is usually about: the one that ended last Sunday."""
    return handoff.monday_of(timezone.localdate()) - datetime.timedelta(days=7)


@require_http_methods(["GET", "HEAD", "POST"])
@ui_view
def retro_new(request: HtmxHttpRequest) -> HttpResponse:
    require(request, VIEW_RETRO)
    require(request, ADD_RETRO)
    schedules = list(selectors.schedules())
    source = request.POST if request.method == "POST" else request.GET
    chosen = next((s for s in schedules if s.key == source.get("schedule")), None)
    if request.method != "POST":
        schedule = chosen or (schedules[0] if schedules else None)
        week = _date(request.GET.get("week_start", "")) or _last_week()
        initial = {"schedule": schedule.key if schedule else "", "week_start": week}
        form = RetroForm(initial=initial, schedules=schedules)
        return _retro_page(request, form, retro=None, schedule=schedule, week=week)
    form = RetroForm(request.POST, schedules=schedules)
    typed = _date(request.POST.get("week_start", ""))
    if not form.is_valid() or chosen is None:
        return _retro_page(request, form, retro=None, schedule=chosen, week=typed, status=400)
    data = form.cleaned_data
    try:
        retro = retros.save_retro(
            actor=viewer(request),
            schedule=chosen,
            week_start=data["week_start"],
            went_well=data["went_well"],
            could_be_better=data["could_be_better"],
            remember=data["remember"],
            person=person_of(request.user),
            expect_new=True,
        )
    except CeresError as exc:
        apply_error(form, exc)
        return _retro_page(
            request, form, retro=None, schedule=chosen, week=typed, status=exc.status_code
        )
    messages.success(request, "Retro saved.")
    return redirect("oncall:retro", retro_id=retro.pk)


@require_http_methods(["GET", "HEAD", "POST"])
@ui_view
def retro_page(request: HtmxHttpRequest, retro_id: int) -> HttpResponse:
    require(request, VIEW_RETRO)
    if request.method == "POST":
        require(request, CHANGE_RETRO)
    retro = retros.get_retro(retro_id)

    def page(form: RetroForm, status: int = 200) -> HttpResponse:
        return _retro_page(
            request,
            form,
            retro=retro,
            schedule=retro.schedule,
            week=retro.week_start,
            status=status,
        )

    schedules = [retro.schedule]
    fixed = {"schedule": retro.schedule.key, "week_start": retro.week_start.isoformat()}
    if request.method != "POST":
        initial = {**fixed, **{name: getattr(retro, name) for name in retros.ANSWERS}}
        return page(RetroForm(initial=initial, schedules=schedules))
    # The schedule and the week are the retro's: only the answers come from the form.
    form = RetroForm({**request.POST.dict(), **fixed}, schedules=schedules)
    if not form.is_valid():
        return page(form, 400)
    data = form.cleaned_data
    try:
        retros.save_retro(
            actor=viewer(request),
            schedule=retro.schedule,
            week_start=retro.week_start,
            went_well=data["went_well"],
            could_be_better=data["could_be_better"],
            remember=data["remember"],
            person=person_of(request.user),
        )
    except CeresError as exc:
        apply_error(form, exc)
        return page(form, exc.status_code)
    messages.success(request, "Retro saved.")
    return redirect("oncall:retro", retro_id=retro.pk)


@require_safe
@ui_view
def retro_alarms(request: HtmxHttpRequest) -> HttpResponse:
    """The week's alarms beside the new-retro form, as the schedule or the week changes."""
    require(request, VIEW_RETRO)
    schedule = OnCallSchedule.objects.filter(key=request.GET.get("schedule", "")).first()
    if schedule is None:
        raise NotFound("no such on-call schedule", field="schedule")
    week = _date(request.GET.get("week_start", ""))
    context = _alarms_context(schedule, week)
    return render(request, "oncall/_week_alarms.html", context)
